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

import pandas as pd

from ..config import ProjectConfig
from ..metrics import gain


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
    reference = reference_value(model)
    if reference is None:
        return _with(result, n_labelled=n, message="the model has no saved validation value")
    if n < config.monitoring.min_rows:
        return _with(
            result,
            n_labelled=n,
            reference=reference,
            message=f"{n} labelled rows, fewer than monitoring.min_rows",
        )
    value = metric_value(labelled, config)
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
    worse = dropped(value, reference, config)
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


def dropped(value: float, reference: float, config: ProjectConfig) -> bool:
    """Whether `value` is worse than `reference` by more than `monitoring.performance_tolerance`.

    The tolerance is relative to the reference, in the metric's own direction.
    """
    allowed = abs(reference) * config.monitoring.performance_tolerance
    return bool(gain(value, reference, direction=config.metric.direction) < -allowed)


def reference_value(model: Any | None) -> float | None:
    """The model's primary metric on its validation split, saved at training time."""
    if model is None:
        return None
    value = model.metadata.get("metrics", {}).get("validation", {}).get("primary")
    return float(value) if value is not None else None


def metric_value(labelled: pd.DataFrame, config: ProjectConfig) -> float | None:
    """The primary metric of labelled log rows; None when the log cannot give it.

    The log keeps one number per row (multiclass: the class), so a metric of
    the probabilities (multiclass log loss) cannot be computed from it.
    """
    problem = config.problem_type
    if problem.output_width > 1 and config.metric.primary == "log_loss":
        return None  # the log keeps the predicted class, not the probabilities
    y_true = labelled[config.feature_schema.label.name].to_numpy(dtype=float)
    outputs = problem.logged_outputs(labelled["prediction"].to_numpy(dtype=float))
    groups = None
    group_column = config.feature_schema.group_column
    if problem.grouped:
        if not group_column or group_column not in labelled.columns:
            return None
        groups = labelled[group_column].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return problem.score(config.metric.primary, y_true, outputs, groups)
