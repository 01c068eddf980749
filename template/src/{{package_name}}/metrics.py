"""Offline metrics: one function per metric, and a registry with direction and range.

Classification and regression metrics wrap scikit-learn. The ranking metrics
are vectorised over all queries at once (no Python loop per query) so they
stay fast on millions of rows; `ranking_per_query` exposes the per-query
values that the bootstrap resamples. Relevance > 0 counts as relevant; NDCG
uses the exponential gain 2**rel - 1, like LightGBM's lambdarank.

Ties: rows of one query with equal scores have no order, so every ranking
metric is its expected value when ties are broken uniformly at random,
computed exactly. A constant-score baseline gets one value whatever order the
rows are stored in, and untied scores give the usual values.

The rule for bad inputs: invalid input (NaN or infinite values, a wrong
shape, labels outside their range) raises a ValueError that names the
argument; an undefined result (one class only, constant labels for R squared,
no query with a relevant item) is NaN with an UndefinedMetricWarning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special
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
    """One value per query (NaN for queries without a relevant item), vectorised.

    Each value is the metric's expectation over random orders of tied scores,
    so it depends on the rows of a query, never on the order they are stored in.
    """
    y_true, y_score, groups = _check_ranking(y_true, y_score, groups, k)
    if name not in _RANKING:
        raise KeyError(f"unknown ranking metric '{name}'; known: {sorted(_RANKING)}")
    # Rows of a tie keep their storage order here; only sums over a tie group
    # are used, and for integer relevance those are exact in any order.
    order = np.lexsort((-y_score, groups))
    ranked = _Ranked.build(groups[order], y_score[order], y_true[order])
    values = _RANKING[name](ranked, k)
    return np.where(ranked.n_relevant > 0, values, np.nan)


@dataclass(frozen=True)
class _Ranked:
    """Rows sorted by query, then by descending score, with their tie groups.

    A tie group is a run of equal scores inside one query; per-row arrays have
    one entry per row, per-tie arrays one per tie group.
    """

    relevance: np.ndarray  # per row
    query: np.ndarray  # per row: index of its query
    position: np.ndarray  # per row: 0-based position inside its query
    tie: np.ndarray  # per row: index of its tie group
    tie_size: np.ndarray  # per tie: rows in the group
    tie_start: np.ndarray  # per tie: position of its first row
    tie_relevant: np.ndarray  # per tie: relevant rows in the group
    relevant_before: np.ndarray  # per tie: relevant rows in earlier groups of its query
    n_relevant: np.ndarray  # per query

    @classmethod
    def build(cls, groups: np.ndarray, score: np.ndarray, relevance: np.ndarray) -> _Ranked:
        n = len(groups)
        new_query = np.r_[True, groups[1:] != groups[:-1]]
        new_tie = new_query | np.r_[True, score[1:] != score[:-1]]
        query_starts, tie_starts = np.flatnonzero(new_query), np.flatnonzero(new_tie)
        query, tie = np.cumsum(new_query) - 1, np.cumsum(new_tie) - 1
        position = np.arange(n) - query_starts[query]
        relevant = (relevance > 0).astype(float)
        tie_relevant = np.bincount(tie, weights=relevant, minlength=len(tie_starts))
        earlier = np.cumsum(tie_relevant) - tie_relevant  # relevant rows before each tie
        first_tie_of_query = tie[query_starts]
        relevant_before = earlier - earlier[first_tie_of_query][query[tie_starts]]
        n_relevant = np.bincount(query, weights=relevant, minlength=len(query_starts))
        return cls(
            relevance=relevance,
            query=query,
            position=position,
            tie=tie,
            tie_size=np.diff(np.r_[tie_starts, n]).astype(float),
            tie_start=position[tie_starts],
            tie_relevant=tie_relevant,
            relevant_before=relevant_before,
            n_relevant=n_relevant,
        )

    def per_query(self, weights: np.ndarray) -> np.ndarray:
        """Sum of per-row `weights` in each query."""
        return np.bincount(self.query, weights=weights, minlength=len(self.n_relevant))

    def tie_mean(self, weights: np.ndarray) -> np.ndarray:
        """Per row: the mean of per-row `weights` over its tie group."""
        sums = np.bincount(self.tie, weights=weights, minlength=len(self.tie_size))
        return (sums / self.tie_size)[self.tie]


def _ndcg(ranked: _Ranked, k: int) -> np.ndarray:
    # DCG is linear in the gain at each position, and a random order of a tie
    # group puts the group's mean gain at each of its positions.
    position = ranked.position
    discount = np.where(position < k, 1.0 / np.log2(position + 2.0), 0.0)
    dcg = ranked.per_query(ranked.tie_mean(2.0**ranked.relevance - 1) * discount)
    # The ideal order sorts each query by its true labels (ties there change nothing).
    ideal_order = np.lexsort((-ranked.relevance, ranked.query))
    ideal = ranked.per_query((2.0 ** ranked.relevance[ideal_order] - 1) * discount)
    return dcg / np.where(ideal > 0, ideal, 1.0)


def _recall(ranked: _Ranked, k: int) -> np.ndarray:
    # Expected relevant rows in the top k: the share of relevant rows in each
    # position's tie group, summed over the positions before k.
    in_top = (ranked.position < k).astype(float)
    found = ranked.per_query(ranked.tie_mean(ranked.relevance > 0) * in_top)
    return found / np.maximum(ranked.n_relevant, 1.0)


def _map(ranked: _Ranked, k: int) -> np.ndarray:
    # AP@k = sum over positions i <= k of rel_i * hits_i / i, divided by
    # min(k, relevant rows), where hits_i = sum over j <= i of rel_j (binary).
    # By linearity, E[rel_i * hits_i] = sum over j <= i of E[rel_i * rel_j]:
    # - j = i: E[rel_i] = r / g, the share of relevant rows in i's tie group
    #   (g rows, r of them relevant);
    # - j in an earlier tie group: the groups are shuffled independently, so
    #   E[rel_i * rel_j] = (r / g) * E[rel_j], and the E[rel_j] of a whole
    #   earlier group add up to its relevant count ("relevant_before");
    # - j earlier in the same group (i - 1 - s such positions when s rows come
    #   before the group): a random order puts relevant rows at both with
    #   probability r (r - 1) / (g (g - 1)).
    # Summed: E[rel_i * hits_i] = (r / g) (1 + relevant_before)
    #                             + (i - 1 - s) r (r - 1) / (g (g - 1)).
    ties = ranked.tie
    share = ranked.tie_relevant / ranked.tie_size
    pair = ranked.tie_relevant * (ranked.tie_relevant - 1)
    pair = pair / np.maximum(ranked.tie_size * (ranked.tie_size - 1), 1.0)
    earlier_in_tie = ranked.position - ranked.tie_start[ties]
    expected_hits = share[ties] * (1.0 + ranked.relevant_before[ties]) + earlier_in_tie * pair[ties]
    in_top = ranked.position < k
    total = ranked.per_query(np.where(in_top, expected_hits / (ranked.position + 1.0), 0.0))
    return total / np.maximum(np.minimum(ranked.n_relevant, k), 1.0)


def _mrr(ranked: _Ranked, k: int) -> np.ndarray:
    # The first tie group holding a relevant row decides: with s rows before
    # it, g rows and r relevant, the first relevant row of a random order is
    # its j-th with probability C(g - j, r - 1) / C(g, r), so
    # E[1 / rank] = sum over j of that probability / (s + j), and s + j is the
    # row's 1-based position. Log-binomials keep large groups finite.
    deciding = (ranked.tie_relevant > 0) & (ranked.relevant_before == 0)
    rows = np.flatnonzero(deciding[ranked.tie])
    ties = ranked.tie[rows]
    size, relevant = ranked.tie_size[ties], ranked.tie_relevant[ties]
    j = ranked.position[rows] - ranked.tie_start[ties] + 1
    possible = size - j >= relevant - 1
    log_p = _log_choose(np.where(possible, size - j, relevant - 1), relevant - 1)
    log_p = log_p - _log_choose(size, relevant)
    weights = np.zeros(len(ranked.position))
    weights[rows] = np.where(possible, np.exp(log_p), 0.0) / (ranked.position[rows] + 1.0)
    return ranked.per_query(weights)


def _log_choose(n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """log C(n, m) for 0 <= m <= n."""
    return special.gammaln(n + 1) - special.gammaln(m + 1) - special.gammaln(n - m + 1)


_RANKING: dict[str, Callable[[_Ranked, int], np.ndarray]] = {
    "ndcg_at_k": _ndcg,
    "map_at_k": _map,
    "mrr": _mrr,
    "recall_at_k": _recall,
}


# ----------------------------------------------------------- registry ---


def improves(value: float, other: float, *, direction: Direction) -> bool:
    """True when `value` is strictly better than `other` for a metric of `direction`."""
    return value > other if direction == "higher" else value < other


def gain(value: float, other: float, *, direction: Direction) -> float:
    """How much better `value` is than `other` (negative when worse), in the metric's units."""
    return value - other if direction == "higher" else other - value


