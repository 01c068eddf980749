"""Vectorised bootstrap confidence intervals for every registered metric.

A loop of 1,000 metric calls on 1M rows takes minutes; this takes about a
second (`<cli> bench bootstrap` prints the time). Nothing here knows a metric
by name: the registry entry says which of three shapes its math has, and the
statistics come from the same definition as the point value.
- `Decomposable` (losses, errors, accuracy, F1 counts, R squared): rows that
  share a cell (accuracy and F1: a confusion-matrix entry) are resampled
  exactly by drawing cell counts from a multinomial. Other rows, up to 50,000:
  the Poisson bootstrap weights every row by a Poisson(1) count (a 16-bit
  lookup table) and one matrix product gives the sums of a block of
  resamples. Above that, rows are grouped into 4,096 quantile cells of nearly
  equal statistics, each drawn like a confusion-matrix cell.
- `ScoreOrdered` (ROC AUC, average precision): (score bin, label) cells, exact
  up to 4,096 distinct scores; the areas follow from the drawn counts.
- `PerQuery` (ranking): whole queries are resampled; their values come once
  from `ranking_per_query` (the expectation over tied scores, so the rows'
  storage order cannot move the interval).
Inputs are checked like the metrics check them: NaN or infinite values raise.
"""

from __future__ import annotations

import math

import numpy as np

from ._base import Decomposable, Finisher, FromCounts, PerQuery, Rows, mean
from .ranking import ranking_per_query
from .registry import compute, get_metric

MAX_BINS = 4096
EXACT_ROWS = 50_000  # up to here every row is resampled; above, rows are grouped into cells
BLOCK_CELLS = 1 << 23  # weights held in memory at once (resamples x rows)


