"""A release threshold from the team's data, for metrics in the label's unit.

An RMSE of 8 is strict for a label in hours and meaningless for one in euros,
so the answered threshold of such a metric (`data_scaled` in the metric
registry) cannot survive a change of data. `data infer` proposes the
baseline's value on the team's table instead: a model must at least match
the baseline, and the release gate separately requires it to beat the
baseline on the test split. Metrics on a fixed scale keep their threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..features import encode_frame
from ..metrics import get_metric
from ..schema import FeatureSchema

if TYPE_CHECKING:
    from ..problems import ProblemType


@dataclass(frozen=True)
class ThresholdProposal:
    """A release threshold for the primary metric, and where it comes from."""

    metric: str
    value: float
    reason: str


def propose_threshold(
    frame: pd.DataFrame,
    schema: FeatureSchema,
    problem_type: ProblemType,
    *,
    metric: str,
    labels: np.ndarray,
) -> ThresholdProposal | None:
    """The baseline's `metric` on `frame` (encoded `labels`); None for a fixed-scale metric.

    The baseline is the problem type's own (`fit_baseline`), fitted and scored
    on every row: for RMSE, the mean predictor's RMSE is the label's spread.
    """
    chosen = get_metric(metric, problem_type.name)
    if not chosen.data_scaled:
        return None
    matrix = encode_frame(frame, schema)
    encoded = problem_type.encode_labels(labels)
    groups = frame[schema.group_column].to_numpy() if schema.group_column else None
    baseline = problem_type.fit_baseline(matrix, encoded, schema)
    outputs = problem_type.predict_baseline(baseline, matrix)
    value = problem_type.score(chosen.name, encoded, outputs, groups)
    if not math.isfinite(value):
        return None
    reason = (
        f"the baseline's {chosen.label} on all {len(frame):,} rows "
        f"({problem_type.describe_baseline(baseline)}): a model must at least match it, and "
        "the release gate also requires it to beat the baseline on the test split"
    )
    rounded = _round_leniently(value, lower_is_better=chosen.direction == "lower")
    return ThresholdProposal(chosen.name, rounded, reason)


def _round_leniently(value: float, *, lower_is_better: bool) -> float:
    """`value` to four significant digits, rounded in the direction that lets a model pass."""
    if value == 0:
        return 0.0
    scale = 10.0 ** (3 - math.floor(math.log10(abs(value))))
    rounded = (math.ceil if lower_is_better else math.floor)(value * scale) / scale
    return float(rounded)
