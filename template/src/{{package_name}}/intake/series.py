"""Adopting a team's long table for forecasting: `data infer --series --time --label`.

A forecasting project does not learn from the table's rows but from examples
built out of it (series/examples.py). So adopting a table means: read the
timestamps (the day/month order settled from the values), find the period
the series are reported at, build the examples, write the examples' schema
and point the project at both the table (`problem.history_source`, for
`forecast`) and the examples (`data.source`, for training). As with any
table, nothing is written until the new configs load and split the examples
the way training will; the old configs are kept as .bak files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import ProjectConfig
from ..series.calendar import SEASONS
from ..series.examples import (
    Layout,
    as_stored,
    build_examples,
    examples_schema,
    period_starts,
)
from .adopt import (
    AdoptError,
    _comment,
    _flow,
    _prove,
    _source_text,
    back_up,
    replace_text,
    set_yaml_value,
)
from .dates import detect_date_format

EXAMPLES_FILE = Path("data") / "examples.parquet"
# The period between consecutive timestamps of a series, and the frequency it means.
PERIOD_DAYS = {"hour": (1 / 24, 1 / 24), "day": (1, 1), "week": (7, 7), "month": (28, 31)}
ADVERB = {"hour": "hourly", "day": "daily", "week": "weekly", "month": "monthly"}
MIN_PERIODS = 8  # a series needs this many periods before anything can be learnt from it


@dataclass(frozen=True)
class SeriesAdoption:
    """What was (or, on a dry run, would be) written, and what was found."""

    schema_file: Path
    project_file: Path
    examples_file: Path
    changes: tuple[str, ...]
    findings: tuple[str, ...]
    examples: int
    backups: tuple[Path, ...] = ()
    written: bool = False
    ignored: tuple[str, ...] = field(default_factory=tuple)


def adopt_series_table(
    config: ProjectConfig,
    frame: pd.DataFrame,
    *,
    source: Path,
    config_file: Path,
    series: str | None,
    time: str | None,
    label: str | None,
    covariates: list[str],
    dry_run: bool = False,
    now: datetime | None = None,
) -> SeriesAdoption:
    """Check the long table, build its examples and switch the project to it.

    Raises `AdoptError` with a sentence when the table cannot be forecast from;
    nothing is written then, nor on a dry run.
    """
    now = now or datetime.now().astimezone()
    roles = _roles(frame, series=series, time=time, label=label, covariates=covariates)
    series, time, label = roles
    date_format = (
        detect_date_format(frame[time].astype("string")) if _is_text(frame[time]) else None
    )
    time_format = date_format.format if date_format and date_format.format != "ISO8601" else None
    frequency = _frequency(frame, series, time, time_format)
    asked = config.problem.forecast_frequency
    season = config.problem.seasonal_period if frequency == asked else SEASONS[frequency]
    horizon = int(config.problem.forecast_horizon or 1)
    layout = Layout(
        horizon=horizon,
        frequency=frequency,
        seasonal_period=int(season or SEASONS[frequency]),
        series_column=series,
        time_column=time,
        target_column=label,
        covariates=tuple(covariates),
        time_format=time_format,
    )
    scaled = f"{label}_scaled"
    try:
        examples = build_examples(frame, layout, label=scaled)
    except ValueError as error:
        raise AdoptError(f"the table cannot be turned into forecast examples: {error}") from None
    examples = as_stored(examples)
    schema_text = _schema_text(config, layout, scaled, source, now)
    settings: list[tuple[str, str, Any]] = [
        ("data", "source", EXAMPLES_FILE.as_posix()),
        ("problem", "history_source", _source_text(source, config.root)),
        ("problem", "series_column", series),
        ("problem", "timestamp_column", time),
        ("problem", "target_column", label),
        ("problem", "timestamp_format", time_format),
        ("problem", "covariates", list(covariates)),
        ("problem", "forecast_frequency", frequency),
        ("problem", "seasonal_period", layout.seasonal_period),
    ]
    project_text = config_file.read_text(encoding="utf-8")
    for section, key, value in settings:
        project_text = set_yaml_value(project_text, section, key, value)
    _prove(config, project_text, schema_text, examples)
    findings = _findings(frame, layout, examples, asked, date_format.note if date_format else "")
    ignored = tuple(c for c in frame.columns if c not in {series, time, label, *covariates})
    adoption = SeriesAdoption(
        schema_file=config.path(config.paths.schema_file),
        project_file=config_file,
        examples_file=config.path(EXAMPLES_FILE),
        changes=tuple(f"{section}.{key}: {_flow(value)}" for section, key, value in settings),
        findings=findings,
        examples=len(examples),
        ignored=ignored,
    )
    if dry_run:
        return adoption
    adoption.examples_file.parent.mkdir(parents=True, exist_ok=True)
    partial = adoption.examples_file.with_name(f".{adoption.examples_file.name}.partial")
    examples.to_parquet(partial, index=False)
    partial.replace(adoption.examples_file)
    files = (adoption.schema_file, config_file)
    backups = tuple(back_up(path, now) for path in files if path.exists())
    replace_text(adoption.schema_file, schema_text)
    replace_text(config_file, project_text)
    return replace(adoption, backups=backups, written=True)


def _roles(
    frame: pd.DataFrame,
    *,
    series: str | None,
    time: str | None,
    label: str | None,
    covariates: list[str],
) -> tuple[str, str, str]:
    named = {"--series": series, "--time": time, "--label": label}
    absent = [option for option, column in named.items() if not column]
    if absent:
        raise AdoptError(
            f"a forecasting project needs {', '.join(absent)}: the series id, the timestamp "
            "and the value to forecast of the long table (one row per series and period)"
        )
    roles = [series, time, label, *covariates]
    missing = [c for c in roles if c not in frame.columns]
    if missing:
        raise AdoptError(
            f"column(s) {missing} are not in the table; its columns are "
            f"{list(map(str, frame.columns))[:20]}"
        )
    if len(set(roles)) != len(roles):
        raise AdoptError("a column can have one role only: series, time, label or covariate")
    for column in [label, *covariates]:
        values = pd.to_numeric(frame[column], errors="coerce")
        if (values.isna() & frame[column].notna()).any():
            raise AdoptError(f"column '{column}' must hold numbers; it has text values")
    assert series and time and label
    return series, time, label


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)


def _frequency(frame: pd.DataFrame, series: str, time: str, time_format: str | None) -> str:
    """hour, day, week or month: the typical gap between a series' consecutive timestamps."""
    try:
        times = pd.to_datetime(frame[time], utc=True, format=time_format)
    except (ValueError, TypeError) as error:
        raise AdoptError(f"column '{time}' cannot be read as timestamps ({error})") from None
    ordered = pd.DataFrame({"series": frame[series].astype(str), "time": times}).dropna()
    ordered = ordered.drop_duplicates().sort_values(["series", "time"])
    gaps = ordered.groupby("series")["time"].diff().dropna()
    if len(gaps) < MIN_PERIODS:
        raise AdoptError(
            f"the series have {len(gaps) + ordered['series'].nunique()} timestamps in all; "
            f"forecasting needs at least {MIN_PERIODS} periods of history"
        )
    typical = gaps.median() / pd.Timedelta(days=1)
    for name, (low, high) in PERIOD_DAYS.items():
        if low * 0.99 <= typical <= high * 1.01:
            return name
    raise AdoptError(
        f"consecutive timestamps of a series are typically {typical:g} days apart; forecasting "
        "handles hourly, daily, weekly and monthly series (aggregate the table to one of them)"
    )


