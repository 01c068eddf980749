"""Rewrites the measured parts of docs/design.md: the Status table and the data summary.

The design doc states the targets; the reports hold the measurements. `<cli> doc`
puts both side by side in a table between two marker lines, and describes the
data the project really uses (configs/schema.yaml, data.source) between a
second pair in the Data section. Only the lines between markers change, so the
team's edits everywhere else in the doc survive, and running it twice on the
same inputs changes nothing.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeGuard

from .config import ProjectConfig

STATUS_START = "<!-- status:start -->"
STATUS_END = "<!-- status:end -->"
DATA_START = "<!-- data:start -->"
DATA_END = "<!-- data:end -->"
DESIGN_DOC = Path("docs") / "design.md"
NOT_MEASURED = "not measured yet"
SHOWN_CATEGORIES = 12  # per feature in the data summary
_MARKDOWN_SPECIAL = "\\`*_[]<>#|~&"


class DesignDocError(RuntimeError):
    """The design doc is missing or its status markers are broken."""


def update_design_doc(config: ProjectConfig, *, now: datetime | None = None) -> Path:
    """Re-render the Status section of docs/design.md; returns the doc's path.

    Reads reports/evaluation.json, reports/latency.json (online) or
    reports/batch_bench.json (batch) and reports/drift.json when they exist (a
    missing one shows as "not measured yet", a drift check that could not
    judge as "could not be judged: <reason>") and the model registry. A doc
    without markers gets a Status section appended.
    """
    path = config.root / DESIGN_DOC
    if not path.is_file():
        raise DesignDocError(
            f"{path} does not exist: restore it from version control or re-generate the "
            "project, then run `doc` again"
        )
    text = path.read_text(encoding="utf-8")
    updated = replace_status(text, render_status(config, now=now))
    if DATA_START in updated:  # a doc from before the data summary has no markers: left alone
        updated = replace_block(updated, DATA_START, DATA_END, render_data_summary(config))
    if updated != text:
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(updated, encoding="utf-8")
        os.replace(temporary, path)
    return path


def replace_status(text: str, block: str) -> str:
    """`text` with the lines between the status markers replaced by `block`."""
    if STATUS_START not in text and STATUS_END not in text:
        separator = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{separator}\n## Status\n\n{STATUS_START}\n{block}{STATUS_END}\n"
    return replace_block(text, STATUS_START, STATUS_END, block)


def replace_block(text: str, start: str, end: str, block: str) -> str:
    """`text` with the lines between the `start` and `end` marker lines replaced by `block`."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip() == start]
    ends = [i for i, line in enumerate(lines) if line.strip() == end]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise DesignDocError(
            f"the design doc must contain one '{start}' line followed by one "
            f"'{end}' line (found {len(starts)} and {len(ends)}); fix the markers "
            "by hand, or delete both"
        )
    return "".join(lines[: starts[0] + 1]) + block + "".join(lines[ends[0] :])


def render_data_summary(config: ProjectConfig) -> str:
    """The Data section's facts, from configs/schema.yaml and data.source."""
    schema = config.feature_schema
    label = schema.label
    source = f"`{config.data.source}`" if config.data.source else "the generated sample"
    if schema.time_column:
        split = (
            f"by time on `{schema.time_column}`"
            + (f" (written as `{schema.time_format}`)" if schema.time_format else "")
            + ": the newest rows are the test split"
        )
    else:
        split = (
            "random, seeded by `model.seed` (the data has no time column): a random "
            "split can flatter a model whose data changes over time"
        )
    classes = f", classes {', '.join(f'`{c}`' for c in label.classes)}" if label.classes else ""
    lines = [
        f"- **Source:** {source}; {len(schema.features)} features (configs/schema.yaml).",
        f"- **Label:** `{label.name}` ({label.kind}{classes}).",
        f"- **Split:** {split}.",
    ]
    if schema.group_column:
        lines.append(f"- **Query column:** `{schema.group_column}` (queries stay whole).")
    if schema.id_columns:
        lines.append(f"- **Ids (never features):** {', '.join(schema.id_columns)}.")
    lines += ["", "| feature | kind | allowed values | missing allowed |"]
    lines += ["| --- | --- | --- | --- |"]
    for spec in schema.features:
        if spec.kind == "categorical":
            more = " ..." if len(spec.categories) > SHOWN_CATEGORIES else ""
            allowed = ", ".join(spec.categories[:SHOWN_CATEGORIES]) + more
        else:
            allowed = f"{_bound(spec.min)} to {_bound(spec.max)}"
        kind = spec.kind + (" (per query)" if spec.level == "query" else "")
        row = (spec.name, kind, allowed, "yes" if spec.nullable else "no")
        lines.append(f"| {' | '.join(_cell(part) for part in row)} |")
    return "\n".join(lines) + "\n"


