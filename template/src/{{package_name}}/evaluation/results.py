"""What an evaluation produces: the scored test split and the gate's verdict.

Result types only, so the harness, the HTML report, the model card and the
engines that score the test split can all use them without importing each
other. The direction logic is the metric registry's (`metrics.reaches`,
`metrics.improves`), never re-derived here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..metrics import Direction, gain, is_better, passes


@dataclass(frozen=True)
class TestSet:
    """The test split, scored by the model and by the baseline."""

    __test__ = False  # not a pytest test class, despite the name

    frame: pd.DataFrame
    labels: np.ndarray
    predictions: np.ndarray
    baseline: np.ndarray
    groups: np.ndarray | None


@dataclass(frozen=True)
class EvaluationResult:
    """The gate's verdict and everything behind it."""

    version: str
    metric: str
    direction: Direction
    value: float
    ci_low: float
    ci_high: float
    baseline: float
    threshold: float
    gate_passed: bool
    secondary: dict[str, float]
    slices: dict[str, dict[str, dict[str, Any]]]
    rows: int
    baseline_secondary: dict[str, float] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    # What the decision rule does on the test rows (anomaly detection: the alert budget).
    operating_point: dict[str, Any] = field(default_factory=dict)
    unjudged: bool = False  # no labelled test row (anomaly detection without labels)
    # What the slices or the protected groups missed (metric.slice_gates, max_group_gap).
    slice_failures: list[str] = field(default_factory=list)
    # Per protected column: each group's metric, the best-worst gap, parity rates.
    fairness: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def reaches_threshold(self) -> bool:
        return passes(self.value, self.threshold, direction=self.direction)

    @property
    def beats_baseline(self) -> bool:
        if not math.isfinite(self.baseline):
            return True
        return is_better(self.value, self.baseline, direction=self.direction)

    @property
    def lift(self) -> float:
        """Relative improvement over the baseline (positive is better, either direction)."""
        if not self.baseline or not math.isfinite(self.baseline):
            return math.nan
        return gain(self.value, self.baseline, direction=self.direction) / abs(self.baseline)

    def to_json(self) -> dict[str, Any]:
        """The stable keys of reports/evaluation.json."""
        return {
            "metric": self.metric,
            "direction": self.direction,
            "value": finite_or_none(self.value),
            "ci_low": finite_or_none(self.ci_low),
            "ci_high": finite_or_none(self.ci_high),
            "baseline": finite_or_none(self.baseline),
            "threshold": self.threshold,
            "gate_passed": self.gate_passed,
            "secondary": {k: finite_or_none(v) for k, v in self.secondary.items()},
            "slices": self.slices,
            "slice_failures": self.slice_failures,
            "fairness": self.fairness,
            **({"operating_point": self.operating_point} if self.operating_point else {}),
        }

    def summary(self) -> str:
        verdict = "PASSED" if self.gate_passed else "FAILED"
        sign = ">=" if self.direction == "higher" else "<="
        gate = (
            f"  gate: nothing to judge {self.metric} on -> PASSED UNJUDGED"
            if self.unjudged
            else f"  gate: {self.metric} {sign} {self.threshold}: "
            f"{'yes' if self.reaches_threshold else 'NO'}; beats the baseline: "
            f"{'yes' if self.beats_baseline else 'NO'}; slices and groups: "
            f"{'NO' if self.slice_failures else 'yes'} -> {verdict}"
        )
        lines = [
            f"Model {self.version} on {self.rows} test rows:",
            f"  {self.metric} = {self.value:.4f} (95% CI {self.ci_low:.4f} to {self.ci_high:.4f})",
            f"  baseline {self.baseline:.4f}, lift {self.lift:+.1%}",
            gate,
        ]
        lines += [f"  {name} = {value:.4f}" for name, value in self.secondary.items()]
        lines += [f"  slice gate: {failure}" for failure in self.slice_failures]
        for column, groups in self.fairness.items():
            if groups["gap"] is not None:
                lines.append(
                    f"  protected {column}: worst group {groups['worst']}, "
                    f"{groups['gap']:.4f} behind {groups['best']}"
                )
        lines += [f"  {line}" for line in self.operating_point.get("summary", [])]
        if self.unjudged:
            lines.append(
                "  no labelled row in the test split: quality is not measured and the gate "
                "passes unjudged; label some alerts (`labels ingest`) so the next model is judged"
            )
        return "\n".join(lines)


def release_gate(value: float, *, baseline: float, threshold: float, direction: Direction) -> bool:
    """Pass only when `value` reaches `threshold` AND is strictly better than `baseline`.

    An undefined value (NaN) never passes; an undefined baseline does not block.
    """
    if not math.isfinite(value):
        return False
    beats = not math.isfinite(baseline) or is_better(value, baseline, direction=direction)
    return passes(value, threshold, direction=direction) and beats


def finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN: an undefined number is written as null."""
    return float(value) if value is not None and math.isfinite(value) else None
