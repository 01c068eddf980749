"""The metric registry: the one place that knows each metric's direction and range.

Every other module asks it: the config loader checks metric names and the
release threshold against it, the release gate and the drift monitor ask
`passes` and `is_better`, the bootstrap asks how a metric is resampled.
copier.yml keeps a copy of this table to render and validate the answers
(`metric_catalog`, `metric_choices`); the template's tests prove the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import anomaly, classification, forecasting, ranking, regression
from ._base import Bootstrap, MetricMath, PerQuery

Direction = Literal["higher", "lower"]

BINARY, MULTICLASS = "binary_classification", "multiclass_classification"
REGRESSION, RANKING = "regression", "ranking"
ANOMALY, FORECASTING = "anomaly_detection", "forecasting"


def is_better(value: float, other: float, *, direction: str) -> bool:
    """True when `value` is strictly better than `other` (NaN is never better)."""
    if direction == "higher":
        return value > other
    if direction == "lower":
        return value < other
    raise ValueError(f"direction must be 'higher' or 'lower', got {direction!r}")


def passes(value: float, threshold: float, *, direction: str) -> bool:
    """True when `value` reaches `threshold`: `passes(0.8, 0.75, direction="higher")`."""
    return is_better(value, threshold, direction=direction) or value == threshold


def gain(value: float, other: float, *, direction: str) -> float:
    """How much better `value` is than `other` (negative when worse), in the metric's unit."""
    return value - other if is_better(1.0, 0.0, direction=direction) else other - value


@dataclass(frozen=True)
class Metric:
    """A metric: what it applies to, which way is better, its range and its math.

    `function(y_true, y_score)` (ranking: also `groups=`, `k=`) is the point
    value; `bootstrap` says how the bootstrap resamples it. `data_scaled`
    metrics are in the label's unit (RMSE in minutes, say), so no threshold
    fits every data set: `data infer` proposes one from the baseline instead.
    """

    name: str
    label: str
    problem_types: tuple[str, ...]
    direction: Direction
    low: float | None
    high: float | None
    default_threshold: float
    function: Callable[..., float]
    bootstrap: Bootstrap
    data_scaled: bool = False

    def is_better(self, value: float, other: float) -> bool:
        """True when `value` is strictly better than `other`."""
        return is_better(value, other, direction=self.direction)

    def passes(self, value: float, threshold: float) -> bool:
        """True when `value` reaches the release threshold."""
        return passes(value, threshold, direction=self.direction)

    def in_range(self, value: float) -> bool:
        """True when the metric can take `value` (NaN never)."""
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        return low <= value <= high

    @property
    def range_text(self) -> str:
        """The range for messages: '0 to 1', '-inf to 1', '0 to inf'."""
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        return f"{low:g} to {high:g}"


# One row per metric, in the order of each problem type's choices (the first is
# the default primary metric): problem type, name, label, direction, low, high,
# default release threshold, whether the value is in the label's unit.
# Multiclass log loss shares the binary name.
_CATALOG: tuple[tuple[str, str, str, Direction, float | None, float | None, float, bool], ...] = (
    (BINARY, "roc_auc", "ROC AUC", "higher", 0.0, 1.0, 0.75, False),
    (BINARY, "pr_auc", "PR AUC (average precision)", "higher", 0.0, 1.0, 0.35, False),
    (BINARY, "log_loss", "log loss", "lower", 0.0, None, 0.60, False),
    (BINARY, "brier", "Brier score", "lower", 0.0, 1.0, 0.12, False),
    (MULTICLASS, "macro_f1", "macro F1", "higher", 0.0, 1.0, 0.65, False),
    (MULTICLASS, "accuracy", "accuracy", "higher", 0.0, 1.0, 0.70, False),
    (MULTICLASS, "log_loss", "log loss", "lower", 0.0, None, 0.60, False),
    (REGRESSION, "rmse", "RMSE", "lower", 0.0, None, 8.0, True),
    (REGRESSION, "mae", "MAE", "lower", 0.0, None, 6.0, True),
    (REGRESSION, "mape", "MAPE", "lower", 0.0, None, 0.20, False),
    (REGRESSION, "r2", "R squared", "higher", None, 1.0, 0.65, False),
    (RANKING, "ndcg_at_k", "NDCG@k", "higher", 0.0, 1.0, 0.50, False),
    (RANKING, "map_at_k", "MAP@k", "higher", 0.0, 1.0, 0.40, False),
    (RANKING, "mrr", "MRR", "higher", 0.0, 1.0, 0.70, False),
    (RANKING, "recall_at_k", "recall@k", "higher", 0.0, 1.0, 0.50, False),
    (ANOMALY, "pr_auc", "PR AUC (average precision)", "higher", 0.0, 1.0, 0.35, False),
    (ANOMALY, "roc_auc", "ROC AUC", "higher", 0.0, 1.0, 0.75, False),
    (FORECASTING, "mase", "MASE", "lower", 0.0, None, 1.0, False),
    (FORECASTING, "smape", "sMAPE", "lower", 0.0, 2.0, 0.30, False),
    (FORECASTING, "rmsse", "RMSSE", "lower", 0.0, None, 1.2, False),
)
# The math lives with its family: the point value and how the bootstrap resamples it.
_MATH: dict[str, dict[str, MetricMath]] = {
    BINARY: classification.BINARY_MATH,
    MULTICLASS: classification.MULTICLASS_MATH,
    REGRESSION: regression.REGRESSION_MATH,
    RANKING: ranking.RANKING_MATH,
    ANOMALY: anomaly.ANOMALY_MATH,
    FORECASTING: forecasting.FORECASTING_MATH,
}
METRICS: tuple[Metric, ...] = tuple(
    Metric(name, label, (problem,), direction, low, high, threshold, *_MATH[problem][name], scaled)
    for problem, name, label, direction, low, high, threshold, scaled in _CATALOG
)


def metrics_for(problem_type: str) -> tuple[Metric, ...]:
    """The metrics of `problem_type`, in order; the first is the default primary metric."""
    return tuple(m for m in METRICS if problem_type in m.problem_types)


def get_metric(name: str, problem_type: str) -> Metric:
    """The metric `name` of `problem_type` (log_loss, pr_auc and roc_auc are shared by name)."""
    named = [m for m in METRICS if m.name == name]
    if not named:
        raise KeyError(f"unknown metric '{name}'; known: {sorted({m.name for m in METRICS})}")
    for metric in named:
        if problem_type in metric.problem_types:
            return metric
    raise KeyError(f"metric '{name}' does not apply to {problem_type}")


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
    if isinstance(metric.bootstrap, PerQuery):
        if groups is None:
            raise ValueError(f"{name} needs the query id of each row (groups)")
        return metric.function(y_true, y_score, groups=groups, k=k)
    return metric.function(y_true, y_score)


def check_inputs(
    problem_type: str,
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    k: int = 10,
) -> None:
    """Raise the ValueError every metric of `problem_type` would raise for these inputs.

    For code that reads the inputs without calling a metric.
    """
    if problem_type == BINARY:
        classification._check_binary(y_true, y_score)
    elif problem_type == MULTICLASS:
        classification._check_multiclass(y_true, y_score)
    elif problem_type in (REGRESSION, FORECASTING):
        regression._check_regression(y_true, y_score)
    elif problem_type == ANOMALY:
        classification._check_binary(*anomaly.labelled_rows(y_true, y_score))
    elif problem_type == RANKING:
        if groups is None:
            raise ValueError("ranking metrics need the query id of each row (groups)")
        ranking._check_ranking(y_true, y_score, groups, k)
    else:
        raise KeyError(f"unknown problem type '{problem_type}'")