def _bound(value: float | None) -> str:
    return "any" if value is None else f"{value:g}"


def render_status(config: ProjectConfig, *, now: datetime | None = None) -> str:
    """The Markdown table that goes between the markers, one line per check."""
    reports = config.reports_dir
    rows = [
        ("check", "target", "measured", "verdict"),
        ("---", "---", "---", "---"),
        _metric_row(config, _read_report(reports / "evaluation.json")),
    ]
    if config.serving.mode == "online":
        rows.append(_latency_row(config, _read_report(reports / "latency.json")))
    else:
        rows.append(_batch_row(config, _read_report(reports / "batch_bench.json")))
    drift = _read_report(reports / "drift.json")
    rows.append(_drift_row(drift))
    rows.append(_quality_row(config, drift))
    rows.append(_model_row(config, now or datetime.now(UTC)))
    decay = _read_report(reports / "decay.json")
    if decay is not None:  # only once `evaluate --decay` has measured it
        rows.append(_decay_row(config, decay))
    return "".join(f"| {' | '.join(row)} |\n" for row in rows)


# ------------------------------------------------------------------ rows ---

Report = Mapping[str, Any] | str | None  # the parsed JSON, an error message, or absent
Row = tuple[str, str, str, str]


def _metric_row(config: ProjectConfig, report: Report) -> Row:
    metric = config.metric
    sign = "≥" if metric.direction == "higher" else "≤"
    row = (
        f"primary metric `{metric.primary}`",
        f"{sign} {metric.threshold} and better than the baseline",
    )
    if not isinstance(report, Mapping):
        return (*row, _absent(report), "-")
    if report.get("metric") != metric.primary:
        measured = f"the report is for {_cell(report.get('metric'))}: run evaluate again"
        return (*row, measured, "-")
    measured = (
        f"{_number(report.get('value'), 4)} "
        f"(CI {_number(report.get('ci_low'), 4)} to {_number(report.get('ci_high'), 4)}); "
        f"baseline {_number(report.get('baseline'), 4)}"
    )
    return (*row, measured, _verdict(report.get("gate_passed")))


def _latency_row(config: ProjectConfig, report: Report) -> Row:
    serving = config.serving
    row = (f"p99 latency at {serving.peak_rps} req/s", f"≤ {serving.latency_p99_ms} ms")
    if not isinstance(report, Mapping):
        return (*row, _absent(report), "-")
    measured = (
        f"p99 {_number(report.get('p99_ms'), 1)} ms, p50 {_number(report.get('p50_ms'), 1)} ms, "
        f"{_number(report.get('rps'), 1)} req/s, {_number(report.get('errors'), 0)} errors"
    )
    return (*row, measured + _over_raw_floor(report), _verdict(report.get("passed")))


def _over_raw_floor(report: Mapping[str, Any]) -> str:
    """The service against the raw floor at concurrency 8 (else the highest measured)."""
    shares = report.get("throughput_vs_raw")
    slower = report.get("p50_over_raw_ms")
    if not isinstance(shares, Mapping) or not shares:
        return ""  # a report from before the raw floor was measured
    levels = [key for key in shares if str(key).isdigit()]
    if not levels:
        return ""
    level = "8" if "8" in levels else max(levels, key=int)
    share, extra = shares[level], slower.get(level) if isinstance(slower, Mapping) else None
    percent = 100 * share if _is_number(share) else None
    extra_text = f"{extra:+.2f}" if _is_number(extra) and math.isfinite(extra) else "n/a"
    return (
        f"; at concurrency {level}: {_number(percent, 0)}% of the raw floor's throughput, "
        f"p50 {extra_text} ms over it"
    )


def _batch_row(config: ProjectConfig, report: Report) -> Row:
    row = (
        "batch run time",
        f"≤ {config.batch.deadline_minutes} min for a day's {config.data.rows_per_day:,} rows",
    )
    if not isinstance(report, Mapping):
        return (*row, _absent(report), "-")
    measured = (
        f"about {_number(report.get('estimated_minutes'), 1)} min "
        f"({_number(report.get('rows_per_second'), 0)} rows/s over "
        f"{_number(report.get('rows'), 0)} rows)"
    )
    return (*row, measured, _verdict(report.get("passed")))


