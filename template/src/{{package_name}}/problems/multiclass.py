"""Multiclass classification: one of `n_classes` classes per row, with probabilities.

The model outputs an (n, n_classes) matrix of probabilities; the served and
logged prediction is the most probable class. The baseline predicts the
training class priors for every row, so the majority class wins everywhere.
The sample world routes support tickets to queues, mostly by product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

import numpy as np
import pandas as pd
from pydantic import Field

from ..schema import FeatureSchema, LabelSpec
from .base import (
    Baseline,
    Figure,
    Probability,
    ProblemBase,
    ProblemError,
    ValueKind,
    check_every_class_present,
    with_missing,
    with_missing_category,
)

if TYPE_CHECKING:
    from ..evaluation.results import TestSet

# The sample's "world" (which queue handles which product, ...) is fixed; the
# sample seed only changes which rows are drawn from it.
WORLD_SEED = 20250101


@dataclass(frozen=True)
class MulticlassClassification(ProblemBase):
    n_classes: int = 3
    # The class names of configs/schema.yaml (label.classes), in id order; empty
    # when the data holds class ids. Served and batch-scored predictions use them.
    classes: tuple[str, ...] = ()

    name: ClassVar[str] = "multiclass_classification"
    label: ClassVar[str] = "multiclass classification"
    label_kind: ClassVar[str] = "multiclass"
    prediction_kind: ClassVar[ValueKind] = "categorical"

    @classmethod
    def from_settings(cls, settings: dict[str, Any], schema: FeatureSchema) -> Self:
        """n_classes from configs/project.yaml or the schema's label; both must agree."""
        given, in_schema = settings.get("n_classes"), schema.label.class_count
        if given and in_schema and given != in_schema:
            raise ProblemError(
                f"problem.n_classes is {given} in configs/project.yaml but label.n_classes is "
                f"{in_schema} in configs/schema.yaml; make them agree"
            )
        n_classes = given or in_schema
        if not n_classes or n_classes < 3:
            raise ProblemError(
                "multiclass_classification needs n_classes (3 or more) in configs/project.yaml "
                "or label.n_classes in configs/schema.yaml"
            )
        return cls(n_classes=int(n_classes), classes=schema.label.classes)

    @property
    def output_width(self) -> int:
        return self.n_classes

    def check_training_labels(self, labels: np.ndarray) -> None:
        check_every_class_present(labels, self.n_classes)

    def lightgbm_params(self) -> dict[str, Any]:
        return {"objective": "multiclass", "num_class": self.n_classes}

    def fit_baseline(
        self, matrix: np.ndarray, labels: np.ndarray, schema: FeatureSchema
    ) -> Baseline:
        counts = np.bincount(np.asarray(labels, dtype=int), minlength=self.n_classes)
        return {"kind": "majority", "class_priors": (counts / counts.sum()).tolist()}

    def predict_baseline(self, baseline: Baseline, matrix: np.ndarray) -> np.ndarray:
        priors = np.asarray(baseline["class_priors"], dtype=float)
        return np.tile(priors, (len(matrix), 1))

    def describe_baseline(self, baseline: Baseline) -> str:
        majority = int(np.argmax(baseline["class_priors"]))
        name = f"'{self.classes[majority]}'" if self.classes else str(majority)
        return f"majority class {name} (class priors as probabilities)"

    def sample(self, rng: np.random.Generator, rows: int) -> pd.DataFrame:
        return ticket_world(rng, rows, self.n_classes, np.random.default_rng(WORLD_SEED))

    def labels_from_signal(
        self,
        rng: np.random.Generator,
        signal: np.ndarray,
        label: LabelSpec,
        groups: np.ndarray | None,
    ) -> np.ndarray:
        """The class whose score (signal plus Gumbel noise) is highest; every class appears."""
        scores = 2.0 * signal + rng.gumbel(0.0, 1.0, signal.shape)
        classes = scores.argmax(axis=1)
        for code in range(self.n_classes):  # a few rows of each, so training sees it
            if (classes == code).sum() < 5:
                classes[rng.choice(len(classes), size=5, replace=False)] = code
        return classes

    def point_predictions(self, outputs: np.ndarray) -> np.ndarray:
        """The predicted class; NaN when a probability is not finite (the monitor counts it)."""
        outputs = np.asarray(outputs)
        classes = outputs.argmax(axis=1).astype(np.float64)
        return np.where(np.isfinite(outputs).all(axis=1), classes, np.nan)

    def logged_outputs(self, points: np.ndarray) -> np.ndarray:
        """The log keeps the predicted class: a one-hot row per prediction."""
        codes = np.clip(np.nan_to_num(points).astype(int), 0, self.n_classes - 1)
        return np.eye(self.n_classes)[codes]

    def response_fields(
        self, outputs: np.ndarray, contributions: np.ndarray | None = None
    ) -> dict[str, Any]:
        """The predicted class (its name when the schema names classes) and the probabilities."""
        fields: dict[str, Any] = {
            "predictions": self._class_of(outputs).tolist(),
            "probabilities": np.asarray(outputs).tolist(),
        }
        if self.classes:
            fields["classes"] = list(self.classes)  # the probabilities' column order
        return fields

    def response_field_types(self) -> dict[str, Any]:
        width = self.n_classes
        names = "named as in `classes`" if self.classes else "as class ids"
        order = "in `classes` order" if self.classes else "in class-id order"
        fields: dict[str, Any] = {
            "predictions": (
                list[str] if self.classes else list[int],
                Field(description=f"The most probable class of each row ({names})"),
            ),
            "probabilities": (
                list[Annotated[list[Probability], Field(min_length=width, max_length=width)]],
                Field(description=f"Each row's {width} class probabilities, {order}"),
            ),
        }
        if self.classes:
            fields["classes"] = (list[str], Field(description="The class of each probability"))
        return fields

    def output_columns(
        self, outputs: np.ndarray, contributions: np.ndarray | None = None
    ) -> list[tuple[str, np.ndarray]]:
        """The class, and each class's probability (columns named by class id)."""
        columns = [("prediction", self._class_of(outputs))]
        columns += [(f"probability_{k}", outputs[:, k]) for k in range(outputs.shape[1])]
        return columns

    def _class_of(self, outputs: np.ndarray) -> np.ndarray:
        codes = np.asarray(outputs).argmax(axis=1).astype(np.int64)
        return np.asarray(self.classes, dtype=object)[codes] if self.classes else codes

    def figures(self, test: TestSet) -> list[Figure]:
        from ..evaluation import plots

        return [
            ("Confusion matrix (row-normalised)", plots.confusion, (test.labels, test.predictions))
        ]


