"""reports/evaluation.html: the gate, the numbers and plots for the problem type.

One self-contained file (plots embedded as base64 PNG) that can be attached to
a pull request or opened from CI artifacts. Plots: ROC, precision-recall and
calibration for binary; a confusion matrix for multiclass; predicted vs
actual and residuals for regression; NDCG@k by k for ranking.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm

from .config import ProjectConfig
from .metrics import ndcg_at_k_score, roc_auc_score

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .evaluate import EvaluationResult, TestSet

MODEL_COLOR, BASELINE_COLOR = "#1f5f8b", "#b0b0b0"


def write_html(config: ProjectConfig, result: EvaluationResult, test: TestSet, path: Path) -> Path:
    """Render the report to `path` and return it."""
    figures = _figures(config, test)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_page(config, result, figures), encoding="utf-8")
    return path


def _figures(config: ProjectConfig, test: TestSet) -> list[tuple[str, str]]:
    y, p = test.labels, test.predictions
    problem = config.problem.type
    if problem == "binary_classification" and len(np.unique(y)) == 2:
        return [
            ("ROC curve", _plot(_roc, y, p, test.baseline)),
            ("Precision-recall curve", _plot(_precision_recall, y, p, test.baseline)),
            ("Calibration", _plot(_calibration, y, p)),
        ]
    if problem == "multiclass_classification":
        return [("Confusion matrix (row-normalised)", _plot(_confusion, y, p))]
    if problem == "regression":
        return [
            ("Predicted vs actual", _plot(_predicted_vs_actual, y, p)),
            ("Residuals", _plot(_residuals, y, p)),
        ]
    if problem == "ranking" and test.groups is not None:
        top = min(config.problem.candidates_per_request or 20, 20)
        curve = _plot(_ndcg_by_k, y, p, test.baseline, test.groups, top)
        return [("NDCG@k by k", curve)]
    return []


def _plot(draw: Any, *args: Any) -> str:
    # A bare Figure renders with the Agg canvas: no pyplot, no global state.
    figure = Figure(figsize=(5.2, 4.0), dpi=100)
    axes = figure.subplots()
    draw(axes, *args)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _roc(axes: Axes, y: np.ndarray, p: np.ndarray, baseline: np.ndarray) -> None:
    fpr, tpr, _ = skm.roc_curve(y, p)
    axes.plot(fpr, tpr, color=MODEL_COLOR, label=f"model (AUC {roc_auc_score(y, p):.3f})")
    axes.plot([0, 1], [0, 1], color=BASELINE_COLOR, linestyle="--", label="baseline (AUC 0.5)")
    axes.set(xlabel="false positive rate", ylabel="true positive rate")
    axes.legend(loc="lower right")


def _precision_recall(axes: Axes, y: np.ndarray, p: np.ndarray, baseline: np.ndarray) -> None:
    precision, recall, _ = skm.precision_recall_curve(y, p)
    axes.plot(recall, precision, color=MODEL_COLOR, label="model")
    axes.axhline(y.mean(), color=BASELINE_COLOR, linestyle="--", label=f"prior {y.mean():.3f}")
    axes.set(xlabel="recall", ylabel="precision", ylim=(0, 1.02))
    axes.legend(loc="upper right")


def _calibration(axes: Axes, y: np.ndarray, p: np.ndarray) -> None:
    edges = np.unique(np.quantile(p, np.linspace(0, 1, 11)))
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(bins, minlength=len(edges) - 1)
    used = counts > 0
    mean_p = np.bincount(bins, weights=p, minlength=len(counts))[used] / counts[used]
    mean_y = np.bincount(bins, weights=y, minlength=len(counts))[used] / counts[used]
    top = max(float(mean_p.max()), float(mean_y.max())) * 1.05
    axes.plot([0, top], [0, top], color=BASELINE_COLOR, linestyle="--", label="perfect")
    axes.plot(mean_p, mean_y, marker="o", color=MODEL_COLOR, label="model (deciles)")
    axes.set(xlabel="mean predicted probability", ylabel="observed rate")
    axes.legend(loc="upper left")


def _confusion(axes: Axes, y: np.ndarray, proba: np.ndarray) -> None:
    n_classes = proba.shape[1]
    matrix = skm.confusion_matrix(y, proba.argmax(axis=1), labels=np.arange(n_classes))
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    if n_classes <= 12:
        for (row, column), share in np.ndenumerate(shares):
            colour = "white" if share > 0.5 else "black"
            axes.text(column, row, f"{share:.2f}", ha="center", va="center", color=colour)
    axes.set(xlabel="predicted class", ylabel="true class")
    axes.figure.colorbar(image, ax=axes)


def _predicted_vs_actual(axes: Axes, y: np.ndarray, p: np.ndarray) -> None:
    shown = np.random.default_rng(0).permutation(len(y))[:5000]
    axes.scatter(y[shown], p[shown], s=6, alpha=0.35, color=MODEL_COLOR)
    low, high = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    axes.plot([low, high], [low, high], color=BASELINE_COLOR, linestyle="--")
    axes.set(xlabel="actual", ylabel="predicted")


def _residuals(axes: Axes, y: np.ndarray, p: np.ndarray) -> None:
    residuals = y - p
    axes.hist(residuals, bins=50, color=MODEL_COLOR, alpha=0.8)
    axes.axvline(0, color="black", linewidth=1)
    axes.set(xlabel="actual - predicted", ylabel="rows")


def _ndcg_by_k(
    axes: Axes, y: np.ndarray, p: np.ndarray, baseline: np.ndarray, groups: np.ndarray, top: int
) -> None:
    ks = np.arange(1, top + 1)
    model = [ndcg_at_k_score(y, p, groups=groups, k=int(k)) for k in ks]
    base = [ndcg_at_k_score(y, baseline, groups=groups, k=int(k)) for k in ks]
    axes.plot(ks, model, marker="o", color=MODEL_COLOR, label="model")
    axes.plot(ks, base, marker="o", color=BASELINE_COLOR, label="baseline (popularity)")
    axes.set(xlabel="k", ylabel="NDCG@k", ylim=(0, 1))
    axes.legend(loc="lower right")


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
<p class="muted">model {esc(result.version)} &middot; {esc(config.problem.type)} &middot;
{result.rows} test rows (the newest {config.data.test_fraction:.0%} of the data by time)</p>
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