def _findings(
    frame: pd.DataFrame, layout: Layout, examples: pd.DataFrame, asked: str | None, note: str
) -> tuple[str, ...]:
    periods = period_starts(frame[layout.time_column], layout)
    lines = [
        f"{frame[layout.series_column].nunique()} series, {ADVERB[layout.frequency]}, from "
        f"{periods.min():%Y-%m-%d} to {periods.max():%Y-%m-%d}",
        f"{len(examples)} examples: every period an origin, {layout.horizon} steps ahead, "
        f"season of {layout.seasonal_period}",
    ]
    if asked and asked != layout.frequency:
        lines.append(
            f"the project was set up for {ADVERB[asked]} series; the table is "
            f"{ADVERB[layout.frequency]}, so "
            f"forecast_frequency and seasonal_period ({layout.seasonal_period}) follow the table"
        )
    missing = float(pd.to_numeric(frame[layout.target_column], errors="coerce").isna().mean())
    if missing:
        lines.append(f"{missing:.1%} of the values to forecast are empty: they are gaps")
    if note:
        lines.append(note)
    if layout.covariates:
        lines.append(
            f"covariates {list(layout.covariates)} are read at the target time: they must be "
            "known in advance (planned, not measured)"
        )
    counts = examples.groupby("series_id").size()
    if len(counts) and counts.min() < layout.horizon:
        lines.append(
            f"{int((counts < layout.horizon).sum())} series have under one horizon of examples"
        )
    return tuple(lines)


def _schema_text(
    config: ProjectConfig, layout: Layout, label: str, source: Path, now: datetime
) -> str:
    schema = examples_schema(layout, label)
    header = (
        f"Feature schema of {config.project.name}'s forecast examples, written by "
        f"`{config.project.slug} data infer` from {source.name} on {now:%Y-%m-%d}. One row per "
        "series, origin and step ahead, built by series/examples.py from the long table "
        "(problem.history_source): features use only values known at the origin, divided by "
        "the series' scale. Run `data examples` again after changing the horizon or season; "
        "the previous schema is in a .bak file beside this one."
    )
    lines = _comment(header)
    lines.append("")
    for key in ("time_column", "id_columns", "label"):
        lines.append(f"{key}: {_flow(schema[key])}")
    lines.append("features:")
    features = schema["features"]
    assert isinstance(features, list)
    lines += [f"  - {_flow(feature)}" for feature in features]
    return "\n".join(lines) + "\n"
