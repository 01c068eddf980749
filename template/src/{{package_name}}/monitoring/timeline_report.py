"""Performance report files: reports/performance.json for machines, .html for people.

The page is self-contained: one embedded PNG of the metric per window with its
confidence band, a line per model version and the champion's validation value
as the reference, then the table of windows.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..evaluation.plots import render_png
from .timeline import Timeline

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_STYLE = """<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
tr.drop { background: #fde2e2; } tr.insufficient, tr.unavailable { background: #fff4d6; }
tr.immature { color: #777; }
</style>"""


def write_performance_reports(timeline: Timeline, folder: Path) -> tuple[Path, Path]:
    """Write performance.json and performance.html into `folder`; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "performance.json", folder / "performance.html"
    data = json.dumps(timeline.to_json(), indent=2, allow_nan=False)
    json_path.write_text(data + "\n", encoding="utf-8")
    html_path.write_text(render_html(timeline), encoding="utf-8")
    return json_path, html_path


def render_html(timeline: Timeline) -> str:
    esc = html.escape
    rows = "".join(
        f'<tr class="{w.status}{"" if w.mature else " immature"}"><td>{w.start:%Y-%m-%d}</td>'
        f"<td>{w.end:%Y-%m-%d}</td><td>{esc(w.model_version)}</td><td>{w.n}</td>"
        f"<td>{_fmt(w.value)}</td><td>{_fmt(w.ci_low)} to {_fmt(w.ci_high)}</td>"
        f"<td>{w.status}</td><td>{'yes' if w.mature else 'no'}</td></tr>"
        for w in timeline.windows
    )
    plot = ""
    if timeline.windows:
        image = render_png(_draw, timeline)
        plot = f'<img alt="{esc(timeline.metric)} per window" src="data:image/png;base64,{image}">'
    verdict = "ALARM" if timeline.alarm else "no alarm"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Performance over time</title>
{_STYLE}</head><body>
<h1>Performance over time: {esc(timeline.metric)} ({timeline.direction} is better)</h1>
<p><strong>{verdict}</strong>: {esc(timeline.reason)}</p>
<p>Reference (the champion on its test split, at promotion): {_fmt(timeline.reference_value)}.
Predictions still waiting for labels: {timeline.pending_labels}.</p>
{plot}
<table><tr><th>start</th><th>end</th><th>model</th><th>n</th><th>value</th>
<th>interval</th><th>status</th><th>mature</th></tr>{rows}</table>
</body></html>
"""


def _draw(axes: Axes, timeline: Timeline) -> None:
    versions = sorted({w.model_version for w in timeline.windows})
    for version in versions:
        shown = [w for w in timeline.windows if w.model_version == version and w.value is not None]
        if not shown:
            continue
        middle = [(w.start + (w.end - w.start) / 2).to_pydatetime() for w in shown]
        values = np.array([w.value for w in shown], dtype=float)
        lows = np.array([w.value if w.ci_low is None else w.ci_low for w in shown], dtype=float)
        highs = np.array([w.value if w.ci_high is None else w.ci_high for w in shown], dtype=float)
        (line,) = axes.plot(middle, values, marker="o", label=f"model {version}")
        axes.fill_between(middle, lows, highs, color=line.get_color(), alpha=0.2)
        young = [(m, v) for m, v, w in zip(middle, values, shown, strict=True) if not w.mature]
        if young:
            axes.scatter(*zip(*young, strict=True), facecolors="white", edgecolors="grey", zorder=3)
    if timeline.reference_value is not None:
        axes.axhline(timeline.reference_value, color="black", linestyle="--", label="reference")
    axes.set_ylabel(timeline.metric)
    axes.set_xlabel("window (hollow: labels still arriving)")
    axes.legend(fontsize="small")
    axes.tick_params(axis="x", labelrotation=30)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