def reaches(value: float, threshold: float, *, direction: Direction) -> bool:
    """True when `value` reaches `threshold` for a metric of `direction`."""
    return value >= threshold if direction == "higher" else value <= threshold


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
        return improves(value, other, direction=self.direction)

    def passes(self, value: float, threshold: float) -> bool:
        """True when `value` reaches the release threshold."""
        return reaches(value, threshold, direction=self.direction)


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


def check_inputs(
    problem_type: str,
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    k: int = 10,
) -> None:
    """Raise the ValueError every metric of `problem_type` would raise for these inputs.

    For code that reads the inputs without calling a metric (the bootstrap).
    """
    if problem_type == _B:
        _check_binary(y_true, y_score)
    elif problem_type == _M:
        _check_multiclass(y_true, y_score)
    elif problem_type == _R:
        _check_regression(y_true, y_score)
    elif problem_type == _K:
        if groups is None:
            raise ValueError("ranking metrics need the query id of each row (groups)")
        _check_ranking(y_true, y_score, groups, k)
    else:
        raise KeyError(f"unknown problem type '{problem_type}'")


def _undefined(reason: str) -> float:
    warnings.warn(reason, UndefinedMetricWarning, stacklevel=3)
    return float("nan")


def _mean_over_queries(values: np.ndarray) -> float:
    if np.isnan(values).all():
        return _undefined("no query has a relevant item")
    return float(np.nanmean(values))


