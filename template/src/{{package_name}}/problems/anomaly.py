"""Anomaly detection: an anomaly score per row, and an alert when it crosses the budget's threshold.

Most rows are never labelled, so the learner does not need labels: an
Isolation Forest (`learner: isolation_forest`) scores how easily random
splits isolate a row, and is written as a LightGBM model (isolation.py) so
the registry, serving and batch scoring treat it like every other model.
With labels on most rows, `learner: lightgbm` trains a supervised detector on
the labelled rows instead; it learns the fault kinds people confirmed.

The alert threshold comes from the alert budget, not from a score cut-off
picked by hand: training sets it on the validation scores so that
`alert_budget_per_day` of `rows_per_day` rows are flagged. The baseline is a
robust z-score: the largest |value - median| / (1.4826 MAD) over the numeric
features. The sample world is machine sensors with three kinds of fault.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd
from pydantic import Field

from ..metrics.anomaly import alert_rate_verdict, budget_report, budget_threshold
from ..schema import FeatureSchema, LabelSpec
from .base import (
    Baseline,
    Figure,
    Probability,
    ProblemBase,
    ProblemError,
    ValueKind,
    lookup,
    with_missing,
)

if TYPE_CHECKING:
    from ..evaluation.results import TestSet

# The least share of anomalies in rows drawn from a team's schema (synthetic.py).
SYNTHETIC_SHARE = 0.05
# The sample world plants `contamination` of its rows as faults, but at least
# this many (up to this share), so a small sample's test split still holds
# labelled faults to measure on.
MIN_SAMPLE_FAULTS = 50
MAX_SAMPLE_SHARE = 0.05
MACHINES = ["pump", "compressor", "press", "conveyor"]
# MAD -> standard deviation for normal data.
MAD_SCALE = 1.4826


@dataclass(frozen=True)
class AnomalyDetection(ProblemBase):
    name: ClassVar[str] = "anomaly_detection"
    label: ClassVar[str] = "anomaly detection"
    label_kind: ClassVar[str] = "binary"
    prediction_kind: ClassVar[ValueKind] = "numeric"
    prediction_meaning: ClassVar[str] = "The anomaly score (higher is stranger)"
    explains_rows: ClassVar[bool] = True
    labels_optional: ClassVar[bool] = True

    alert_budget_per_day: int = 50
    rows_per_day: int = 10_000
    labels_available: str = "some"
    contamination: float = 0.005
    learner: str = "isolation_forest"
    top_features: int = 3
    # Set from the model's metadata (`with_decision`); None before training.
    threshold: float | None = None
    feature_names: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: dict[str, Any], schema: FeatureSchema) -> Self:
        if not schema.label.nullable:
            raise ProblemError(
                f"anomaly detection needs `nullable: true` on the label '{schema.label.name}' "
                "(configs/schema.yaml): most rows are never inspected, so most labels are empty"
            )
        asked = {f.name for f in dataclasses.fields(cls)} - {"threshold", "feature_names"}
        chosen = {key: settings[key] for key in asked if settings.get(key) is not None}
        problem = cls(**chosen, feature_names=tuple(schema.feature_names))
        if problem.alert_budget_per_day >= problem.rows_per_day:
            raise ProblemError(
                f"problem.alert_budget_per_day ({problem.alert_budget_per_day}) must be less than "
                f"data.rows_per_day ({problem.rows_per_day}); otherwise every row is an alert"
            )
        return problem

    @property
    def alert_share(self) -> float:
        """The share of rows the budget lets become alerts."""
        return self.alert_budget_per_day / self.rows_per_day

    # ------------------------------------------------------------ training ---

    def encode_labels(self, values: np.ndarray) -> np.ndarray:
        """1 anomaly, 0 normal, NaN not labelled."""
        return np.asarray(values, dtype=float)

    def check_training_labels(self, labels: np.ndarray) -> None:
        if self.learner != "lightgbm":
            return  # the Isolation Forest needs no labels
        known = labels[~np.isnan(labels)]
        if len(np.unique(known)) < 2:
            raise ProblemError(
                "learner: lightgbm needs labelled anomalies and labelled normal rows in the "
                f"training split ({len(known)} labelled rows); use learner: isolation_forest"
            )

    def trainable_rows(self, labels: np.ndarray) -> np.ndarray | None:
        """The supervised learner trains on the labelled rows only."""
        return ~np.isnan(labels) if self.learner == "lightgbm" else None

    def lightgbm_params(self) -> dict[str, Any]:
        return {"objective": "binary"}

    def fit_own_model(
        self, matrix: np.ndarray, feature_names: list[str], *, seed: int
    ) -> str | None:
        """The Isolation Forest as a LightGBM model string; None for the supervised learner."""
        if self.learner == "lightgbm":
            return None
        from .isolation import fit_isolation_forest

        model, _summary = fit_isolation_forest(matrix, seed=seed, feature_names=feature_names)
        return model

    def decision(
        self,
        validation_outputs: np.ndarray,
        validation_labels: np.ndarray,
        validation_features: pd.DataFrame | None,
    ) -> dict[str, Any]:
        """The alert threshold: the budget's share of the validation rows lies above it."""
        threshold = budget_threshold(validation_outputs, self.alert_share)
        return {"alert_threshold": threshold, "alert_share": self.alert_share}

    def with_decision(self, decision: dict[str, Any]) -> Self:
        threshold = decision.get("alert_threshold")
        return dataclasses.replace(self, threshold=None if threshold is None else float(threshold))

    def operating_point(
        self,
        labels: np.ndarray,
        outputs: np.ndarray,
        baseline_outputs: np.ndarray,
        frame: pd.DataFrame | None = None,
    ) -> dict[str, Any]:
        """Precision and recall at the alert budget (model vs baseline) and the alert rate."""
        return budget_report(
            labels,
            outputs,
            baseline_outputs,
            budget=self.alert_budget_per_day,
            rows_per_day=self.rows_per_day,
            threshold=self.threshold,
        )

    def alert_rate_check(self, logged_points: np.ndarray) -> dict[str, Any]:
        """Alerts among the logged rows vs the budget: too many swamps people, none is blind."""
        if self.threshold is None or len(logged_points) == 0:
            return {}
        return alert_rate_verdict(logged_points, self.threshold, self.alert_share)

    def score(
        self, metric: str, labels: np.ndarray, outputs: np.ndarray, groups: np.ndarray | None
    ) -> float:
        """The metric on the labelled rows; NaN, quietly, when no row is labelled.

        No labels is a normal state here (`labels_available: none`), not a
        surprise worth a warning on every call.
        """
        if self.without_labels(labels):
            return float("nan")
        return super().score(metric, labels, outputs, groups)

    # ------------------------------------------------------------ baseline ---

    def fit_baseline(
        self, matrix: np.ndarray, labels: np.ndarray, schema: FeatureSchema
    ) -> Baseline:
        numeric = [i for i, spec in enumerate(schema.features) if spec.kind == "numeric"]
        values = matrix[:, numeric]
        with np.errstate(all="ignore"):
            medians = np.nanmedian(values, axis=0) if len(values) else np.zeros(len(numeric))
            mads = np.nanmedian(np.abs(values - medians), axis=0) * MAD_SCALE
        medians, mads = np.nan_to_num(medians), np.nan_to_num(mads)
        return {
            "kind": "robust_z",
            "columns": numeric,
            "medians": medians.tolist(),
            "scales": np.where(mads > 0, mads, 1.0).tolist(),
        }

    def predict_baseline(self, baseline: Baseline, matrix: np.ndarray) -> np.ndarray:
        """The largest robust |z| of a row, squashed into [0, 1) like the model's score."""
        if not baseline["columns"] or len(matrix) == 0:
            return np.zeros(len(matrix))
        values = np.asarray(matrix, dtype=float)[:, baseline["columns"]]
        z = np.abs(values - np.asarray(baseline["medians"])) / np.asarray(baseline["scales"])
        largest = np.max(np.nan_to_num(z, nan=0.0), axis=1)
        return largest / (1.0 + largest)

    def describe_baseline(self, baseline: Baseline) -> str:
        return f"robust z-score (median/MAD) over {len(baseline['columns'])} numeric features"

    # ---------------------------------------------------------- the sample ---

    def sample(self, rng: np.random.Generator, rows: int) -> pd.DataFrame:
        return sensor_world(rng, rows, self.contamination, self.labels_available)

    def labels_from_signal(
        self,
        rng: np.random.Generator,
        signal: np.ndarray,
        label: LabelSpec,
        groups: np.ndarray | None,
    ) -> np.ndarray:
        """The rows with the highest hidden score are the anomalies; some labels are kept.

        At least one row in twenty, so that a test split of a few hundred rows
        still holds labelled anomalies to measure on.
        """
        strength = np.nan_to_num(signal[:, 0])
        cut = np.quantile(strength, 1 - max(self.contamination, SYNTHETIC_SHARE))
        anomalous = (strength >= cut).astype(float)
        return np.where(reviewed(rng, anomalous, self.labels_available), anomalous, np.nan)

    # ------------------------------------------------------------- outputs ---

    def rows_to_explain(self, outputs: np.ndarray) -> np.ndarray:
        """The alerts: the rows someone will look at, and ask why."""
        return self.flags(outputs)

    def flags(self, outputs: np.ndarray) -> np.ndarray:
        threshold = np.inf if self.threshold is None else self.threshold
        return np.asarray(outputs, dtype=float) >= threshold

    def response_fields(
        self, outputs: np.ndarray, contributions: np.ndarray | None = None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "scores": np.asarray(outputs, dtype=float).tolist(),
            "is_anomaly": self.flags(outputs).tolist(),
        }
        if contributions is not None:
            fields["top_features"] = self.top_contributors(contributions)
        return fields

    def response_field_types(self) -> dict[str, Any]:
        return {
            "scores": (
                list[Probability],
                Field(description="The anomaly score of each row (0 to 1, higher is stranger)"),
            ),
            "is_anomaly": (
                list[bool],
                Field(description="Whether the score reaches the alert-budget threshold"),
            ),
            "top_features": (
                list[list[str]],
                Field(
                    description="Per alert, the features that pushed its score up the most "
                    "(empty for rows that are not alerts)"
                ),
            ),
        }

    def output_columns(
        self, outputs: np.ndarray, contributions: np.ndarray | None = None
    ) -> list[tuple[str, np.ndarray]]:
        columns = [
            ("prediction", np.asarray(outputs, dtype=np.float64)),
            ("is_anomaly", self.flags(outputs)),
        ]
        if contributions is not None:
            names = np.asarray([", ".join(top) for top in self.top_contributors(contributions)])
            columns.append(("top_features", names.astype(object)))
        return columns

    def top_contributors(self, contributions: np.ndarray) -> list[list[str]]:
        """Names of the features with the largest positive contributions, per row."""
        names = np.asarray(self.feature_names, dtype=object)
        order = np.argsort(-contributions, axis=1, kind="stable")[:, : self.top_features]
        return [
            [str(names[i]) for i in row if contributions[r, i] > 0] for r, row in enumerate(order)
        ]

    def figures(self, test: TestSet) -> list[Figure]:
        from ..evaluation import plots

        known = ~np.isnan(test.labels)
        y, p = test.labels[known], test.predictions[known]
        if len(np.unique(y)) < 2:
            return [
                ("Score distribution", plots.score_histogram, (test.predictions, self.threshold))
            ]
        return [
            ("Precision-recall curve (labelled rows)", plots.precision_recall, (y, p)),
            ("Score distribution", plots.score_histogram, (test.predictions, self.threshold)),
        ]


