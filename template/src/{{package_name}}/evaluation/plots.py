"""The evaluation report's plots, one function per plot, drawn on given axes.

Which plots a project gets is its problem type's choice (`figures` in
problems/); this module only knows how to draw each one. A bare matplotlib
Figure renders with the Agg canvas: no pyplot, no global state.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm

from ..metrics import ndcg_at_k_score, roc_auc_score

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MODEL_COLOR, BASELINE_COLOR = "#1f5f8b", "#b0b0b0"


def render_png(draw: Any, *args: Any) -> str:
    """Draw one plot on a fresh figure and return it as base64 PNG."""
    # A bare Figure renders with the Agg canvas: no pyplot, no global state.
    figure = Figure(figsize=(5.2, 4.0), dpi=100)
    axes = figure.subplots()
    draw(axes, *args)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def roc(axes: Axes, y: np.ndarray, p: np.ndarray) -> None:
    fpr, tpr, _ = skm.roc_curve(y, p)
    axes.plot(fpr, tpr, color=MODEL_COLOR, label=f"model (AUC {roc_auc_score(y, p):.3f})")
    axes.plot([0, 1], [0, 1], color=BASELINE_COLOR, linestyle="--", label="baseline (AUC 0.5)")
    axes.set(xlabel="false positive rate", ylabel="true positive rate")
    axes.legend(loc="lower right")


def precision_recall(axes: Axes, y: np.ndarray, p: np.ndarray) -> None:
    precision, recall, _ = skm.precision_recall_curve(y, p)
    axes.plot(recall, precision, color=MODEL_COLOR, label="model")
    axes.axhline(y.mean(), color=BASELINE_COLOR, linestyle="--", label=f"prior {y.mean():.3f}")
    axes.set(xlabel="recall", ylabel="precision", ylim=(0, 1.02))
    axes.legend(loc="upper right")


def calibration(axes: Axes, y: np.ndarray, p: np.ndarray) -> None:
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


def confusion(axes: Axes, y: np.ndarray, proba: np.ndarray) -> None:
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


def predicted_vs_actual(axes: Axes, y: np.ndarray, p: np.ndarray) -> None:
    shown = np.random.default_rng(0).permutation(len(y))[:5000]
    axes.scatter(y[shown], p[shown], s=6, alpha=0.35, color=MODEL_COLOR)
    low, high = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    axes.plot([low, high], [low, high], color=BASELINE_COLOR, linestyle="--")
    axes.set(xlabel="actual", ylabel="predicted")


def residuals(axes: Axes, y: np.ndarray, p: np.ndarray) -> None:
    residuals = y - p
    axes.hist(residuals, bins=50, color=MODEL_COLOR, alpha=0.8)
    axes.axvline(0, color="black", linewidth=1)
    axes.set(xlabel="actual - predicted", ylabel="rows")


def ndcg_by_k(
    axes: Axes, y: np.ndarray, p: np.ndarray, baseline: np.ndarray, groups: np.ndarray, top: int
) -> None:
    ks = np.arange(1, top + 1)
    model = [ndcg_at_k_score(y, p, groups=groups, k=int(k)) for k in ks]
    base = [ndcg_at_k_score(y, baseline, groups=groups, k=int(k)) for k in ks]
    axes.plot(ks, model, marker="o", color=MODEL_COLOR, label="model")
    axes.plot(ks, base, marker="o", color=BASELINE_COLOR, label="baseline (popularity)")
    axes.set(xlabel="k", ylabel="NDCG@k", ylim=(0, 1))
    axes.legend(loc="lower right")


def score_histogram(axes: Axes, scores: np.ndarray, threshold: float | None = None) -> None:
    """How the anomaly scores spread, with the alert threshold when there is one."""
    axes.hist(scores, bins=60, color=MODEL_COLOR)
    if threshold is not None:
        axes.axvline(threshold, color=BASELINE_COLOR, linestyle="--", label="alert threshold")
        axes.legend(loc="upper right")
    axes.set(xlabel="anomaly score", ylabel="rows", yscale="log")
