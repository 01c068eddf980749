"""Regression: a number per row, judged against the training mean.

The baseline predicts the training mean for every row (R squared 0 on data
like the training data); its RMSE is the label's spread, which a model must
beat. The sample world is food delivery: minutes from order to door.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from ..schema import FeatureSchema, LabelSpec
from .base import (
    Baseline,
    Figure,
    ProblemBase,
    ValueKind,
    lookup,
    with_missing,
    with_missing_category,
)

if TYPE_CHECKING:
    from ..evaluation.results import TestSet


@dataclass(frozen=True)
class Regression(ProblemBase):
    name: ClassVar[str] = "regression"
    label: ClassVar[str] = "regression"
    label_kind: ClassVar[str] = "numeric"
    prediction_kind: ClassVar[ValueKind] = "numeric"
    prediction_meaning: ClassVar[str] = "The predicted value"

    def encode_labels(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=float)

    def lightgbm_params(self) -> dict[str, Any]:
        return {"objective": "regression"}

    def fit_baseline(
        self, matrix: np.ndarray, labels: np.ndarray, schema: FeatureSchema
    ) -> Baseline:
        return {"kind": "mean", "mean": float(np.mean(labels))}

    def predict_baseline(self, baseline: Baseline, matrix: np.ndarray) -> np.ndarray:
        return np.full(len(matrix), baseline["mean"])

    def describe_baseline(self, baseline: Baseline) -> str:
        return f"constant training mean {baseline['mean']:.3f}"

    def sample(self, rng: np.random.Generator, rows: int) -> pd.DataFrame:
        return delivery_world(rng, rows)

    def labels_from_signal(
        self,
        rng: np.random.Generator,
        signal: np.ndarray,
        label: LabelSpec,
        groups: np.ndarray | None,
    ) -> np.ndarray:
        """The signal plus noise, placed inside the label's range (a sixth of it per std)."""
        low = label.min if label.min is not None else 0.0
        high = label.max if label.max is not None else low + 100.0
        middle, spread = (low + high) / 2, (high - low) / 6
        noisy = signal[:, 0] + rng.normal(0.0, 0.4, len(signal))
        return np.clip(middle + spread * noisy, low, high)

    def figures(self, test: TestSet) -> list[Figure]:
        from ..evaluation import plots

        y, p = test.labels, test.predictions
        return [
            ("Predicted vs actual", plots.predicted_vs_actual, (y, p)),
            ("Residuals", plots.residuals, (y, p)),
        ]


def delivery_world(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Food delivery: minutes from order to delivery."""
    city = rng.choice(
        ["amsterdam", "berlin", "lisbon", "madrid", "paris"], size=n, p=[0.2, 0.25, 0.1, 0.2, 0.25]
    )
    vehicle = rng.choice(["bike", "scooter", "car"], size=n, p=[0.4, 0.35, 0.25])
    weather = rng.choice(["clear", "rain", "snow", "wind"], size=n, p=[0.6, 0.25, 0.05, 0.1])
    distance = np.clip(np.round(rng.gamma(2.0, 1.8, n), 2), 0.1, 200)
    items = np.clip(1 + rng.poisson(2.0, n), 1, 500).astype(float)
    prep = np.clip(np.round(rng.gamma(3.0, 3.0, n) + 0.8 * items), 0, 600)
    hour_weights = np.array(
        [1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 5, 9, 10, 8, 5, 4, 5, 8, 11, 12, 9, 6, 4, 2]
    )
    hour = rng.choice(24, size=n, p=hour_weights / hour_weights.sum()).astype(float)
    rating = np.clip(np.round(rng.normal(4.5, 0.35, n), 2), 1, 5)

    speed = lookup(vehicle, {"bike": 14.0, "scooter": 22.0, "car": 28.0})
    speed = speed * lookup(weather, {"clear": 1.0, "rain": 0.85, "snow": 0.6, "wind": 0.9})
    rush = np.isin(hour, [11, 12, 13, 18, 19, 20])
    minutes = (
        4.0
        + prep
        + distance / speed * 60.0 * np.where(rush & (vehicle == "car"), 1.4, 1.0)
        + 6.0 * rush
        + lookup(
            city, {"amsterdam": 0.0, "berlin": 2.0, "lisbon": 5.0, "madrid": 3.0, "paris": 6.0}
        )
        + 3.0 * (5.0 - rating)
        + rng.gamma(2.0, 2.5, n)
        + rng.normal(0.0, 4.0, n)
        - 5.0
    )
    return pd.DataFrame(
        {
            "distance_km": distance,
            "items_count": items,
            "prep_minutes": prep,
            "hour_of_day": hour,
            "courier_rating": with_missing(rng, rating, 0.1),
            "city": city,
            "vehicle": vehicle,
            "weather": with_missing_category(rng, weather, 0.04),
            "_day": rng.random(n),
            "_label": np.clip(np.round(minutes, 1), 1, 1440),
        }
    )
