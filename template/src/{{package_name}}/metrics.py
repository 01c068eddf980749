"""Offline metrics: one function per metric, and a registry with direction and range.

Classification and regression metrics wrap scikit-learn. The ranking metrics
are vectorised over all queries at once (no Python loop per query) so they
stay fast on millions of rows; `ranking_per_query` exposes the per-query
values that the bootstrap resamples. Relevance > 0 counts as relevant; NDCG
uses the exponential gain 2**rel - 1, like LightGBM's lambdarank.
Undefined cases (one class only, no relevant item) warn and return NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn import metrics as skm

Direction = Literal["higher", "lower"]


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for this input (for example a single class)."""


# ------------------------------------------------------------- binary ---


def roc_auc_score(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the ROC curve of P(label=1) scores. `roc_auc_score([0, 1], [.2, .9]) == 1.0`"""
    y_true, y_score = _check_binary(y_true, y_score)
    if not _both_classes(y_true):
        return _undefined("roc_auc needs both classes in y_true")
    return float(skm.roc_auc_score(y_true, y_score))


def pr_auc_score(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Average precision, the step-wise area under the precision-recall curve."""
    y_true, y_score = _check_binary(y_true, y_score)
    if not _both_classes(y_true):
        return _undefined("pr_auc needs both classes in y_true")
    return float(skm.average_precision_score(y_true, y_score))


def binary_log_loss(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean negative log-likelihood of P(label=1) (lower is better)."""
    y_true, y_score = _check_binary(y_true, y_score)
    return float(skm.log_loss(y_true, np.clip(y_score, 1e-15, 1 - 1e-15), labels=[0, 1]))


def brier_loss(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean squared error of P(label=1): `brier_loss([0, 1], [0, .5]) == 0.125`."""
    y_true, y_score = _check_binary(y_true, y_score)
    return float(skm.brier_score_loss(y_true, y_score))


# --------------------------------------------------------- multiclass ---


def accuracy_score(y_true: np.ndarray, y_proba: np.ndarray) -> float:
    """Share of rows whose most probable class (argmax of (n, C) probabilities) is right."""
    y_true, y_proba = _check_multiclass(y_true, y_proba)
    return float(skm.accuracy_score(y_true, y_proba.argmax(axis=1)))


def macro_f1_score(y_true: np.ndarray, y_proba: np.ndarray) -> float:
    """F1 averaged over all C classes with equal weight (absent classes count 0)."""
    y_true, y_proba = _check_multiclass(y_true, y_proba)
    labels = np.arange(y_proba.shape[1])
    predicted = y_proba.argmax(axis=1)
    return float(skm.f1_score(y_true, predicted, labels=labels, average="macro", zero_division=0))


def multiclass_log_loss(y_true: np.ndarray, y_proba: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class under (n, C) probabilities."""
    y_true, y_proba = _check_multiclass(y_true, y_proba)
    proba = np.clip(y_proba, 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(skm.log_loss(y_true, proba, labels=np.arange(y_proba.shape[1])))


# --------------------------------------------------------- regression ---


def root_mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """sqrt(mean((y - y_hat)**2)), in the label's unit."""
    y_true, y_pred = _check_regression(y_true, y_pred)
    return float(np.sqrt(skm.mean_squared_error(y_true, y_pred)))


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean(|y - y_hat|), in the label's unit."""
    y_true, y_pred = _check_regression(y_true, y_pred)
    return float(skm.mean_absolute_error(y_true, y_pred))


def mean_absolute_percentage_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean(|y - y_hat| / |y|) as a fraction (0.1 is 10%)."""
    y_true, y_pred = _check_regression(y_true, y_pred)
    return float(skm.mean_absolute_percentage_error(y_true, y_pred))


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of the label's variance explained (1 is perfect, 0 is the mean)."""
    y_true, y_pred = _check_regression(y_true, y_pred)
    if len(y_true) < 2 or np.ptp(y_true) == 0:
        return _undefined("r2 needs at least two different labels")
    return float(skm.r2_score(y_true, y_pred))


# ------------------------------------------------------------ ranking ---


def ndcg_at_k_score(
    y_true: np.ndarray, y_score: np.ndarray, *, groups: np.ndarray, k: int
) -> float:
    """Mean NDCG@k over queries with at least one relevant item.

    `groups` holds the query id of each row (any order). Example: one query
    with relevance [3, 0] scored [.1, .9] gives (7/log2(3)) / 7 = 0.63.
    """
    return _mean_over_queries(ranking_per_query("ndcg_at_k", y_true, y_score, groups=groups, k=k))


def map_at_k_score(y_true: np.ndarray, y_score: np.ndarray, *, groups: np.ndarray, k: int) -> float:
    """Mean average precision@k (normalised by min(k, relevant items)) over queries."""
    return _mean_over_queries(ranking_per_query("map_at_k", y_true, y_score, groups=groups, k=k))


def mrr_score(y_true: np.ndarray, y_score: np.ndarray, *, groups: np.ndarray, k: int) -> float:
    """Mean reciprocal rank of the first relevant item (whole list; k is ignored)."""
    return _mean_over_queries(ranking_per_query("mrr", y_true, y_score, groups=groups, k=k))


def recall_at_k_score(
    y_true: np.ndarray, y_score: np.ndarray, *, groups: np.ndarray, k: int
) -> float:
    """Mean share of a query's relevant items that appear in its top k."""
    return _mean_over_queries(ranking_per_query("recall_at_k", y_true, y_score, groups=groups, k=k))


def ranking_per_query(
    name: str, y_true: np.ndarray, y_score: np.ndarray, *, groups: np.ndarray, k: int
) -> np.ndarray:
    """One value per query (NaN for queries without a relevant item), vectorised."""
    y_true, y_score, groups = _check_ranking(y_true, y_score, groups, k)
    order = np.lexsort((-y_score, groups))
    query, position, starts = _positions(groups[order])
    relevance = y_true[order]
    relevant = relevance > 0
    n_queries = len(starts)
    n_relevant = np.bincount(query, weights=relevant, minlength=n_queries)
    in_top = position < k
    if name == "ndcg_at_k":
        discount = 1.0 / np.log2(position + 2.0)
        dcg = np.bincount(
            query, weights=(2.0**relevance - 1) * discount * in_top, minlength=n_queries
        )
        ideal_order = np.lexsort((-y_true, groups))
        ideal_gain = (2.0 ** y_true[ideal_order] - 1) * discount * in_top
        ideal = np.bincount(query, weights=ideal_gain, minlength=n_queries)
        values = dcg / np.where(ideal > 0, ideal, 1.0)
    elif name == "map_at_k":
        cumulative = np.cumsum(relevant)
        hits = cumulative - (cumulative[starts] - relevant[starts])[query]
        precision = hits / (position + 1.0)
        total = np.bincount(query, weights=precision * relevant * in_top, minlength=n_queries)
        values = total / np.maximum(np.minimum(n_relevant, k), 1.0)
    elif name == "mrr":
        reciprocal = np.where(relevant, 1.0 / (position + 1.0), 0.0)
        values = np.maximum.reduceat(reciprocal, starts)
    elif name == "recall_at_k":
        found = np.bincount(query, weights=relevant * in_top, minlength=n_queries)
        values = found / np.maximum(n_relevant, 1.0)
    else:
        raise KeyError(f"unknown ranking metric '{name}'")
    return np.where(n_relevant > 0, values, np.nan)


# ----------------------------------------------------------- registry ---


@dataclass(frozen=True)
class Metric:
    """A metric's name, the problem it applies to, direction and valid range."""

    name: str
    label: str
    problem: str
    direction: Direction
    low: float | None
    high: float | None
    function: Callable[..., float]

    def is_better(self, value: float, other: float) -> bool:
        """True when `value` is strictly better than `other`."""
        return value > other if self.direction == "higher" else value < other

    def passes(self, value: float, threshold: float) -> bool:
        """True when `value` reaches the release threshold."""
        return value >= threshold if self.direction == "higher" else value <= threshold


_B, _M, _R, _K = "binary_classification", "multiclass_classification", "regression", "ranking"
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("roc_auc", "ROC AUC", _B, "higher", 0.0, 1.0, roc_auc_score),
        Metric("pr_auc", "PR AUC", _B, "higher", 0.0, 1.0, pr_auc_score),
        Metric("log_loss", "log loss", _B, "lower", 0.0, None, binary_log_loss),
        Metric("brier", "Brier score", _B, "lower", 0.0, 1.0, brier_loss),
        Metric("macro_f1", "macro F1", _M, "higher", 0.0, 1.0, macro_f1_score),
        Metric("accuracy", "accuracy", _M, "higher", 0.0, 1.0, accuracy_score),
        Metric("rmse", "RMSE", _R, "lower", 0.0, None, root_mean_squared_error),
        Metric("mae", "MAE", _R, "lower", 0.0, None, mean_absolute_error),
        Metric("mape", "MAPE", _R, "lower", 0.0, None, mean_absolute_percentage_error),
        Metric("r2", "R squared", _R, "higher", None, 1.0, r2_score),
        Metric("ndcg_at_k", "NDCG@k", _K, "higher", 0.0, 1.0, ndcg_at_k_score),
        Metric("map_at_k", "MAP@k", _K, "higher", 0.0, 1.0, map_at_k_score),
        Metric("mrr", "MRR", _K, "higher", 0.0, 1.0, mrr_score),
        Metric("recall_at_k", "recall@k", _K, "higher", 0.0, 1.0, recall_at_k_score),
    )
}


def get_metric(name: str, problem_type: str) -> Metric:
    """The registered metric `name`; multiclass log_loss shares the binary name."""
    if name == "log_loss" and problem_type == _M:
        return Metric("log_loss", "log loss", _M, "lower", 0.0, None, multiclass_log_loss)
    if name not in METRICS:
        raise KeyError(f"unknown metric '{name}'; known: {sorted(METRICS)}")
    metric = METRICS[name]
    if metric.problem != problem_type and name != "log_loss":
        raise KeyError(f"metric '{name}' does not apply to {problem_type}")
    return metric


def compute(
    name: str,
    problem_type: str,
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    k: int = 10,
) -> float:
    """Compute metric `name` with the arguments its family needs."""
    metric = get_metric(name, problem_type)
    if problem_type == _K:
        if groups is None:
            raise ValueError(f"{name} needs the query id of each row (groups)")
        return metric.function(y_true, y_score, groups=groups, k=k)
    return metric.function(y_true, y_score)


# ------------------------------------------------------------ helpers ---


def _undefined(reason: str) -> float:
    warnings.warn(reason, UndefinedMetricWarning, stacklevel=3)
    return float("nan")


def _mean_over_queries(values: np.ndarray) -> float:
    if np.isnan(values).all():
        return _undefined("no query has a relevant item")
    return float(np.nanmean(values))


def _both_classes(y_true: np.ndarray) -> bool:
    return bool(y_true.min() != y_true.max())


def _check_binary(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_score = _check_regression(y_true, y_score)
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError("binary labels must be 0 or 1")
    return y_true.astype(int), y_score


def _check_multiclass(y_true: np.ndarray, y_proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_proba = np.asarray(y_true), np.asarray(y_proba, dtype=float)
    if y_proba.ndim != 2 or len(y_proba) != len(y_true) or len(y_true) == 0:
        raise ValueError("expected y_proba of shape (n, n_classes) with n = len(y_true) > 0")
    return y_true.astype(int), y_proba


def _check_regression(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(
            f"expected two 1-d arrays of equal length, got {y_true.shape}, {y_pred.shape}"
        )
    return y_true, y_pred


def _check_ranking(
    y_true: np.ndarray, y_score: np.ndarray, groups: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_true, y_score = _check_regression(y_true, y_score)
    groups = np.asarray(groups)
    if groups.shape != y_true.shape:
        raise ValueError("groups must give one query id per row")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return y_true, y_score, groups


def _positions(sorted_groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Query index and position within the query for rows sorted by query."""
    new_query = np.r_[True, sorted_groups[1:] != sorted_groups[:-1]]
    starts = np.flatnonzero(new_query)
    query = np.cumsum(new_query) - 1
    position = np.arange(len(sorted_groups)) - starts[query]
    return query, position, starts
