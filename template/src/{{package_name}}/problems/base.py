"""What every problem type answers, and what they share.

The pipeline never branches on `problem.type`: it asks the problem object
(`problems.problem_for(config)`) for the label encoding, LightGBM's objective,
the baseline, the sample data, the metrics, how a prediction is shown and
logged, and which plots the evaluation report draws. One module per problem
type implements `ProblemType`; `ProblemBase` holds what they share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol, Self

import numpy as np
import pandas as pd
from pydantic import Field

from ..schema import FeatureSchema, LabelSpec

if TYPE_CHECKING:
    from ..evaluation.results import TestSet

Baseline = dict[str, Any]
ValueKind = Literal["numeric", "categorical"]
# A plot of the evaluation report: its title, and a function that draws it on
# matplotlib axes (evaluation/plots.py holds them).
Figure = tuple[str, Callable[..., None], tuple[Any, ...]]
# A served probability, as the OpenAPI document types it.
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class ProblemError(ValueError):
    """The configuration or the data does not fit the problem type."""


class ProblemType(Protocol):
    """The behaviour that varies by problem type; see the module docstring."""

    name: ClassVar[str]
    label: ClassVar[str]  # for people: "binary classification"
    label_kind: ClassVar[str]  # the schema's `label.kind` this type expects
    prediction_kind: ClassVar[ValueKind]  # how monitoring treats the logged prediction
    grouped: ClassVar[bool]  # rows come in query groups that stay whole
    explains_rows: ClassVar[bool]  # answers name each row's top contributing features
    labels_optional: ClassVar[bool]  # learns without labels; most rows may lack one
    label_time_column: ClassVar[str | None]  # when each row's label became known; None: its time
    decision_features: ClassVar[tuple[str, ...]]  # validation columns `decision` reads
    sample_drawn_whole: ClassVar[bool]  # sample rows depend on each other: never drawn in parts
    resampling_unit: ClassVar[str | None]  # rows of one unit share a history: resample units
    k: int  # the ranking cut-off (metrics that take one); 10 elsewhere
    rows_per_request: int  # rows one request scores: 1, or the candidates of a query

    @property
    def output_width(self) -> int:
        """Model outputs per row: the number of classes for multiclass, else 1."""
        ...

    def encode_labels(self, values: np.ndarray) -> np.ndarray: ...
    def check_training_labels(self, labels: np.ndarray) -> None: ...
    def lightgbm_params(self) -> dict[str, Any]: ...
    def fit_baseline(
        self, matrix: np.ndarray, labels: np.ndarray, schema: FeatureSchema
    ) -> Baseline: ...
    def predict_baseline(self, baseline: Baseline, matrix: np.ndarray) -> np.ndarray: ...
    def describe_baseline(self, baseline: Baseline) -> str: ...
    def sample(self, rng: np.random.Generator, rows: int) -> pd.DataFrame: ...
    def labels_from_signal(
        self,
        rng: np.random.Generator,
        signal: np.ndarray,
        label: LabelSpec,
        groups: np.ndarray | None,
    ) -> np.ndarray: ...
    def point_predictions(self, outputs: np.ndarray) -> np.ndarray: ...
    def logged_outputs(self, points: np.ndarray) -> np.ndarray: ...
    def trainable_rows(self, labels: np.ndarray) -> np.ndarray | None: ...
    def fit_own_model(
        self, matrix: np.ndarray, feature_names: list[str], *, seed: int
    ) -> str | None: ...
    def decision(
        self,
        validation_outputs: np.ndarray,
        validation_labels: np.ndarray,
        validation_features: pd.DataFrame | None,
    ) -> dict[str, Any]: ...
    def with_decision(self, decision: dict[str, Any]) -> Self: ...
    def operating_point(
        self,
        labels: np.ndarray,
        outputs: np.ndarray,
        baseline_outputs: np.ndarray,
        frame: pd.DataFrame | None = None,
    ) -> dict[str, Any]: ...
    def alert_rate_check(self, logged_points: np.ndarray) -> dict[str, Any]: ...
    def rows_to_explain(self, outputs: np.ndarray) -> np.ndarray: ...
    def without_labels(self, labels: np.ndarray) -> bool: ...
    def known_by(self, frame: pd.DataFrame, moment: pd.Timestamp) -> pd.DataFrame: ...
    def drift_rows(self, frame: pd.DataFrame) -> pd.DataFrame: ...
    def response_fields(
        self, outputs: np.ndarray, contributions: np.ndarray | None = None
    ) -> dict[str, Any]: ...
    def response_field_types(self) -> dict[str, Any]: ...
    def output_columns(
        self, outputs: np.ndarray, contributions: np.ndarray | None = None
    ) -> list[tuple[str, np.ndarray]]: ...
    def figures(self, test: TestSet) -> list[Figure]: ...
    def score(
        self, metric: str, labels: np.ndarray, outputs: np.ndarray, groups: np.ndarray | None
    ) -> float: ...


@dataclass(frozen=True)
class ProblemBase:
    """Defaults shared by the problem types: one output per row, no groups."""

    k: int = 10
    rows_per_request: int = 1

    name: ClassVar[str]
    grouped: ClassVar[bool] = False
    explains_rows: ClassVar[bool] = False
    labels_optional: ClassVar[bool] = False
    label_time_column: ClassVar[str | None] = None
    decision_features: ClassVar[tuple[str, ...]] = ()
    sample_drawn_whole: ClassVar[bool] = False
    resampling_unit: ClassVar[str | None] = None
    # What one served prediction is, as the OpenAPI document says it.
    prediction_meaning: ClassVar[str] = "The prediction"

    @classmethod
    def from_settings(cls, settings: dict[str, Any], schema: FeatureSchema) -> Self:
        """The problem for a `problem:` config section; types with options read them here."""
        return cls()

    @property
    def output_width(self) -> int:
        return 1

    def encode_labels(self, values: np.ndarray) -> np.ndarray:
        """Class ids and relevance grades as integers; numbers stay floats."""
        return np.asarray(values, dtype=float).astype(int)

    def check_training_labels(self, labels: np.ndarray) -> None:
        """Raise `ProblemError` when the training labels cannot train this type."""

    def trainable_rows(self, labels: np.ndarray) -> np.ndarray | None:
        """A mask of the rows a supervised fit may use; None: every row (all are labelled)."""
        return None

    def fit_own_model(
        self, matrix: np.ndarray, feature_names: list[str], *, seed: int
    ) -> str | None:
        """A model this type fits itself (a LightGBM model string); None: boost on the labels."""
        return None

    def decision(
        self,
        validation_outputs: np.ndarray,
        validation_labels: np.ndarray,
        validation_features: pd.DataFrame | None,
    ) -> dict[str, Any]:
        """Settings fixed at training from the validation rows (a threshold); stored."""
        return {}

    def with_decision(self, decision: dict[str, Any]) -> Self:
        """This problem with a model's stored `decision` applied (loading the model)."""
        return self

    def operating_point(
        self,
        labels: np.ndarray,
        outputs: np.ndarray,
        baseline_outputs: np.ndarray,
        frame: pd.DataFrame | None = None,
    ) -> dict[str, Any]:
        """What the decision rule does on test rows (`frame`), for the report; empty: nothing."""
        return {}

    def without_labels(self, labels: np.ndarray) -> bool:
        """True when a type that learns without labels has no labelled row here.

        Quality cannot be measured then: the gate says so instead of failing,
        the first model is promoted, and later ones only by hand (promotion.py).
        """
        return self.labels_optional and not np.isfinite(np.asarray(labels, dtype=float)).any()

    def known_by(self, frame: pd.DataFrame, moment: pd.Timestamp) -> pd.DataFrame:
        """The rows whose label was known by `moment` (`label_time_column` at or before it).

        Without a label time, a label counts as known at its row's own time:
        every row of an earlier split qualifies.
        """
        if self.label_time_column is None or self.label_time_column not in frame.columns:
            return frame
        known = pd.to_datetime(frame[self.label_time_column], utc=True) <= moment
        return frame[known.to_numpy()]

    def drift_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows drift is judged on: every row is its own observation here."""
        return frame

    def rows_to_explain(self, outputs: np.ndarray) -> np.ndarray:
        """Which rows get their top contributing features (when `explains_rows`)."""
        return np.ones(len(outputs), dtype=bool)

    def alert_rate_check(self, logged_points: np.ndarray) -> dict[str, Any]:
        """The monitor's verdict on the logged predictions' alert rate; empty: no budget."""
        return {}

    def point_predictions(self, outputs: np.ndarray) -> np.ndarray:
        """One number per row: what the prediction log and drift monitoring keep."""
        return np.asarray(outputs, dtype=np.float64)

    def logged_outputs(self, points: np.ndarray) -> np.ndarray:
        """Model-shaped outputs rebuilt from logged point predictions (for metrics on the log)."""
        return np.asarray(points, dtype=np.float64)

    def response_fields(
        self, outputs: np.ndarray, contributions: np.ndarray | None = None
    ) -> dict[str, Any]:
        """The prediction part of a /predict response."""
        return {"predictions": np.asarray(outputs).tolist()}

    def response_field_types(self) -> dict[str, Any]:
        """The types of `response_fields` as pydantic field definitions (the OpenAPI document)."""
        meaning = f"{self.prediction_meaning} of each row, in request order"
        return {"predictions": (list[float], Field(description=meaning))}

    def output_columns(
        self, outputs: np.ndarray, contributions: np.ndarray | None = None
    ) -> list[tuple[str, np.ndarray]]:
        """Columns a batch run appends to each scored row."""
        return [("prediction", np.asarray(outputs, dtype=np.float64))]

    def score(
        self, metric: str, labels: np.ndarray, outputs: np.ndarray, groups: np.ndarray | None
    ) -> float:
        """Metric `metric` of these outputs, with this problem's options (k, groups)."""
        from ..metrics import compute

        return compute(metric, self.name, labels, outputs, groups=groups, k=self.k)


def check_every_class_present(labels: np.ndarray, n_classes: int) -> None:
    """Every class id 0..n_classes-1 must have training examples."""
    absent = sorted(set(range(n_classes)) - set(np.unique(labels).tolist()))
    if absent:
        raise ProblemError(
            f"class(es) {absent} never appear in the training split; every one of the "
            f"{n_classes} classes needs training examples"
        )


def lookup(values: np.ndarray, table: dict[str, float]) -> np.ndarray:
    """Map category values to numbers (for the sample worlds)."""
    return pd.Series(values).map(table).to_numpy(dtype=float)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def with_missing(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """`values` with about `share` of them replaced by NaN."""
    return np.where(rng.random(len(values)) < share, np.nan, values)


def with_missing_category(
    rng: np.random.Generator, values: Sequence[Any] | np.ndarray, share: float
) -> pd.Series:
    """Category `values` with about `share` of them missing (None)."""
    series = pd.Series(values, dtype="object")
    series[rng.random(len(series)) < share] = None
    return series
