"""How long the bootstrap interval takes on synthetic predictions (`<cli> bench bootstrap`)."""

from __future__ import annotations

import time

import numpy as np

from ..metrics import bootstrap_interval


def benchmark(
    *,
    rows: int = 1_000_000,
    resamples: int = 1000,
    metric: str,
    problem_type: str,
    k: int = 10,
    n_classes: int = 4,
    group_size: int = 50,
) -> float:
    """Seconds to bootstrap `metric` on `rows` synthetic predictions (data not timed)."""
    rng = np.random.default_rng(0)
    groups = None
    if problem_type == "binary_classification":
        y_true = (rng.random(rows) < 0.15).astype(int)
        y_score = np.clip(0.15 + 0.3 * y_true + rng.normal(0, 0.2, rows), 0.001, 0.999)
    elif problem_type == "multiclass_classification":
        y_true = rng.integers(0, n_classes, rows)
        y_score = rng.dirichlet(np.ones(n_classes), rows)
    elif problem_type == "regression":
        y_true = rng.gamma(4.0, 10.0, rows)
        y_score = y_true + rng.normal(0, 5, rows)
    else:
        y_true = rng.integers(0, 5, rows)
        y_score = y_true + rng.normal(0, 2, rows)
        groups = np.arange(rows) // group_size
    started = time.perf_counter()
    bootstrap_interval(
        metric, problem_type, y_true, y_score, groups=groups, k=k, resamples=resamples
    )
    return time.perf_counter() - started