def bootstrap_interval(
    name: str,
    problem_type: str,
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    k: int = 10,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of metric `name` over `resamples` bootstrap resamples."""
    values = bootstrap_values(
        name, problem_type, y_true, y_score, groups=groups, k=k, resamples=resamples, seed=seed
    )
    return percentile_interval(values, level)


def clustered_interval(
    name: str,
    problem_type: str,
    y_true: np.ndarray,
    y_score: np.ndarray,
    units: np.ndarray,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of `name` when rows come in dependent units (a forecast's series).

    Rows of one unit share its history, so resampling rows would treat them as
    independent and make the interval too narrow: whole units are resampled.
    """
    rng = np.random.default_rng(seed)
    names, index = np.unique(units, return_inverse=True)
    rows_of = [np.flatnonzero(index == i) for i in range(len(names))]
    values = np.empty(resamples)
    for draw in range(resamples):
        rows = np.concatenate([rows_of[i] for i in rng.integers(0, len(names), len(names))])
        values[draw] = compute(name, problem_type, y_true[rows], y_score[rows])
    return percentile_interval(values, level)


def percentile_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The central `level` share of the finite `values` (NaN, NaN when there is none)."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_values(
    name: str,
    problem_type: str,
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    k: int = 10,
    resamples: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """The metric on each resample, shape (resamples,)."""
    how = get_metric(name, problem_type).bootstrap
    rng = np.random.default_rng(seed)
    if isinstance(how, PerQuery):
        if groups is None:
            raise ValueError(f"{name} needs the query id of each row (groups)")
        per_query = ranking_per_query(name, y_true, y_score, groups=groups, k=k)
        return _poisson(per_query[~np.isnan(per_query)][:, None], mean, resamples, rng)
    if isinstance(how, Decomposable):
        return _decomposable(how.rows(y_true, y_score), how.finish, resamples, rng)
    negatives, positives = how.counts(y_true, y_score, max_bins=MAX_BINS)
    return _score_ordered(negatives, positives, how.from_counts, resamples, rng)


def _decomposable(
    rows: Rows, finish: Finisher, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    if rows.cell is not None:
        return _multinomial(np.bincount(rows.cell), rows.stats, finish, resamples, rng)
    if rows.n <= EXACT_ROWS:
        return _poisson(rows.stats, finish, resamples, rng)
    keys = rows.stats if rows.keys is None else rows.keys
    ids = _quantile_cells(keys)
    counts = np.bincount(ids)
    means = np.column_stack([np.bincount(ids, weights=column) for column in rows.stats.T])
    return _multinomial(counts, means / counts[:, None], finish, resamples, rng)


# ------------------------------------------------------------ Poisson ---


def _poisson_table() -> np.ndarray:
    """Maps a uniform 16-bit integer to a Poisson(1) count."""
    k = np.arange(16)
    pmf = np.exp(-1.0) / np.array([math.factorial(int(i)) for i in k])
    return np.searchsorted(np.cumsum(pmf) * 65536, np.arange(65536), side="right").astype(
        np.float32
    )


_TABLE = _poisson_table()


def _poisson(
    stats: np.ndarray, finish: Finisher, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """finish(weighted sums (B, m), total weights (B,)) for B Poisson-weighted resamples."""
    n = len(stats)
    if n == 0:
        return np.full(resamples, np.nan)
    design = np.column_stack([np.ones(n), stats]).astype(np.float64)
    block = max(1, min(resamples, BLOCK_CELLS // n))
    results = []
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        weights = _TABLE[rng.integers(0, 65536, (size, n), dtype=np.uint16)]
        sums = weights @ design
        results.append(finish(sums[:, 1:], sums[:, 0]))
    return np.concatenate(results)


# -------------------------------------------------------------- cells ---


def _multinomial(
    counts: np.ndarray,
    stats: np.ndarray,
    finish: Finisher,
    resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw how many of the n rows fall in each cell; a cell's rows share `stats`.

    Exact (the ordinary bootstrap) when the rows of a cell have equal statistics.
    """
    used = counts > 0
    counts, stats = counts[used], stats[used]
    n = int(counts.sum())
    draws = rng.multinomial(n, counts / n, size=resamples).astype(np.float64)
    return finish(draws @ stats, np.full(resamples, float(n)))


def _quantile_cells(keys: np.ndarray) -> np.ndarray:
    """Cell id per row: quantile bins per key column, about MAX_BINS cells in all.

    Only the spread inside a bin (1/4096 of the rows for one column) is ignored.
    """
    per_column = max(2, int(MAX_BINS ** (1 / keys.shape[1])))
    ids = np.zeros(len(keys), dtype=np.int64)
    for column in keys.T:
        ids = ids * (per_column + 1) + _quantile_bins(column, per_column)
    occupied = np.flatnonzero(np.bincount(ids))
    lookup = np.zeros(int(occupied[-1]) + 1, dtype=np.int64)
    lookup[occupied] = np.arange(len(occupied))
    result: np.ndarray = lookup[ids]
    return result


def _quantile_bins(values: np.ndarray, bins: int) -> np.ndarray:
    ordered = np.sort(values)
    distinct = ordered[np.r_[True, ordered[1:] != ordered[:-1]]]
    if len(distinct) <= bins:
        return np.searchsorted(distinct, values)
    edges = np.unique(ordered[(np.arange(1, bins) * len(ordered)) // bins])
    return np.searchsorted(edges, values, side="right")


# ------------------------------------------------------- score order ---


def _score_ordered(
    negatives: np.ndarray,
    positives: np.ndarray,
    from_counts: FromCounts,
    resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw the (score bin, label) cell counts; the metric follows from them."""
    cells = np.column_stack([negatives, positives]).ravel()
    n = int(cells.sum())
    if n == 0:  # no row to resample (anomaly detection without labels): undefined
        return np.full(resamples, np.nan)
    draws = rng.multinomial(n, cells / n, size=resamples).astype(np.float64)
    return from_counts(draws[:, 0::2], draws[:, 1::2])
