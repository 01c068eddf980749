"""reports/evaluation.html: the gate, the numbers and the plots of the problem type.

One self-contained file (plots embedded as base64 PNG) that can be attached to
a pull request or opened from CI artifacts. The problem type chooses the plots
(ROC, precision-recall and calibration for binary, a confusion matrix for
multiclass, ...); `plots.py` draws them.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from ..config import ProjectConfig
from .plots import render_png
from .results import EvaluationResult, TestSet


def write_html(config: ProjectConfig, result: EvaluationResult, test: TestSet, path: Path) -> Path:
    """Render the report to `path` and return it."""
    figures = [
        (title, render_png(draw, *args)) for title, draw, args in config.problem_type.figures(test)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_page(config, result, figures), encoding="utf-8")
    return path


# ---------------------------------------------------------------- page ---

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2rem; } .muted { color: #666; }
.verdict { display: inline-block; padding: 0.3rem 0.8rem; border-radius: 4px; color: white; }
.pass { background: #2e7d32; } .fail { background: #c62828; }
table { border-collapse: collapse; margin: 0.8rem 0 1.4rem; }
td, th { border: 1px solid #ddd; padding: 0.3rem 0.7rem; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 0.3rem; }
"""


def _page(config: ProjectConfig, result: EvaluationResult, figures: list[tuple[str, str]]) -> str:
    esc = html.escape
    verdict = "PASSED" if result.gate_passed else "FAILED"
    rows = [
        ("value", _fmt(result.value)),
        (
            f"{config.metric.confidence_level:.0%} CI",
            f"{_fmt(result.ci_low)} to {_fmt(result.ci_high)}",
        ),
        ("baseline", _fmt(result.baseline)),
        ("lift over baseline", f"{result.lift:+.1%}"),
        ("threshold", f"{'>=' if result.direction == 'higher' else '<='} {result.threshold}"),
    ]
    primary = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)
    secondary = "".join(
        f"<tr><td>{esc(name)}</td><td>{_fmt(value)}</td>"
        f"<td>{_fmt(result.baseline_secondary.get(name))}</td></tr>"
        for name, value in result.secondary.items()
    )
    plots = "".join(
        f'<figure><figcaption>{esc(title)}</figcaption><img alt="{esc(title)}" '
        f'src="data:image/png;base64,{image}"></figure>'
        for title, image in figures
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Evaluation: {esc(config.project.name)}</title><style>{STYLE}</style></head>
<body>
<h1>Evaluation: {esc(config.project.name)}</h1>
<p class="muted">model {esc(result.version)} &middot; {esc(config.problem_type.label)} &middot;
{result.rows} test rows ({esc(_split_words(config))})</p>
<p><span class="verdict {"pass" if result.gate_passed else "fail"}">Release gate {verdict}</span>
&nbsp;{esc(result.metric)} must reach the threshold and beat the baseline.</p>
<h2>Primary metric: {esc(result.metric)} ({esc(result.direction)} is better)</h2>
<table>{primary}</table>
<h2>Secondary metrics</h2>
<table><tr><th>metric</th><th>model</th><th>baseline</th></tr>{secondary}</table>
<h2>Plots</h2><div class="plots">{plots}</div>
<h2>Slices</h2>{_slices_html(result)}
</body></html>
"""


def _split_words(config: ProjectConfig) -> str:
    share = f"{config.data.test_fraction:.0%}"
    if config.feature_schema.time_column:
        return f"the newest {share} of the data by time"
    return (
        f"a random {share} of the data: it has no time column, and a random split can "
        "flatter a model whose data changes over time"
    )


def _slices_html(result: EvaluationResult) -> str:
    if not result.slices:
        return "<p class='muted'>No slices.</p>"
    parts = []
    for feature, categories in result.slices.items():
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{entry['n']}</td>"
            f"<td>{_fmt(entry['value'])}</td><td>{_fmt(entry['baseline'])}</td></tr>"
            for name, entry in categories.items()
        )
        parts.append(
            f"<h3>{html.escape(feature)}</h3><table><tr><th>category</th><th>n</th>"
            f"<th>{html.escape(result.metric)}</th><th>baseline</th></tr>{rows}</table>"
        )
    return "".join(parts)


def _fmt(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.4f}"
