"""Offline metrics: one function per metric, a registry with direction and range, the bootstrap.

- `registry`: the `Metric` table, `get_metric` and `compute`; the one place
  that knows a metric's direction, range and default release threshold.
- `classification`, `regression`, `ranking`: the math, each metric written
  once (numpy only, so importing this package is cheap).
- `bootstrap`: confidence intervals from the same definitions.

The rule for bad inputs: invalid input (NaN or infinite values, a wrong
shape, labels outside their range) raises a ValueError that names the
argument; an undefined result (one class only, constant labels for R squared,
no query with a relevant item) is NaN with an UndefinedMetricWarning.
"""

from ._base import UndefinedMetricWarning
from .bootstrap import bootstrap_interval, bootstrap_values, clustered_interval
from .classification import (
    accuracy_score,
    binary_log_loss,
    brier_loss,
    macro_f1_score,
    multiclass_log_loss,
    pr_auc_score,
    roc_auc_score,
)
from .ranking import (
    map_at_k_score,
    mrr_score,
    ndcg_at_k_score,
    ranking_per_query,
    recall_at_k_score,
)
from .registry import (
    METRICS,
    Direction,
    Metric,
    check_inputs,
    compute,
    gain,
    get_metric,
    is_better,
    metrics_for,
    passes,
)
from .regression import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    r2_score,
    root_mean_squared_error,
)

__all__ = [
    "METRICS",
    "Direction",
    "Metric",
    "UndefinedMetricWarning",
    "accuracy_score",
    "binary_log_loss",
    "bootstrap_interval",
    "bootstrap_values",
    "brier_loss",
    "check_inputs",
    "clustered_interval",
    "compute",
    "gain",
    "get_metric",
    "is_better",
    "macro_f1_score",
    "map_at_k_score",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "metrics_for",
    "mrr_score",
    "multiclass_log_loss",
    "ndcg_at_k_score",
    "passes",
    "pr_auc_score",
    "r2_score",
    "ranking_per_query",
    "recall_at_k_score",
    "roc_auc_score",
    "root_mean_squared_error",
]