def ticket_world(
    rng: np.random.Generator, n: int, n_classes: int, world: np.random.Generator
) -> pd.DataFrame:
    """Support tickets routed to one of `n_classes` queues, mostly by product."""
    products = ["billing", "mobile_app", "web_app", "hardware", "api"]
    product = rng.choice(products, size=n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    priority = rng.choice(["low", "normal", "high", "urgent"], size=n, p=[0.3, 0.45, 0.18, 0.07])
    language = rng.choice(["en", "de", "fr", "es", "other"], size=n, p=[0.55, 0.15, 0.1, 0.1, 0.1])
    length = np.clip(np.round(rng.lognormal(6.0, 0.8, n)), 0, 100000)
    age = np.clip(np.round(rng.exponential(700.0, n)), 0, 20000)
    previous = np.clip(rng.poisson(3.0, n), 0, 1000).astype(float)
    attachments = np.clip(rng.poisson(0.5, n), 0, 100).astype(float)
    sentiment = np.tanh(rng.normal(0.0, 0.6, n))

    # The world: how strongly each queue attracts each product, priority, ...
    product_affinity = world.normal(0.0, 1.6, (n_classes, len(products)))
    product_affinity[np.arange(n_classes), np.arange(n_classes) % len(products)] += 2.5
    priority_affinity = world.normal(0.0, 0.8, (n_classes, 4))
    numeric_weights = world.normal(0.0, 0.7, (n_classes, 4))
    bias = -np.log1p(0.15 * np.arange(n_classes))

    product_index = pd.Categorical(product, categories=products).codes
    priority_index = pd.Categorical(priority, categories=["low", "normal", "high", "urgent"]).codes
    numeric = np.column_stack(
        [(np.log1p(length) - 6.0) / 0.8, np.log1p(age) / 7.0 - 0.8, attachments, sentiment]
    )
    scores = (
        product_affinity[:, product_index].T
        + priority_affinity[:, priority_index].T
        + numeric @ numeric_weights.T
        + bias
        + rng.gumbel(0.0, 0.8, (n, n_classes))
    )
    label = scores.argmax(axis=1)
    # Every queue appears at least a few times, so training sees every class.
    missing = np.setdiff1d(np.arange(n_classes), np.unique(label))
    if missing.size:
        slots = rng.choice(n, size=(missing.size, 5), replace=False)
        label[slots] = missing[:, None]
    return pd.DataFrame(
        {
            "message_length": length,
            "account_age_days": age,
            "previous_tickets": previous,
            "attachment_count": with_missing(rng, attachments, 0.08),
            "sentiment": with_missing(rng, sentiment, 0.1),
            "product": product,
            "priority": priority,
            "language": with_missing_category(rng, language, 0.05),
            "_day": rng.random(n),
            "_label": label.astype(int),
        }
    )