def reviewed(rng: np.random.Generator, anomalous: np.ndarray, labels_available: str) -> np.ndarray:
    """Which rows someone labelled: alerts more often than quiet rows (none: no row at all)."""
    chance_anomaly, chance_normal = {
        "none": (0.0, 0.0),
        "some": (0.6, 0.2),
        "most": (0.97, 0.95),
    }[labels_available]
    chance = np.where(anomalous == 1, chance_anomaly, chance_normal)
    return rng.random(len(anomalous)) < chance


def sensor_world(
    rng: np.random.Generator, n: int, contamination: float, labels_available: str
) -> pd.DataFrame:
    """Machine readings over half a year: a daily load cycle, and three kinds of fault.

    Faults: a spike (one reading far off), a stall (the motor draws a high
    current at low speed: each value is plausible alone, the pair is not), and
    sensors whose pressure reading drifts away over the second half of the period.
    """
    machine = rng.choice(MACHINES, size=n, p=[0.35, 0.25, 0.2, 0.2])
    site = rng.choice(["north", "south", "east"], size=n, p=[0.5, 0.3, 0.2])
    sensor = rng.integers(0, 200, n)
    day = rng.random(n)
    hour = rng.integers(0, 24, n).astype(float)
    load = np.clip(0.55 + 0.3 * np.sin(2 * np.pi * (hour - 8) / 24) + rng.normal(0, 0.08, n), 0, 1)
    speed = {"pump": 2900.0, "compressor": 3500.0, "press": 900.0, "conveyor": 1450.0}
    rpm = lookup(machine, speed)
    rpm = rpm * (0.55 + 0.5 * load) + rng.normal(0, 30, n)
    amps = {"pump": 60.0, "compressor": 110.0, "press": 150.0, "conveyor": 35.0}
    current = lookup(machine, amps)
    current = current * (0.35 + 0.75 * load) + rng.normal(0, 2.0, n)
    heat = lookup(machine, {"pump": 0.0, "compressor": 12.0, "press": 6.0, "conveyor": -4.0})
    temperature = 25 + 35 * load + heat + rng.normal(0, 1.5, n)
    vibration = lookup(machine, {"pump": 2.5, "compressor": 3.5, "press": 6.0, "conveyor": 1.8})
    vibration = vibration * (0.7 + 0.6 * load) + np.abs(rng.normal(0, 0.25, n))
    pressure = lookup(machine, {"pump": 6.0, "compressor": 9.0, "press": 20.0, "conveyor": 2.0})
    pressure = pressure * (0.85 + 0.3 * load) + rng.normal(0, 0.3, n)

    share = min(max(contamination, MIN_SAMPLE_FAULTS / max(n, 1)), MAX_SAMPLE_SHARE)
    kind = np.where(rng.random(n) < share, rng.integers(1, 3, n), 0)
    spike = kind == 1
    which = rng.integers(0, 2, n)
    vibration = np.where(spike & (which == 0), vibration * rng.uniform(3.5, 6.0, n), vibration)
    temperature = np.where(spike & (which == 1), temperature + rng.uniform(30, 60, n), temperature)
    stall = kind == 2
    rpm = np.where(stall, rpm * rng.uniform(0.25, 0.45, n), rpm)
    current = np.where(stall, current * rng.uniform(1.3, 1.6, n), current)
    # A few sensors drift: their pressure reads high and higher after mid-period.
    drifting = np.isin(
        sensor, rng.choice(200, size=max(1, round(200 * contamination)), replace=False)
    )
    offset = np.where(drifting & (day > 0.5), (day - 0.5) * 16.0, 0.0)
    pressure = pressure + offset
    anomalous = ((kind > 0) | (offset > 2.0)).astype(float)
    label = np.where(reviewed(rng, anomalous, labels_available), anomalous, np.nan)
    return pd.DataFrame(
        {
            "temperature_c": np.clip(np.round(temperature, 2), -50, 250),
            "vibration_mm_s": np.clip(np.round(vibration, 3), 0, 100),
            "pressure_bar": with_missing(rng, np.clip(np.round(pressure, 3), 0, 60), 0.03),
            "current_a": np.clip(np.round(current, 2), 0, 400),
            "rpm": np.clip(np.round(rpm, 1), 0, 6000),
            "hour_of_day": hour,
            "machine_type": machine,
            "site": site,
            "sensor_id": [f"s{s:03d}" for s in sensor],
            "_day": day,
            "_label": label,
        }
    )
