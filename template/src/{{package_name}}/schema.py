"""The feature schema: one description of the columns, used everywhere.

Training, serving and monitoring all read `configs/schema.yaml` through this
model, so a column cannot mean one thing at training time and another at
serving time. `validation.py` holds the row rules that follow from it.
"""

from __future__ import annotations

from typing import Literal

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
    n_classes: int | None = Field(default=None, ge=3)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _multiclass_needs_its_classes(self) -> LabelSpec:
        if self.kind == "multiclass" and self.n_classes is None:
            raise ValueError(f"multiclass label '{self.name}' needs n_classes (3 or more)")
        return self

    def allowed_range(self) -> tuple[float | None, float | None, bool]:
        """(lowest, highest, whole numbers only) a label of this kind may take."""
        if self.kind == "binary":
            return 0.0, 1.0, True
        if self.kind == "multiclass":
            return 0.0, float((self.n_classes or 3) - 1), True
        return self.min, self.max, self.kind == "relevance"


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
