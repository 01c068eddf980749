"""Binary classification: P(label = 1) per row, judged against the training prior.

The baseline gives every row the training share of positives, so it ranks no
row above another (ROC AUC 0.5) and its log loss is the label's entropy: a
model has to beat both to be worth serving. The sample world is customer
churn, with about 15% churners.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from ..schema import FeatureSchema, LabelSpec
from .base import (
    Baseline,
    Figure,
    Probability,
    ProblemBase,
    ValueKind,
    check_every_class_present,
    lookup,
    sigmoid,
    with_missing,
    with_missing_category,
)

if TYPE_CHECKING:
    from ..evaluation.results import TestSet


@dataclass(frozen=True)
class BinaryClassification(ProblemBase):
    name: ClassVar[str] = "binary_classification"
    label: ClassVar[str] = "binary classification"
    label_kind: ClassVar[str] = "binary"
    prediction_kind: ClassVar[ValueKind] = "numeric"

    def check_training_labels(self, labels: np.ndarray) -> None:
        check_every_class_present(labels, 2)

    def lightgbm_params(self) -> dict[str, Any]:
        return {"objective": "binary"}

    def response_field_types(self) -> dict[str, Any]:
        meaning = "P(label = 1) for each row, in request order"
        return {"predictions": (list[Probability], Field(description=meaning))}

    def fit_baseline(
        self, matrix: np.ndarray, labels: np.ndarray, schema: FeatureSchema
    ) -> Baseline:
        return {"kind": "prior", "positive_rate": float(np.mean(labels))}

    def predict_baseline(self, baseline: Baseline, matrix: np.ndarray) -> np.ndarray:
        return np.full(len(matrix), baseline["positive_rate"])

    def describe_baseline(self, baseline: Baseline) -> str:
        return f"constant prior P(label=1) = {baseline['positive_rate']:.3f}"

    def sample(self, rng: np.random.Generator, rows: int) -> pd.DataFrame:
        return churn_world(rng, rows)

    def labels_from_signal(
        self,
        rng: np.random.Generator,
        signal: np.ndarray,
        label: LabelSpec,
        groups: np.ndarray | None,
    ) -> np.ndarray:
        """0/1 drawn from a logistic model of the signal, about 15% positive (like the sample)."""
        logit = 2.0 * signal[:, 0]
        probability = sigmoid(logit + _intercept_for_rate(logit, 0.15))
        return (rng.random(len(logit)) < probability).astype(int)

    def figures(self, test: TestSet) -> list[Figure]:
        from ..evaluation import plots

        y, p = test.labels, test.predictions
        if len(np.unique(y)) < 2:
            return []  # curves need both classes
        return [
            ("ROC curve", plots.roc, (y, p)),
            ("Precision-recall curve", plots.precision_recall, (y, p)),
            ("Calibration", plots.calibration, (y, p)),
        ]


def churn_world(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Customer churn: about 15% of customers churn within 30 days."""
    plan = rng.choice(["basic", "standard", "premium"], size=n, p=[0.5, 0.35, 0.15])
    region = rng.choice(["north", "south", "east", "west"], size=n, p=[0.3, 0.25, 0.25, 0.2])
    channel = rng.choice(["web", "mobile", "store", "partner"], size=n, p=[0.4, 0.35, 0.15, 0.1])
    tenure = np.clip(np.round(rng.gamma(2.0, 14.0, n)), 0, 240)
    base_spend = pd.Series(plan).map({"basic": 20.0, "standard": 45.0, "premium": 90.0})
    spend = np.clip(base_spend.to_numpy() * rng.lognormal(0.0, 0.35, n), 0, 5000)
    tickets = np.clip(rng.poisson(0.5 + 0.6 * (plan == "basic"), n), 0, 100).astype(float)
    login = np.clip(np.round(rng.exponential(12.0, n)), 0, 3650)
    discount = rng.beta(1.2, 6.0, n)

    logit = (
        -0.06 * tenure
        + 0.8 * tickets
        + 0.07 * np.minimum(login, 60)
        - 3.0 * discount
        + lookup(plan, {"basic": 0.7, "standard": 0.0, "premium": -0.9})
        + lookup(region, {"north": 0.0, "south": 0.5, "east": -0.2, "west": 0.1})
        + lookup(channel, {"web": 0.0, "mobile": 0.3, "store": -0.6, "partner": 0.9})
        + 1.2 * ((spend > 60) & (tickets >= 2))
    )
    probability = sigmoid(logit + _intercept_for_rate(logit, 0.15))
    label = (rng.random(n) < probability).astype(int)
    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_spend": with_missing(rng, spend, 0.08),
            "support_tickets_30d": tickets,
            "days_since_last_login": with_missing(rng, login, 0.06),
            "discount_share": discount,
            "plan": plan,
            "region": region,
            "channel": with_missing_category(rng, channel, 0.05),
            "_day": rng.random(n),
            "_label": label,
        }
    )


def _intercept_for_rate(logit: np.ndarray, rate: float) -> float:
    """The intercept that makes the mean probability equal `rate` (bisection)."""
    low, high = -20.0, 20.0
    for _ in range(60):
        middle = (low + high) / 2
        if sigmoid(logit + middle).mean() < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2
