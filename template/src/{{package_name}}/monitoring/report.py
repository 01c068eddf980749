"""Drift report files: reports/drift.json for machines, reports/drift.html for people.

The HTML page is self-contained: a table of every column and, for each drifted
column, a plot of the reference and current distributions as an embedded PNG.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .profile import CategoricalProfile, ColumnProfile, NumericProfile, aligned_counts
from .results import DriftReport

MAX_PLOTS = 30
MAX_BARS = 20


def write_reports(report: DriftReport, folder: Path) -> tuple[Path, Path]:
    """Write drift.json and drift.html into `folder`; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "drift.json", folder / "drift.html"
    json_path.write_text(
        json.dumps(report.to_json(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    html_path.write_text(render_html(report), encoding="utf-8")
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
    plots = []
    reference, current = report.profiles
    drifted = [c for c in report.columns if c.drifted and c.name in reference and c.name in current]
    for column in drifted[:MAX_PLOTS]:
        title = f"{column.name}: {column.message}"[:90]
        image = plot_column(reference[column.name], current[column.name], title=title)
        if image:
            plots.append(
                f"<h3>{html.escape(column.name)}</h3>"
                f'<img alt="{html.escape(column.name)}" src="data:image/png;base64,'
                f'{image}">'
            )
    verdict = "Dataset drift" if report.dataset_drift else "No dataset drift"
    performance = ""
    if report.performance is not None:
        performance = f"<p>{html.escape(report.performance.summary())}</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drift report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
tr.drift {{ background: #fde2e2; }} tr.unknown {{ background: #fff4d6; }}
</style></head><body>
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
<h2>Drifted columns</h2>
{"".join(plots) or "<p>None.</p>"}
</body></html>
"""


def plot_column(reference: ColumnProfile, current: ColumnProfile, *, title: str = "") -> str:
    """Reference vs current distribution as a base64 PNG ('' when nothing to plot)."""
    figure = Figure(figsize=(6, 3), dpi=80)
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
    axes.set_title(title or reference.name)
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _quantiles(values: np.ndarray) -> np.ndarray:
    """The 0.5% and 99.5% points of sorted values: the plot range ignores far outliers."""
    return values[[int(0.005 * (values.size - 1)), int(0.995 * (values.size - 1))]]
