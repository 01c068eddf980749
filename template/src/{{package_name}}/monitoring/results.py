"""The result of a drift check: per-column verdicts, the dataset verdict, the alert.

`check` builds a `DriftReport` and `report` writes it to reports/drift.json and
drift.html; the type lives here so that `report` needs nothing from `check`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .compare import ColumnResult
from .performance import PerformanceResult
from .profile import ColumnProfile

PREDICTION = "prediction"  # the column of the model's predictions, in the log and the reference


@dataclass(frozen=True)
class DriftReport:
    """Per-column results and the dataset verdict (`reports/drift.json`)."""

    columns: list[ColumnResult]
    share_drifted: float
    dataset_drift: bool
    drift_share: float
    n_reference: int
    n_current: int
    reference_source: str
    current_source: str
    model_version: str | None = None
    performance: PerformanceResult | None = None
    ignored_columns: dict[str, str] = field(default_factory=dict)
    # Anomaly detection: the logged alert rate against the alert budget.
    alert_rate: dict[str, Any] = field(default_factory=dict)
    # Predictions in the current window that are NaN or infinite (ML Test Score N5).
    nonfinite_predictions: int = 0
    checked_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    profiles: tuple[dict[str, ColumnProfile], dict[str, ColumnProfile]] = field(
        default=({}, {}), repr=False, compare=False
    )

    @property
    def prediction_drift(self) -> bool | None:
        found = [c.drifted for c in self.columns if c.name == PREDICTION]
        return found[0] if found else None

    @property
    def performance_drift(self) -> bool:
        return bool(self.performance and self.performance.drifted)

    @property
    def alert(self) -> bool:
        """True when someone should look: dataset drift, a drop of the primary metric,
        an alert rate off its budget, or any NaN or infinite prediction."""
        return (
            self.dataset_drift
            or self.performance_drift
            or bool(self.alert_rate.get("drifted"))
            or self.nonfinite_predictions > 0
        )

    def summary(self) -> str:
        drifted = [c.name for c in self.columns if c.drifted]
        unknown = [c.name for c in self.columns if c.drifted is None]
        lines = [
            f"Drift check: {self.n_current} current rows ({self.current_source}) vs "
            f"{self.n_reference} reference rows ({self.reference_source})",
            f"Drifted columns: {len(drifted)} of {len(self.columns) - len(unknown)} judged "
            f"({self.share_drifted:.0%}; dataset drift at {self.drift_share:.0%}): "
            f"{', '.join(drifted) or 'none'}",
        ]
        if unknown:
            lines.append(f"Not judged (see status): {', '.join(unknown)}")
        if self.performance is not None:
            lines.append(self.performance.summary())
        if self.alert_rate:
            lines.append(self.alert_rate["summary"])
        if self.nonfinite_predictions:
            lines.append(
                f"{self.nonfinite_predictions} prediction(s) are NaN or infinite: the model or "
                "its inputs are numerically broken"
            )
        verdict = "DRIFT" if self.dataset_drift else "no dataset drift"
        lines.append(f"Verdict: {verdict}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "judged": True,  # false, with a `reason`, when the check could not judge
            "columns": {c.name: c.to_json() for c in self.columns},
            "share_drifted": self.share_drifted,
            "dataset_drift": self.dataset_drift,
            "drift_share": self.drift_share,
            "prediction_drift": self.prediction_drift,
            "performance": self.performance.to_json() if self.performance else None,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "reference_source": self.reference_source,
            "current_source": self.current_source,
            "model_version": self.model_version,
            "ignored_columns": self.ignored_columns,
            **({"alert_rate": self.alert_rate} if self.alert_rate else {}),
            "nonfinite_predictions": self.nonfinite_predictions,
            "checked_at": self.checked_at,
        }
