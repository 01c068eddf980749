"""One row, explained: each feature's contribution to the model's score (ML Test Score I5).

When a prediction looks wrong, the first question is which inputs drove it.
LightGBM's TreeSHAP contributions (`pred_contrib`) answer it exactly: the
expected value plus every feature's contribution is the model's raw score for
the row (log-odds, a class's raw score, the regression value, the ranking
score). The row goes through the schema's checks and the shared encoding, so
it is explained as the service would score it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import ProjectConfig
from .features import encode_columns
from .registry import LoadedModel, ModelRegistry
from .schema import SchemaError
from .validation import check_rows


class ExplainError(ValueError):
    """The row cannot be explained (a feature missing, unknown or breaking a rule)."""


@dataclass(frozen=True)
class RowExplanation:
    """Contributions to the raw score, per output (one; one per class for multiclass)."""

    version: str
    features: tuple[str, ...]
    values: tuple[Any, ...]  # the row's values as the schema reads them
    expected: tuple[float, ...]  # per output: the average raw score (SHAP base value)
    contributions: np.ndarray  # outputs x features
    raw_scores: tuple[float, ...]  # per output: expected + the sum of contributions

    def top(self, output: int = 0, count: int = 10) -> list[tuple[str, Any, float]]:
        """The `count` largest contributions to `output` by size: (feature, value, contribution)."""
        row = self.contributions[output]
        order = np.argsort(-np.abs(row), kind="stable")[:count]
        return [(self.features[i], self.values[i], float(row[i])) for i in order]


def explain_row(
    config: ProjectConfig, row: Mapping[str, Any], *, version: str | None = None
) -> RowExplanation:
    """Contributions of every feature of `row` (feature name -> value) to the model's score."""
    registry = ModelRegistry(config)
    model = registry.load(version or registry.promoted_version() or registry.newest_version())
    return explain_with(model, row)


def explain_with(model: LoadedModel, row: Mapping[str, Any]) -> RowExplanation:
    schema = model.schema
    unknown = sorted(set(row) - set(schema.feature_names))
    if unknown:
        raise ExplainError(f"not features of this model: {unknown}")
    try:
        check = check_rows({name: [row.get(name)] for name in schema.feature_names}, schema)
    except SchemaError as error:
        raise ExplainError(str(error)) from None
    if not check.good.all():
        raise ExplainError(f"the row breaks the schema: {check.reasons[0]}")
    matrix = encode_columns(check.columns, schema)
    booster = model.booster
    width = booster.num_feature() + 1  # the features, then the expected value
    raw = np.asarray(booster.predict(matrix, pred_contrib=True, num_threads=1)).reshape(-1, width)
    return RowExplanation(
        version=model.version,
        features=tuple(schema.feature_names),
        values=tuple(check.columns[name][0] for name in schema.feature_names),
        expected=tuple(float(v) for v in raw[:, -1]),
        contributions=raw[:, :-1],
        raw_scores=tuple(float(v) for v in raw.sum(axis=1)),
    )