def _both_classes(y_true: np.ndarray) -> bool:
    return bool(y_true.min() != y_true.max())


def _check_finite(name: str, values: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{name} holds {int(bad.sum())} NaN or infinite value(s), the first at row "
            f"{int(np.argmax(bad.reshape(len(values), -1).any(axis=1)))}; drop or fill them "
            "before computing a metric"
        )


def _check_pair(
    y_true: np.ndarray, other: np.ndarray, other_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Two finite 1-d float arrays of one non-zero length."""
    y_true, other = np.asarray(y_true, dtype=float), np.asarray(other, dtype=float)
    if y_true.ndim != 1 or other.shape != y_true.shape or len(y_true) == 0:
        raise ValueError(
            f"expected y_true and {other_name} as 1-d arrays of one non-zero length, got "
            f"shapes {y_true.shape} and {other.shape}"
        )
    _check_finite("y_true", y_true)
    _check_finite(other_name, other)
    return y_true, other


def _check_binary(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_score = _check_pair(y_true, y_score, "y_score")
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
    _check_finite("y_true", y_true)
    _check_finite("y_proba", y_proba)
    n_classes = y_proba.shape[1]
    if ((y_true < 0) | (y_true >= n_classes) | (y_true != np.round(y_true))).any():
        raise ValueError(
            f"y_true must hold class ids 0 to {n_classes - 1} (one per column of y_proba)"
        )
    return y_true.astype(int), y_proba


def _check_regression(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _check_pair(y_true, y_pred, "y_pred")


def _check_ranking(
    y_true: np.ndarray, y_score: np.ndarray, groups: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_true, y_score = _check_pair(y_true, y_score, "y_score")
    if (y_true < 0).any():
        raise ValueError("y_true (relevance) must be >= 0; 0 means not relevant")
    groups = np.asarray(groups)
    if groups.shape != y_true.shape:
        raise ValueError(
            f"groups must give one query id per row: shape {groups.shape}, expected {y_true.shape}"
        )
    if groups.dtype.kind in "fcO" and (groups != groups).any():  # only NaN differs from itself
        raise ValueError("groups holds NaN query ids; every row needs the id of its query")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return y_true, y_score, groups
