"""The feature schema: one description of the columns, used everywhere.

Training, serving and monitoring all read `configs/schema.yaml` through this
model, so a column cannot mean one thing at training time and another at
serving time. `validate_frame` checks a table against it and names the column
and the problem when it does not match.
"""

from __future__ import annotations

import math
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator


class SchemaError(ValueError):
    """Data does not match the feature schema."""


class FeatureSpec(BaseModel):
    """One input column of the model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["numeric", "categorical"]
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] = ()
    nullable: bool = False
    # Ranking only: "query" for a feature every candidate of a request shares
    # (the device, say). Drift is then judged once per query: fifty copies of
    # one value are one observation, not fifty.
    level: Literal["row", "query"] = "row"

    @model_validator(mode="after")
    def _check_kind_fields(self) -> FeatureSpec:
        if self.kind == "categorical" and not self.categories:
            raise ValueError(f"categorical feature '{self.name}' needs a list of categories")
        if self.kind == "numeric" and self.categories:
            raise ValueError(f"numeric feature '{self.name}' cannot have categories")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"feature '{self.name}': min {self.min} is above max {self.max}")
        return self


class LabelSpec(BaseModel):
    """The target column and what values it may take."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["binary", "multiclass", "numeric", "relevance"]
    n_classes: int | None = None
    min: float | None = None
    max: float | None = None


class FeatureSchema(BaseModel):
    """All columns the project knows about: features, label, time and group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_column: str
    group_column: str | None = None
    label: LabelSpec
    features: tuple[FeatureSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_unique_names(self) -> FeatureSchema:
        names = [f.name for f in self.features]
        reserved = {self.time_column, self.label.name, self.group_column}
        duplicates = {n for n in names if names.count(n) > 1} | (set(names) & reserved)
        if duplicates:
            raise ValueError(f"column names used twice in the schema: {sorted(duplicates)}")
        shared = [f.name for f in self.features if f.level == "query"]
        if shared and not self.group_column:
            raise ValueError(
                f"features {shared} have level 'query', which needs a group_column (ranking)"
            )
        return self

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def numeric_features(self) -> list[FeatureSpec]:
        return [f for f in self.features if f.kind == "numeric"]

    @property
    def categorical_features(self) -> list[FeatureSpec]:
        return [f for f in self.features if f.kind == "categorical"]

    @property
    def group_columns(self) -> list[str]:
        """The group column (ranking's query id) as a list: empty for other problems."""
        return [self.group_column] if self.group_column else []

    @property
    def input_columns(self) -> list[str]:
        """What a table to score holds: the time column, the group column, the features."""
        return [self.time_column, *self.group_columns, *self.feature_names]

    @property
    def query_level_names(self) -> list[str]:
        return [f.name for f in self.features if f.level == "query"]

    def feature(self, name: str) -> FeatureSpec:
        for spec in self.features:
            if spec.name == name:
                return spec
        raise KeyError(name)


def validate_frame(frame: pd.DataFrame, schema: FeatureSchema, *, require_label: bool) -> None:
    """Raise `SchemaError` naming the first column that breaks the schema.

    Checks presence, type, missing values, numeric ranges and categories of
    every feature, and the time, group and (when `require_label`) label columns.
    """
    required = [*schema.feature_names, schema.time_column]
    if schema.group_column:
        required.append(schema.group_column)
    if require_label:
        required.append(schema.label.name)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SchemaError(f"missing column(s) {missing}; the schema expects {required}")
    if frame.empty:
        raise SchemaError("the table has no rows")

    for spec in schema.features:
        _check_feature(frame[spec.name], spec)
    if frame[schema.time_column].isna().any():
        raise SchemaError(f"column '{schema.time_column}': the time column has missing values")
    if require_label:
        _check_label(frame[schema.label.name], schema.label)


def _check_feature(column: pd.Series, spec: FeatureSpec) -> None:
    missing = column.isna()
    if missing.any() and not spec.nullable:
        raise SchemaError(
            f"column '{spec.name}': {int(missing.sum())} missing value(s) but the schema "
            "does not allow missing values"
        )
    present = column[~missing]
    if spec.kind == "numeric":
        if not pd.api.types.is_numeric_dtype(present) or pd.api.types.is_bool_dtype(present):
            raise SchemaError(f"column '{spec.name}': expected numbers, found {column.dtype}")
        values = present.astype(float)
        if not values.map(math.isfinite).all():
            raise SchemaError(f"column '{spec.name}': contains infinite values")
        _check_range(values, spec.name, spec.min, spec.max)
    else:
        unknown = sorted(set(present.astype(str)) - set(spec.categories))
        if unknown:
            raise SchemaError(
                f"column '{spec.name}': unknown categories {unknown[:5]}; "
                f"allowed are {list(spec.categories)}"
            )


def _check_label(column: pd.Series, label: LabelSpec) -> None:
    if column.isna().any():
        raise SchemaError(f"label column '{label.name}': {int(column.isna().sum())} missing labels")
    if not pd.api.types.is_numeric_dtype(column):
        raise SchemaError(f"label column '{label.name}': expected numbers, found {column.dtype}")
    if label.kind == "binary":
        _check_range(column.astype(float), label.name, 0, 1, integral=True)
    elif label.kind == "multiclass":
        top = (label.n_classes or 2) - 1
        _check_range(column.astype(float), label.name, 0, top, integral=True)
    elif label.kind == "relevance":
        _check_range(column.astype(float), label.name, label.min, label.max, integral=True)
    else:
        _check_range(column.astype(float), label.name, label.min, label.max)


def _check_range(
    values: pd.Series,
    name: str,
    low: float | None,
    high: float | None,
    *,
    integral: bool = False,
) -> None:
    if low is not None and (values < low).any():
        raise SchemaError(f"column '{name}': value {values.min()} is below the minimum {low}")
    if high is not None and (values > high).any():
        raise SchemaError(f"column '{name}': value {values.max()} is above the maximum {high}")
    if integral and not (values == values.round()).all():
        raise SchemaError(f"column '{name}': expected whole numbers")
