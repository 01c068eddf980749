"""Paired bootstrap: is one model better than another on the same rows?

Two models scored on the same test window share its luck: an easy window
flatters both. Resampling the rows (ranking: whole queries) once and scoring
both models on each resample measures the difference with that luck
cancelled, so a small real gain can be told from noise, and a large gain
from a lucky draw.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ._base import PerQuery
from .bootstrap import percentile_interval
from .ranking import ranking_per_query
from .registry import compute, gain, get_metric


@dataclass(frozen=True)
class PairedGain:
    """How much better `candidate` is than `reference` (positive: better), with its interval."""

    gain: float
    low: float
    high: float
    level: float
    resamples: int

    def significant(self, min_gain: float = 0.0) -> bool:
        """True when the whole interval lies above `min_gain`."""
        return math.isfinite(self.low) and self.low > min_gain


def paired_gain(
    name: str,
    problem_type: str,
    y_true: np.ndarray,
    candidate: np.ndarray,
    reference: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    k: int = 10,
    resamples: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> PairedGain:
    """The gain of `candidate` over `reference` in metric `name`, and its percentile interval."""
    metric = get_metric(name, problem_type)
    point = gain(
        compute(name, problem_type, y_true, candidate, groups=groups, k=k),
        compute(name, problem_type, y_true, reference, groups=groups, k=k),
        direction=metric.direction,
    )
    rng = np.random.default_rng(seed)
    if isinstance(metric.bootstrap, PerQuery):
        if groups is None:
            raise ValueError(f"{name} needs the query id of each row (groups)")
        a = ranking_per_query(name, y_true, candidate, groups=groups, k=k)
        b = ranking_per_query(name, y_true, reference, groups=groups, k=k)
        kept = ~(np.isnan(a) | np.isnan(b))
        per_query = (a - b)[kept] if metric.direction == "higher" else (b - a)[kept]
        if per_query.size == 0:
            return PairedGain(point, math.nan, math.nan, level, resamples)
        draws = rng.integers(0, per_query.size, (resamples, per_query.size))
        values = per_query[draws].mean(axis=1)
    else:
        n = len(y_true)
        values = np.empty(resamples)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a resample with one class is NaN, then dropped
            for i in range(resamples):
                rows = rng.integers(0, n, n)
                values[i] = gain(
                    compute(name, problem_type, y_true[rows], candidate[rows], k=k),
                    compute(name, problem_type, y_true[rows], reference[rows], k=k),
                    direction=metric.direction,
                )
    low, high = percentile_interval(values, level)
    return PairedGain(float(point), low, high, level, resamples)
