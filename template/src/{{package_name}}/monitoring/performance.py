"""Performance drift: the primary metric on a labelled window against the model's.

Labels usually arrive later than predictions. When a current table carries the
label column next to `prediction`, the primary metric is computed on it and
compared with the model's validation value saved at training time; a drop of
more than `monitoring.performance_tolerance` (relative) raises an alarm.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..config import ProjectConfig
from ..metrics import is_better


@dataclass(frozen=True)
class PerformanceResult:
    """The primary metric now and at training time, and whether it dropped too far."""

    metric: str
    direction: str
    status: str
    drifted: bool | None
    message: str
    reference: float | None = None
    current: float | None = None
    tolerance: float | None = None
    n_labelled: int = 0

    def summary(self) -> str:
        return f"Performance ({self.metric}): {self.status}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in data.items()
        }


def performance_drift(
    current: pd.DataFrame, config: ProjectConfig, model: Any | None
) -> PerformanceResult | None:
    """The check, or None when the window has no labels (the usual case)."""
    label = config.feature_schema.label.name
    if label not in current.columns or "prediction" not in current.columns:
        return None
    metric_name = config.metric.primary
    result = PerformanceResult(
        metric=metric_name,
        direction=config.metric.direction,
        status="insufficient data",
        drifted=None,
        message="",
    )
    labelled = current[current[label].notna() & current["prediction"].notna()]
    n = len(labelled)
    reference = _reference_value(model)
    if reference is None:
        return _with(result, n_labelled=n, message="the model has no saved validation value")
    if n < config.monitoring.min_rows:
        return _with(
            result,
            n_labelled=n,
            reference=reference,
            message=f"{n} labelled rows, fewer than monitoring.min_rows",
        )
    value = _metric_value(labelled, config)
    if value is None or not math.isfinite(value):
        return _with(
            result,
            n_labelled=n,
            reference=reference,
            message=(
                f"{metric_name} cannot be computed from the logged predictions of this window"
            ),
        )
    tolerance = config.monitoring.performance_tolerance
    allowed = abs(reference) * tolerance
    worse = abs(value - reference) > allowed and is_better(
        reference, value, direction=config.metric.direction
    )
    return PerformanceResult(
        metric=metric_name,
        direction=config.metric.direction,
        status="drift" if worse else "ok",
        drifted=worse,
        message=(
            f"{value:.4g} now vs {reference:.4g} at validation "
            f"({config.metric.direction} is better, tolerance {tolerance:.0%})"
        ),
        reference=reference,
        current=value,
        tolerance=tolerance,
        n_labelled=n,
    )


def _with(result: PerformanceResult, **changes: Any) -> PerformanceResult:
    return PerformanceResult(**{**asdict(result), **changes})


def _reference_value(model: Any | None) -> float | None:
    if model is None:
        return None
    value = model.metadata.get("metrics", {}).get("validation", {}).get("primary")
    return float(value) if value is not None else None


def _metric_value(labelled: pd.DataFrame, config: ProjectConfig) -> float | None:
    from ..metrics import compute

    problem = config.problem.type
    y_true = labelled[config.feature_schema.label.name].to_numpy(dtype=float)
    scores = labelled["prediction"].to_numpy(dtype=float)
    if problem == "multiclass_classification":
        if config.metric.primary == "log_loss":
            return None  # the log keeps the predicted class, not the probabilities
        classes = int(config.problem.n_classes or config.feature_schema.label.n_classes or 2)
        codes = np.clip(scores.astype(int), 0, classes - 1)
        scores = np.eye(classes)[codes]
    groups = None
    group_column = config.feature_schema.group_column
    if problem == "ranking":
        if not group_column or group_column not in labelled.columns:
            return None
        groups = labelled[group_column].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compute(
            config.metric.primary,
            problem,
            y_true,
            scores,
            groups=groups,
            k=config.problem.ranking_k or 10,
        )
