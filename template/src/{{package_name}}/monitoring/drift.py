"""Drift statistics in numpy and scipy only: the numbers behind `monitor drift`.

Two families, picked per column by its type and the sample size:

- p-value tests (two-sample Kolmogorov-Smirnov, two-sample chi-square) for small
  samples, where sampling noise is the main worry. Under no drift they raise a
  false alarm with probability alpha, before the correction across columns.
- distances (Wasserstein divided by the reference standard deviation,
  Jensen-Shannon) for large samples, where a p-value test flags differences far
  too small to matter. Their threshold is an effect size, not a probability.

PSI (population stability index) is available on request for both kinds.
Numeric functions take 1-D float arrays of finite values (`assume_sorted=True`
skips the sort when the caller already sorted them, and trusts it); categorical functions take
counts per category, aligned on the same categories.

The rule for bad inputs: invalid input (NaN or infinite values, negative or
misaligned counts) raises a ValueError that names the argument; callers drop
missing values first (`profile.profile_column` keeps only finite values, and
reports the share it dropped). An undefined statistic (an empty sample, all-zero
counts, a KS test with fewer than 2 values on a side, a chi-square test with
too few rows) is NaN with an UndefinedStatisticWarning, never a number that
looks like an answer.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

NumericMethod = Literal["ks", "wasserstein", "psi"]
CategoricalMethod = Literal["chi_square", "jensen_shannon", "psi"]
Method = Literal["ks", "wasserstein", "psi", "chi_square", "jensen_shannon"]
Correction = Literal["bonferroni", "benjamini_hochberg", "none"]

P_VALUE_METHODS: frozenset[str] = frozenset({"ks", "chi_square"})
MAX_GRID = 2**17  # quantile levels for Wasserstein between samples of unequal size
PSI_FLOOR = 1e-4  # share given to an empty bin so PSI stays finite
MIN_EXPECTED = 5.0  # chi-square: categories expected this rarely are pooled
MIN_KS_VALUES = 2  # per sample: against one value the KS statistic is ~1, "certain drift"


class UndefinedStatisticWarning(RuntimeWarning):
    """A drift statistic is undefined for this input; the result is NaN.

    A RuntimeWarning, so code that silences those (monitoring.compare) keeps working.
    """


def _check_numeric(
    reference: np.ndarray, current: np.ndarray, *, minimum: int = 1, test: str = "a drift statistic"
) -> bool:
    """Validate two numeric samples; False (with a warning) when the statistic is undefined."""
    for name, values in (("reference", reference), ("current", current)):
        if values.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array, got shape {values.shape}")
        if values.size and not np.isfinite(values).all():
            raise ValueError(f"{name} holds NaN or infinite values; drop them before the test")
    if reference.size == 0 or current.size == 0:
        warnings.warn(
            f"{test} needs values in both samples, got {reference.size} and {current.size}",
            UndefinedStatisticWarning,
            3,
        )
        return False
    if min(reference.size, current.size) < minimum:
        warnings.warn(
            f"{test} needs at least {minimum} values in both samples, got {reference.size} "
            f"and {current.size}",
            UndefinedStatisticWarning,
            3,
        )
        return False
    return True


def _sorted(values: np.ndarray, assume_sorted: bool) -> np.ndarray:
    return values if assume_sorted else np.sort(values)


def ks_p_value(reference: np.ndarray, current: np.ndarray, *, assume_sorted: bool = False) -> float:
    """p-value of the two-sided two-sample Kolmogorov-Smirnov test.

    Uses the asymptotic distribution with n*m/(n+m) effective rows, as scipy's
    `ks_2samp(method="asymp")` does. Ties make the test conservative. Fewer
    than 2 values on a side is NaN with a warning (one value would read as
    certain drift).

    >>> rng = np.random.default_rng(0)
    >>> ks_p_value(rng.normal(size=500), rng.normal(size=500)) > 0.05
    True
    """
    ref, cur = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    if not _check_numeric(ref, cur, minimum=MIN_KS_VALUES, test="the KS test"):
        return float("nan")
    ref, cur = _sorted(ref, assume_sorted), _sorted(cur, assume_sorted)
    n, m = ref.size, cur.size
    points = np.concatenate([ref, cur])
    gap = np.searchsorted(ref, points, side="right") / n - np.searchsorted(cur, points, "right") / m
    statistic = float(np.abs(gap).max())
    effective = max(round(n * m / (n + m)), 1)
    return float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))


def wasserstein_distance_norm(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    assume_sorted: bool = False,
    grid: int = MAX_GRID,
) -> float:
    """Wasserstein-1 distance divided by the reference standard deviation.

    0 means identical distributions; 0.1 is a shift of a tenth of a standard
    deviation. Exact for samples of equal size; otherwise the mean gap between
    the two quantile functions on min(larger size, `grid`) evenly spaced levels
    (an error far below the 0.1 threshold). A constant reference is not
    normalised (the raw distance is returned).

    >>> wasserstein_distance_norm(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]))
    1.224744871391589
    """
    ref, cur = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    if not _check_numeric(ref, cur):
        return float("nan")
    ref, cur = _sorted(ref, assume_sorted), _sorted(cur, assume_sorted)
    if ref.size == cur.size:
        distance = float(np.abs(ref - cur).mean())
    else:
        levels = np.arange(min(max(ref.size, cur.size), grid), dtype=np.int64)
        count = levels.size
        ref_q = ref[((2 * levels + 1) * ref.size) // (2 * count)]
        cur_q = cur[((2 * levels + 1) * cur.size) // (2 * count)]
        distance = float(np.abs(ref_q - cur_q).mean())
    scale = float(ref.std())
    return distance / scale if scale > 0 else distance


def psi_numeric(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    bins: int = 10,
    assume_sorted: bool = False,
) -> float:
    """Population stability index over `bins` reference quantile bins.

    Rules of thumb: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25
    a large one.

    >>> rng = np.random.default_rng(0)
    >>> psi_numeric(rng.normal(size=5000), rng.normal(1.0, size=5000)) > 0.25
    True
    """
    ref, cur = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    if not _check_numeric(ref, cur):
        return float("nan")
    ref, cur = _sorted(ref, assume_sorted), _sorted(cur, assume_sorted)
    edges = np.unique(ref[(np.arange(1, bins) * ref.size) // bins])
    ref_counts = np.diff(np.searchsorted(ref, edges, side="left"), prepend=0, append=ref.size)
    cur_counts = np.diff(np.searchsorted(cur, edges, side="left"), prepend=0, append=cur.size)
    return psi_counts(ref_counts, cur_counts)


def _check_counts(reference_counts: ArrayLike, current_counts: ArrayLike) -> bool:
    ref = np.asarray(reference_counts, dtype=float)
    cur = np.asarray(current_counts, dtype=float)
    if ref.shape != cur.shape or ref.ndim != 1:
        raise ValueError(
            f"counts must be 1-D and aligned on the same categories, got {ref.shape} and "
            f"{cur.shape}"
        )
    for name, counts in (("reference_counts", ref), ("current_counts", cur)):
        if not np.isfinite(counts).all() or (counts < 0).any():
            raise ValueError(f"{name} must be finite and non-negative, got {counts.tolist()[:10]}")
    if ref.sum() == 0 or cur.sum() == 0:
        warnings.warn(
            f"a drift statistic needs counts in both samples, got totals {ref.sum():g} and "
            f"{cur.sum():g}",
            UndefinedStatisticWarning,
            3,
        )
        return False
    return True


def chi_square_p_value(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """p-value of the two-sample chi-square test on the 2 x k contingency table.

    Both rows are samples (the reference counts are not fixed expectations).
    Categories expected fewer than 5 times are pooled into one so the
    chi-square approximation holds; one category left means no evidence (1.0).

    >>> chi_square_p_value([500, 500], [500, 500])
    1.0
    """
    if not _check_counts(reference_counts, current_counts):
        return float("nan")
    table = np.vstack([reference_counts, current_counts]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0  # both samples hold the same single category
    table = _pool_rare(table)
    if table.shape[1] < 2:
        warnings.warn(
            "too few rows for a chi-square test: every category is expected fewer than "
            f"{MIN_EXPECTED:g} times",
            UndefinedStatisticWarning,
            stacklevel=2,
        )
        return float("nan")
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return float(special.chdtrc(table.shape[1] - 1, statistic))


def _pool_rare(table: np.ndarray) -> np.ndarray:
    """Merge the categories whose smaller expected count is below MIN_EXPECTED."""
    smaller = table.sum(axis=1).min() / table.sum()
    rare = table.sum(axis=0) * smaller < MIN_EXPECTED
    if not rare.any():
        return table
    kept, pooled = table[:, ~rare], table[:, rare].sum(axis=1, keepdims=True)
    if pooled.sum() * smaller < MIN_EXPECTED and kept.shape[1] > 1:
        smallest = int(np.argmin(kept.sum(axis=0)))
        pooled = pooled + kept[:, [smallest]]
        kept = np.delete(kept, smallest, axis=1)
    return np.hstack([kept, pooled])


def jensen_shannon_distance(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """Jensen-Shannon distance (natural log) between two category distributions.

    The square root of the JS divergence: 0 for identical shares, at most
    sqrt(ln 2) = 0.83 for disjoint ones; the same as
    `scipy.spatial.distance.jensenshannon`.

    >>> round(jensen_shannon_distance([1, 0], [0, 1]), 4)
    0.8326
    """
    if not _check_counts(reference_counts, current_counts):
        return float("nan")
    p = np.asarray(reference_counts, dtype=float)
    q = np.asarray(current_counts, dtype=float)
    p, q = p / p.sum(), q / q.sum()
    middle = (p + q) / 2
    divergence = (special.rel_entr(p, middle).sum() + special.rel_entr(q, middle).sum()) / 2
    return float(np.sqrt(max(divergence, 0.0)))


def psi_counts(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """Population stability index between two count vectors (categories or bins).

    Empty cells get a share of 1e-4 so a category new in the current window
    gives a large, finite index instead of infinity.

    >>> psi_counts([50, 50], [50, 50])
    0.0
    """
    if not _check_counts(reference_counts, current_counts):
        return float("nan")
    p = np.asarray(reference_counts, dtype=float)
    q = np.asarray(current_counts, dtype=float)
    p = np.maximum(p / p.sum(), PSI_FLOOR)
    q = np.maximum(q / q.sum(), PSI_FLOOR)
    return float(((q - p) * np.log(q / p)).sum())


def adjust_p_values(p_values: ArrayLike, *, correction: Correction) -> np.ndarray:
    """Correct p-values for testing many columns at once.

    `bonferroni` controls the chance of any false alarm (family-wise error);
    `benjamini_hochberg` controls the expected share of false alarms among the
    alarms (false discovery rate) and loses less power; `none` leaves them.
    NaN p-values are left out of the count and stay NaN.

    >>> adjust_p_values([0.01, 0.04], correction="bonferroni").tolist()
    [0.02, 0.08]
    """
    raw = np.asarray(p_values, dtype=float)
    adjusted = raw.copy()
    valid = ~np.isnan(raw)
    count = int(valid.sum())
    if count == 0 or correction == "none":
        return adjusted
    values = raw[valid]
    if correction == "bonferroni":
        adjusted[valid] = np.minimum(values * count, 1.0)
    elif correction == "benjamini_hochberg":
        order = np.argsort(values)
        scaled = values[order] * count / np.arange(1, count + 1)
        stepped = np.minimum.accumulate(scaled[::-1])[::-1]
        result = np.empty(count)
        result[order] = np.minimum(stepped, 1.0)
        adjusted[valid] = result
    else:
        raise ValueError(
            f"unknown correction '{correction}': use bonferroni, benjamini_hochberg or none"
        )
    return adjusted


def choose_method(
    kind: Literal["numeric", "categorical"],
    *,
    n_reference: int,
    n_current: int,
    large_sample_rows: int,
    requested: str = "auto",
) -> Method:
    """The method for a column: `requested` unless "auto", else by sample size.

    Small means the smaller sample has at most `large_sample_rows` values:
    p-value tests there, distances above.
    """
    allowed = (
        ("ks", "wasserstein", "psi")
        if kind == "numeric"
        else ("chi_square", "jensen_shannon", "psi")
    )
    if requested != "auto":
        if requested not in allowed:
            raise ValueError(
                f"method '{requested}' does not apply to a {kind} column: use one "
                f"of {', '.join(allowed)}"
            )
        return requested  # type: ignore[return-value]
    small = min(n_reference, n_current) <= large_sample_rows
    if kind == "numeric":
        return "ks" if small else "wasserstein"
    return "chi_square" if small else "jensen_shannon"


def is_drift(method: str, score: float, *, threshold: float) -> bool:
    """p-value methods drift below the threshold (alpha), distances at or above it."""
    if np.isnan(score):
        raise ValueError("cannot judge drift from a NaN score")
    return score < threshold if method in P_VALUE_METHODS else score >= threshold


def drift_margin(method: str, score: float, *, threshold: float) -> float:
    """How far a score is from drifting, as a ratio: below 1 drifted, just above 1 a near miss.

    p-value methods: score / threshold; distances: threshold / score (inf at 0).

    >>> drift_margin("ks", 0.06, threshold=0.05), drift_margin("psi", 0.1, threshold=0.2)
    (1.2, 2.0)
    """
    if method in P_VALUE_METHODS:
        return score / threshold
    return threshold / score if score > 0 else math.inf
