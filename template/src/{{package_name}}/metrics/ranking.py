"""Ranking metrics, vectorised over all queries at once (no Python loop per query).

They stay fast on millions of rows; `ranking_per_query` exposes the
per-query values that the bootstrap resamples. Relevance > 0 counts as
relevant; NDCG uses the exponential gain 2**rel - 1, like LightGBM's
lambdarank.

Ties: rows of one query with equal scores have no order, so every ranking
metric is its expected value when ties are broken uniformly at random,
computed exactly. A constant-score baseline gets one value whatever order the
rows are stored in, and untied scores give the usual values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._base import MetricMath, PerQuery, check_pair, undefined


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
    from scipy import special  # here, so importing the metrics never loads scipy

    return special.gammaln(n + 1) - special.gammaln(m + 1) - special.gammaln(n - m + 1)


_RANKING: dict[str, Callable[[_Ranked, int], np.ndarray]] = {
    "ndcg_at_k": _ndcg,
    "map_at_k": _map,
    "mrr": _mrr,
    "recall_at_k": _recall,
}
# For the registry: each metric's point value; the bootstrap resamples per-query values.
RANKING_MATH: dict[str, MetricMath] = {
    "ndcg_at_k": (ndcg_at_k_score, PerQuery()),
    "map_at_k": (map_at_k_score, PerQuery()),
    "mrr": (mrr_score, PerQuery()),
    "recall_at_k": (recall_at_k_score, PerQuery()),
}


def _mean_over_queries(values: np.ndarray) -> float:
    if np.isnan(values).all():
        return undefined("no query has a relevant item")
    return float(np.nanmean(values))


def _check_ranking(
    y_true: np.ndarray, y_score: np.ndarray, groups: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_true, y_score = check_pair(y_true, y_score, "y_score")
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