def _drift_row(report: Report) -> Row:
    row = ("drift", "no dataset drift")
    if not isinstance(report, Mapping):
        return (*row, _absent(report), "-")
    if report.get("judged") is False:
        return (*row, _not_judged(report), "-")
    columns = report.get("columns")
    columns = columns if isinstance(columns, Mapping) else {}
    drifted = [name for name, result in columns.items() if _drifted(result)]
    measured = (
        f"{len(drifted)} of {len(columns)} columns drifted "
        f"(share {_number(report.get('share_drifted'), 2)}; "
        f"{_number(report.get('n_reference'), 0)} reference and "
        f"{_number(report.get('n_current'), 0)} current rows)"
    )
    if drifted:
        measured += ": " + ", ".join(_cell(name) for name in drifted)
    dataset_drift = report.get("dataset_drift")
    return (*row, measured, _verdict(None if dataset_drift is None else not dataset_drift))


def _quality_row(config: ProjectConfig, drift: Report) -> Row:
    row = (
        f"`{config.metric.primary}` on labelled live data",
        "no drop beyond `monitoring.performance_tolerance`",
    )
    if isinstance(drift, Mapping) and drift.get("judged") is False:
        return (*row, _not_judged(drift), "-")  # the check stopped before judging quality
    performance = drift.get("performance") if isinstance(drift, Mapping) else None
    if not isinstance(performance, Mapping):
        return (*row, NOT_MEASURED, "-")
    if performance.get("drifted") is None:
        status = f"{_cell(performance.get('status'))}: {_cell(performance.get('message'))}"
        return (*row, status, "-")
    measured = (
        f"{_number(performance.get('current'), 4)} on "
        f"{_number(performance.get('n_labelled'), 0)} labelled rows; "
        f"{_number(performance.get('reference'), 4)} at training"
    )
    return (*row, measured, _verdict(not performance["drifted"]))


def _model_row(config: ProjectConfig, now: datetime) -> Row:
    row = ("promoted model", "a promoted version")
    if not (config.models_dir / "registry.json").is_file():
        return (*row, "none yet", "-")
    from .registry import ModelRegistry, RegistryError

    try:
        versions = ModelRegistry(config).list_versions()
    except (RegistryError, OSError, ValueError) as error:
        return (*row, f"registry unreadable: {_cell(error)}", "-")
    promoted = next((v for v in versions if v.promoted), None)
    if promoted is None:
        return (*row, "none yet", "-")
    measured = f"`{promoted.version}`, created {_cell(promoted.created_at)}"
    try:
        created = datetime.fromisoformat(promoted.created_at)
    except ValueError:
        return (*row, measured, "-")
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    age_days = max(0, (now - created).days)
    return (*row, f"{measured} ({age_days} days ago)", "-")


def _decay_row(config: ProjectConfig, report: Report) -> Row:
    row = (
        "model decay (`evaluate --decay`)",
        f"retrain before `{config.metric.primary}` loses `monitoring.performance_tolerance` "
        f"({config.monitoring.performance_tolerance:g}); scheduled `{config.monitoring.schedule}`",
    )
    if not isinstance(report, Mapping):
        return (*row, _absent(report), "-")
    versions = report.get("versions")
    count = len(versions) if isinstance(versions, list) else 0
    change = report.get("change_per_month")
    if not _is_number(change):
        return (*row, f"{_cell(report.get('note') or 'not measured')} ({count} versions)", "-")
    metric = _cell(report.get("metric"))
    measured = f"{change:+.4f} `{metric}` per 30 days of age ({count} versions)"
    days = report.get("suggested_retrain_days")
    if _is_number(days):
        measured += f"; suggested cadence: retrain every {days:.0f} days"
    else:
        measured += "; no cadence follows (no loss with age)"
    return (*row, measured, "-")


# --------------------------------------------------------------- helpers ---


def _read_report(path: Path) -> Report:
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"unreadable {path.name}: {error}"
    if not isinstance(content, Mapping):
        return f"unreadable {path.name}: not a JSON object"
    return content


def _absent(report: Report) -> str:
    return NOT_MEASURED if report is None else _cell(report)


def _not_judged(report: Mapping[str, Any]) -> str:
    """A drift report written when the check could not judge: its reason."""
    return f"could not be judged: {_cell(report.get('reason') or 'no reason recorded')}"


def _drifted(result: Any) -> bool:
    return isinstance(result, Mapping) and result.get("drifted") is True


def _verdict(passed: Any) -> str:
    if passed is True:
        return "PASS"
    if passed is False:
        return "FAIL"
    return "-"


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any, digits: int) -> str:
    if not _is_number(value) or not math.isfinite(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def _cell(value: Any) -> str:
    """Text from a report or the registry, safe inside a Markdown table cell."""
    text = " ".join(str(value).split())
    return "".join(f"\\{char}" if char in _MARKDOWN_SPECIAL else char for char in text)
