"""Binary and multiclass classification metrics, in numpy only.

Each metric is written once. Losses, accuracy and macro F1 are per-row
statistics plus a finish step (`Decomposable`); ROC AUC and average precision
are functions of the label counts at each distinct score (`ScoreOrdered`).
The point value and the bootstrap both use that one definition.

Binary metrics take P(label=1) scores of shape (n,); multiclass metrics take
probabilities of shape (n, C) and predict the most probable class.
"""

from __future__ import annotations

import numpy as np

from ._base import (
    Decomposable,
    MetricMath,
    Rows,
    ScoreOrdered,
    check_finite,
    check_pair,
    mean,
    undefined,
)

# Probabilities are clipped to [EPS, 1 - EPS]: one confident mistake costs at most 34.5.
EPS = 1e-15


# ------------------------------------------------------------- binary ---


def roc_auc_score(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the ROC curve of P(label=1) scores. `roc_auc_score([0, 1], [.2, .9]) == 1.0`

    It is the chance that a random positive scores above a random negative;
    a tie counts one half.
    """
    negatives, positives = score_counts(y_true, y_score)
    if not (negatives.sum() and positives.sum()):
        return undefined("roc_auc needs both classes in y_true")
    return float(_roc_auc_from_counts(negatives[None, :], positives[None, :])[0])


def pr_auc_score(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Average precision, the step-wise area under the precision-recall curve.

    Precision at each distinct score threshold, weighted by the recall it
    adds; no interpolation. `pr_auc_score([0, 1, 1], [.5, .5, .9]) == (1 + 2/3) / 2`
    """
    negatives, positives = score_counts(y_true, y_score)
    if not (negatives.sum() and positives.sum()):
        return undefined("pr_auc needs both classes in y_true")
    return float(_average_precision_from_counts(negatives[None, :], positives[None, :])[0])


def binary_log_loss(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean negative log-likelihood of P(label=1) (lower is better)."""
    return BINARY_LOG_LOSS.value(y_true, y_score)


def brier_loss(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean squared error of P(label=1): `brier_loss([0, 1], [0, .5]) == 0.125`."""
    return BRIER.value(y_true, y_score)


def score_counts(
    y_true: np.ndarray, y_score: np.ndarray, *, max_bins: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Negatives and positives at each distinct score, lowest score first.

    With more distinct scores than `max_bins`, scores are grouped into that
    many quantile bins instead (scores of one bin then count as tied): the
    bootstrap resamples bins, the point value always uses every score.
    """
    y_true, y_score = _check_binary(y_true, y_score)
    negatives, positives = np.sort(y_score[y_true == 0]), np.sort(y_score[y_true == 1])
    ordered = np.sort(np.concatenate([negatives, positives]), kind="stable")  # merges two runs
    distinct = ordered[np.r_[True, ordered[1:] != ordered[:-1]]]
    if max_bins is None or len(distinct) <= max_bins:
        # rows up to and including each distinct score, per class
        below = [np.searchsorted(s, distinct, side="right") for s in (negatives, positives)]
    else:
        # rows below each bin's upper edge, per class; the last bin holds the rest
        edges = np.unique(ordered[(np.arange(1, max_bins) * len(ordered)) // max_bins])
        below = [np.r_[np.searchsorted(s, edges), len(s)] for s in (negatives, positives)]
    counts = [np.diff(np.r_[0, cumulative]).astype(float) for cumulative in below]
    return counts[0], counts[1]


def _roc_auc_from_counts(negatives: np.ndarray, positives: np.ndarray) -> np.ndarray:
    # Each positive beats the negatives below its score and ties half of those at it.
    below = np.cumsum(negatives, axis=1) - negatives
    wins = (positives * (below + 0.5 * negatives)).sum(axis=1)
    n_pos, n_neg = positives.sum(axis=1), negatives.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = np.where((n_pos > 0) & (n_neg > 0), wins / (n_pos * n_neg), np.nan)
        return result


def _average_precision_from_counts(negatives: np.ndarray, positives: np.ndarray) -> np.ndarray:
    # From the highest score down: the threshold at each distinct score flags
    # every row at or above it; its precision counts once per positive at it.
    positives, negatives = positives[:, ::-1], negatives[:, ::-1]
    true_pos = np.cumsum(positives, axis=1)
    flagged = true_pos + np.cumsum(negatives, axis=1)
    precision = true_pos / np.maximum(flagged, 1.0)
    n_pos, area = positives.sum(axis=1), (positives * precision).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = np.where(n_pos > 0, area / n_pos, np.nan)
        return result


def _log_loss_rows(y_true: np.ndarray, y_score: np.ndarray) -> Rows:
    y, p = _check_binary(y_true, y_score)
    p = np.clip(p, EPS, 1 - EPS)
    loss = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    return Rows(loss[:, None])


def _brier_rows(y_true: np.ndarray, y_score: np.ndarray) -> Rows:
    y, p = _check_binary(y_true, y_score)
    return Rows(((p - y) ** 2)[:, None])


BINARY_LOG_LOSS = Decomposable(_log_loss_rows, mean)
BRIER = Decomposable(_brier_rows, mean)
# For the registry: each metric's point value and how the bootstrap resamples it.
BINARY_MATH: dict[str, MetricMath] = {
    "roc_auc": (roc_auc_score, ScoreOrdered(score_counts, _roc_auc_from_counts)),
    "pr_auc": (pr_auc_score, ScoreOrdered(score_counts, _average_precision_from_counts)),
    "log_loss": (binary_log_loss, BINARY_LOG_LOSS),
    "brier": (brier_loss, BRIER),
}


# --------------------------------------------------------- multiclass ---


def accuracy_score(y_true: np.ndarray, y_proba: np.ndarray) -> float:
    """Share of rows whose most probable class (argmax of (n, C) probabilities) is right."""
    return ACCURACY.value(y_true, y_proba)


def macro_f1_score(y_true: np.ndarray, y_proba: np.ndarray) -> float:
    """F1 averaged over all C classes with equal weight (absent classes count 0)."""
    return MACRO_F1.value(y_true, y_proba)


def multiclass_log_loss(y_true: np.ndarray, y_proba: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class under (n, C) probabilities.

    Probabilities are clipped to [1e-15, 1], then each row is renormalised.
    """
    return MULTICLASS_LOG_LOSS.value(y_true, y_proba)


def _confusion_cells(
    y_true: np.ndarray, y_proba: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Each row's (true, predicted) cell, and the true and predicted class of each cell.

    Only cells that occur are kept, so C = 100 classes cost no 10,000-cell table.
    """
    y_true, y_proba = _check_multiclass(y_true, y_proba)
    n_classes = y_proba.shape[1]
    raw = y_true * n_classes + y_proba.argmax(axis=1)
    used = np.flatnonzero(np.bincount(raw, minlength=n_classes * n_classes))
    lookup = np.zeros(n_classes * n_classes, dtype=np.intp)
    lookup[used] = np.arange(len(used))
    return lookup[raw], used // n_classes, used % n_classes, n_classes


def _accuracy_rows(y_true: np.ndarray, y_proba: np.ndarray) -> Rows:
    cell, truth, predicted, _ = _confusion_cells(y_true, y_proba)
    return Rows((truth == predicted).astype(float)[:, None], cell=cell)


def _f1_rows(y_true: np.ndarray, y_proba: np.ndarray) -> Rows:
    # Per cell: one-hot true positives, false positives and false negatives.
    cell, truth, predicted, n_classes = _confusion_cells(y_true, y_proba)
    actual, guessed = np.eye(n_classes)[truth], np.eye(n_classes)[predicted]
    stats = np.column_stack([actual * guessed, guessed * (1 - actual), actual * (1 - guessed)])
    return Rows(stats, cell=cell)


def _f1_finish(sums: np.ndarray, _total: np.ndarray) -> np.ndarray:
    true_pos, false_pos, false_neg = np.split(sums, 3, axis=1)
    denominator = 2 * true_pos + false_pos + false_neg
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denominator > 0, 2 * true_pos / denominator, 0.0)  # a class nowhere: 0
    result: np.ndarray = f1.mean(axis=1)
    return result


def _multiclass_log_loss_rows(y_true: np.ndarray, y_proba: np.ndarray) -> Rows:
    y, proba = _check_multiclass(y_true, y_proba)
    proba = np.clip(proba, EPS, 1.0)
    true_class = proba[np.arange(len(y)), y] / proba.sum(axis=1)
    return Rows(-np.log(true_class)[:, None])


ACCURACY = Decomposable(_accuracy_rows, mean)
MACRO_F1 = Decomposable(_f1_rows, _f1_finish)
MULTICLASS_LOG_LOSS = Decomposable(_multiclass_log_loss_rows, mean)
MULTICLASS_MATH: dict[str, MetricMath] = {
    "macro_f1": (macro_f1_score, MACRO_F1),
    "accuracy": (accuracy_score, ACCURACY),
    "log_loss": (multiclass_log_loss, MULTICLASS_LOG_LOSS),
}


# ------------------------------------------------------------- checks ---


def _check_binary(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_score = check_pair(y_true, y_score, "y_score")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError("y_true must hold binary labels 0 or 1")
    return y_true.astype(int), y_score


def _check_multiclass(y_true: np.ndarray, y_proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_proba = np.asarray(y_true, dtype=float), np.asarray(y_proba, dtype=float)
    if y_true.ndim != 1 or y_proba.ndim != 2 or len(y_proba) != len(y_true) or len(y_true) == 0:
        raise ValueError(
            "expected y_true of shape (n,) and y_proba of shape (n, n_classes) with n > 0, got "
            f"{y_true.shape} and {y_proba.shape}"
        )
    check_finite("y_true", y_true)
    check_finite("y_proba", y_proba)
    n_classes = y_proba.shape[1]
    if ((y_true < 0) | (y_true >= n_classes) | (y_true != np.round(y_true))).any():
        raise ValueError(
            f"y_true must hold class ids 0 to {n_classes - 1} (one per column of y_proba)"
        )
    return y_true.astype(int), y_proba
