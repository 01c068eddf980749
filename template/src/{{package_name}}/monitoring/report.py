"""Drift report files: reports/drift.json for machines, reports/drift.html for people.

The HTML page is self-contained: a table of every column and small multiples,
one embedded PNG of the reference and current distributions per judged
column, drifted columns first, then the nearest misses. A wide table keeps
the page small: at most `MAX_PLOTS` plots, the other columns listed by name.
A check that could not judge writes both files too, with the reason.
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .compare import ColumnResult
from .drift import drift_margin
from .profile import CategoricalProfile, ColumnProfile, NumericProfile, aligned_counts
from .results import DriftReport

MAX_PLOTS = 24
MAX_BARS = 20
_STYLE = """<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
tr.drift { background: #fde2e2; } tr.unknown { background: #fff4d6; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; width: 300px; border: 1px solid #ccc; padding: 4px; }
figure.drift { border-color: #d33; }
figcaption { font-size: 0.8em; }
</style>"""


def write_reports(report: DriftReport, folder: Path) -> tuple[Path, Path]:
    """Write drift.json and drift.html into `folder`; returns both paths."""
    return _write(folder, report.to_json(), render_html(report))


def write_unjudged_reports(reason: str, folder: Path) -> tuple[Path, Path]:
    """drift.json and drift.html for a check that could not judge: no verdict, the reason.

    The keys of a judged report are there, empty or null (unknown), so a reader
    of `dataset_drift` never takes an older run's verdict for today's.
    """
    checked_at = datetime.now(UTC).isoformat(timespec="seconds")
    data = {
        "judged": False,
        "reason": reason,
        "columns": {},
        "share_drifted": None,
        "dataset_drift": None,
        "n_reference": None,
        "n_current": None,
        "checked_at": checked_at,
    }
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drift report</title>
{_STYLE}</head><body>
<h1>Drift report: could not be judged</h1>
<p>{html.escape(reason)}</p>
<p>Checked at {checked_at}.</p>
</body></html>
"""
    return _write(folder, data, page)


def _write(folder: Path, data: dict[str, Any], page: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "drift.json", folder / "drift.html"
    json_path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    html_path.write_text(page, encoding="utf-8")
    return json_path, html_path


def render_html(report: DriftReport) -> str:
    rows = []
    for column in report.columns:
        score = "" if column.score is None else f"{column.score:.4g}"
        threshold = "" if column.threshold is None else f"{column.threshold:g}"
        css = {True: "drift", False: "ok", None: "unknown"}[column.drifted]
        rows.append(
            f'<tr class="{css}"><td>{html.escape(column.name)}</td><td>{column.kind or ""}</td>'
            f"<td>{column.method or ''}</td><td>{score}</td><td>{threshold}</td>"
            f"<td>{html.escape(column.status)}</td><td>{html.escape(column.message)}</td></tr>"
        )
    verdict = "Dataset drift" if report.dataset_drift else "No dataset drift"
    performance = ""
    if report.performance is not None:
        performance = f"<p>{html.escape(report.performance.summary())}</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drift report</title>
{_STYLE}</head><body>
<h1>Drift report: {verdict}</h1>
<p>{report.share_drifted:.0%} of the judged columns drifted (dataset drift at
{report.drift_share:.0%}). Current: {report.n_current} rows from
{html.escape(report.current_source)}. Reference: {report.n_reference} rows from
{html.escape(report.reference_source)}. Checked at {report.checked_at}.</p>
{performance}
<table><tr><th>column</th><th>kind</th><th>method</th><th>score</th><th>threshold</th>
<th>status</th><th>detail</th></tr>
{"".join(rows)}
</table>
<h2>Reference vs current</h2>
<p>Every judged column: drifted ones first, then the nearest to drifting.</p>
{_plots_html(report)}
</body></html>
"""


def plot_order(columns: list[ColumnResult]) -> list[ColumnResult]:
    """The judged columns: drifted ones (strongest drift first), then the nearest misses."""

    def key(column: ColumnResult) -> tuple[bool, float]:
        if column.method is None or column.score is None or column.threshold is None:
            return not column.drifted, 0.0  # no score (all missing, absent): the plainest drift
        margin = drift_margin(column.method, column.score, threshold=column.threshold)
        return not column.drifted, margin

    return sorted((c for c in columns if c.drifted is not None), key=key)


def _plots_html(report: DriftReport) -> str:
    """Small multiples within `MAX_PLOTS`, then every column not plotted, with the reason."""
    reference, current = report.profiles
    figures: list[str] = []
    empty: list[str] = []
    over: list[str] = []
    for column in plot_order(report.columns):
        if len(figures) == MAX_PLOTS:
            over.append(column.name)
            continue
        image = ""
        if column.name in reference and column.name in current:
            image = plot_column(reference[column.name], current[column.name], title=column.name)
        if not image:
            empty.append(column.name)
            continue
        name = html.escape(column.name)
        figures.append(
            f'<figure class="{"drift" if column.drifted else "ok"}">'
            f'<img alt="{name}" src="data:image/png;base64,{image}">'
            f"<figcaption><b>{name}</b>: {html.escape(column.status)}; "
            f"{html.escape(column.message)}</figcaption></figure>"
        )
    parts = [f'<div class="plots">{"".join(figures)}</div>' if figures else "<p>None.</p>"]
    if over:
        parts.append(
            f"<p>Not plotted: {len(over)} columns (over the {MAX_PLOTS}-plot budget; the "
            f"furthest from drifting): {_names(over)}.</p>"
        )
    if empty:
        parts.append(f"<p>Nothing to plot (no values on one side): {_names(empty)}.</p>")
    unjudged = [c.name for c in report.columns if c.drifted is None]
    if unjudged:
        parts.append(f"<p>Not judged, so not plotted (see the table): {_names(unjudged)}.</p>")
    return "\n".join(parts)


def _names(names: list[str]) -> str:
    return ", ".join(html.escape(name) for name in names)


def plot_column(reference: ColumnProfile, current: ColumnProfile, *, title: str = "") -> str:
    """Reference vs current distribution as a base64 PNG ('' when nothing to plot)."""
    figure = Figure(figsize=(3.75, 2.5), dpi=80)  # 300 x 200 pixels: a small multiple
    axes = figure.subplots()
    if isinstance(reference, NumericProfile) and isinstance(current, NumericProfile):
        if reference.n_valid == 0 or current.n_valid == 0:
            return ""
        both = np.concatenate([_quantiles(reference.values), _quantiles(current.values)])
        low, high = float(both.min()), float(both.max())
        edges = np.linspace(low, high if high > low else low + 1.0, 41)
        for profile, label in ((reference, "reference"), (current, "current")):
            counts, _ = np.histogram(profile.values, bins=edges)
            axes.stairs(counts / max(profile.n_valid, 1), edges, label=label)
        axes.set_ylabel("share of rows")
    elif isinstance(reference, CategoricalProfile) and isinstance(current, CategoricalProfile):
        names, ref, cur = aligned_counts(reference, current, max_categories=MAX_BARS)
        if ref.sum() == 0 or cur.sum() == 0:
            return ""
        positions = np.arange(len(names))
        axes.bar(positions - 0.2, ref / ref.sum(), width=0.4, label="reference")
        axes.bar(positions + 0.2, cur / cur.sum(), width=0.4, label="current")
        axes.set_xticks(positions, [n[:15] for n in names], rotation=45, ha="right")
        axes.set_ylabel("share of rows")
    else:
        return ""
    axes.set_title((title or reference.name)[:40], fontsize=9)
    axes.tick_params(labelsize=7)
    axes.yaxis.label.set_fontsize(7)
    axes.legend(fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _quantiles(values: np.ndarray) -> np.ndarray:
    """The 0.5% and 99.5% points of sorted values: the plot range ignores far outliers."""
    return values[[int(0.005 * (values.size - 1)), int(0.995 * (values.size - 1))]]
