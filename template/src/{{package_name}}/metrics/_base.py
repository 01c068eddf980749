"""What the metric families share: the rule for bad inputs and the shapes of a metric's math.

Bad inputs: invalid input (NaN or infinite values, a wrong shape, labels
outside their range) raises a ValueError that names the argument; an
undefined result (one class only, constant labels for R squared, no query
with a relevant item) is NaN with an UndefinedMetricWarning.

A metric's math takes one of three shapes, and the bootstrap reads the shape
from the registry instead of knowing metrics by name:
- `Decomposable`: finish(column sums of per-row statistics, row count).
- `ScoreOrdered`: a function of how many negatives and positives share each
  score, lowest score first (ROC AUC, average precision).
- `PerQuery`: the mean of one value per query (ranking).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# finish(sums (B, m), row counts (B,)) -> one metric value per row of sums (B,)
Finisher = Callable[[np.ndarray, np.ndarray], np.ndarray]
# from_counts(negatives (B, bins), positives (B, bins)) -> (B,), bins by ascending score
FromCounts = Callable[[np.ndarray, np.ndarray], np.ndarray]


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for this input (for example a single class)."""


def undefined(reason: str) -> float:
    """NaN, with a warning that points at the caller of the metric function."""
    warnings.warn(reason, UndefinedMetricWarning, stacklevel=3)
    return float("nan")


@dataclass(frozen=True)
class Rows:
    """Per-row statistics of one metric on one data set, shape (cells, m).

    With `cell` given, rows with equal statistics share one row of `stats`
    (`cell[i]` is row i's), so a C x C confusion matrix stands for a million
    predictions and a resample only draws how many rows fall in each cell.
    Without it, `stats` has one row per data row, and `keys` (default: the
    statistics themselves) are the columns that group near-equal rows when
    there are too many rows to resample one by one.
    """

    stats: np.ndarray
    cell: np.ndarray | None = None
    keys: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.stats) if self.cell is None else len(self.cell)

    def sums(self) -> np.ndarray:
        """Column sums over all data rows, shape (m,)."""
        if self.cell is None:
            summed: np.ndarray = self.stats.sum(axis=0)
            return summed
        return np.bincount(self.cell, minlength=len(self.stats)) @ self.stats


@dataclass(frozen=True)
class Decomposable:
    """A metric that is `finish(sums of per-row statistics, row count)`.

    `rows` checks the inputs and returns the statistics; the point value
    finishes the sums over all rows, a bootstrap resample the weighted sums.
    Example: RMSE has one statistic per row, (y - y_hat)**2, and finishes
    with sqrt(sum / n).
    """

    rows: Callable[[np.ndarray, np.ndarray], Rows]
    finish: Finisher

    def value(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        """The metric on all rows: finish(sums over all rows)."""
        rows = self.rows(y_true, y_score)
        return float(self.finish(rows.sums()[None, :], np.array([float(rows.n)]))[0])


@dataclass(frozen=True)
class ScoreOrdered:
    """A binary metric that depends on the scores only through their order.

    `counts(y_true, y_score, max_bins=...)` checks the inputs and returns the
    negatives and positives per score (ascending; with more distinct scores
    than `max_bins`, per quantile bin); `from_counts` turns counts into values.
    """

    counts: Callable[..., tuple[np.ndarray, np.ndarray]]
    from_counts: FromCounts


@dataclass(frozen=True)
class PerQuery:
    """A ranking metric: the mean over queries of `ranking_per_query` (resample queries)."""


Bootstrap = Decomposable | ScoreOrdered | PerQuery
# A metric's point value `function(y_true, y_score, ...)` and how it is resampled.
MetricMath = tuple[Callable[..., float], Bootstrap]


def mean(sums: np.ndarray, total: np.ndarray) -> np.ndarray:
    """The finisher of a metric that is the mean of its one per-row statistic."""
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = sums[:, 0] / total
        return result


def check_finite(name: str, values: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{name} holds {int(bad.sum())} NaN or infinite value(s), the first at row "
            f"{int(np.argmax(bad.reshape(len(values), -1).any(axis=1)))}; drop or fill them "
            "before computing a metric"
        )


def check_pair(
    y_true: np.ndarray, other: np.ndarray, other_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Two finite 1-d float arrays of one non-zero length."""
    y_true, other = np.asarray(y_true, dtype=float), np.asarray(other, dtype=float)
    if y_true.ndim != 1 or other.shape != y_true.shape or len(y_true) == 0:
        raise ValueError(
            f"expected y_true and {other_name} as 1-d arrays of one non-zero length, got "
            f"shapes {y_true.shape} and {other.shape}"
        )
    check_finite("y_true", y_true)
    check_finite(other_name, other)
    return y_true, other
