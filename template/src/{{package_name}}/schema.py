"""The feature schema: one description of the columns, used everywhere.

Training, serving and monitoring all read `configs/schema.yaml` through this
model, so a column cannot mean one thing at training time and another at
serving time. `validation.py` holds the row rules that follow from it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TAG_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,39}")


class SchemaError(ValueError):
    """Data does not match the feature schema."""


def canonical_text(value: Any) -> str | None:
    """The text form a category or class value is kept in; None when it is missing.

    Numbers name categories by their shortest text, so `1` and `1.0` are both
    "1" (numeric-coded categories arrive as ints from JSON and YAML and as
    floats from a CSV column with blanks). Text stays exactly as written, so
    a code like "007" keeps its zeros.
    """
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return None
    if type(value).__name__ == "NAType":  # pandas' NA (nullable columns, Ray Data batches)
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer | float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def match_category(value: Any, names: Collection[str]) -> str | None:
    """The one of `names` that `value` stands for; None when missing or unknown.

    Text matches exactly first; text that reads as a number then matches by its
    number, so `"1.0"` (a CSV read as text) is the category "1".
    """
    text = canonical_text(value)
    if text is None or text in names:
        return text
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        text = canonical_text(number)
        return text if text in names else None
    return None


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
    # false: `monitor drift` does not judge it. For a feature that moves with the
    # calendar (a forecast's month): a new month is not a change in the data.
    drift: bool = True
    # What a review needs to know about the column (ML Test Score D4): `tags` such
    # as pii (personal data) or protected (a group the model must serve equally
    # well), who owns it and where it comes from. `policy` in configs/project.yaml
    # says which tags a feature may not carry and which fields every feature needs.
    tags: tuple[str, ...] = ()
    owner: str | None = None
    source: str | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_are_words(cls, values: Any) -> Any:
        return _tag_words(values, "tags")

    @field_validator("categories", mode="before")
    @classmethod
    def _categories_as_text(cls, values: Any) -> Any:
        """Categories may be written as numbers (`[1, 2]`); they are kept as canonical text."""
        return _distinct_texts(values, "categories")

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
    # The label's values as written in the data, in class-id order: binary
    # [negative, positive] (e.g. [no, yes]), multiclass the class names.
    # Empty: the data holds the ids themselves (0/1, 0..n_classes-1).
    classes: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    # Rows may lack a label (anomaly detection: most rows are never inspected).
    nullable: bool = False

    @field_validator("classes", mode="before")
    @classmethod
    def _classes_as_text(cls, values: Any) -> Any:
        return _distinct_texts(values, "label classes")

    @model_validator(mode="after")
    def _classes_fit_the_kind(self) -> LabelSpec:
        named = len(self.classes)
        if self.kind == "binary" and named not in (0, 2):
            raise ValueError(
                f"binary label '{self.name}' lists {named} classes; list two, the negative "
                "first and the positive second (e.g. [no, yes])"
            )
        if self.kind == "multiclass":
            if named and self.n_classes is not None and named != self.n_classes:
                raise ValueError(
                    f"label '{self.name}': n_classes is {self.n_classes} but {named} classes "
                    "are listed; make them agree (or drop n_classes)"
                )
            if not named and self.n_classes is None:
                raise ValueError(
                    f"multiclass label '{self.name}' needs its classes (3 or more) or n_classes"
                )
            if named and named < 3:
                raise ValueError(f"multiclass label '{self.name}' needs 3 or more classes")
        if self.kind in ("numeric", "relevance") and named:
            raise ValueError(f"a {self.kind} label cannot list classes")
        return self

    @property
    def class_count(self) -> int | None:
        """How many classes the label has (None for numeric and relevance labels)."""
        if self.kind == "binary":
            return 2
        if self.kind == "multiclass":
            return len(self.classes) or self.n_classes
        return None

    def encode(self, values: Any) -> np.ndarray:
        """Label values as written in the data -> class ids (floats; NaN when missing).

        Raises `SchemaError` naming the values that are not one of `classes`.
        Without `classes` the values must be numbers already.
        """
        raw = values.tolist() if hasattr(values, "tolist") else list(values)
        if not self.classes:
            try:
                return np.array([math.nan if _missing(v) else v for v in raw], dtype=np.float64)
            except (TypeError, ValueError):
                raise SchemaError(
                    f"label '{self.name}' holds text, but configs/schema.yaml lists no "
                    "label.classes to map it to class ids (binary: [negative, positive])"
                ) from None
        lookup = {text: float(code) for code, text in enumerate(self.classes)}
        names = [match_category(v, lookup) for v in raw]
        unknown = sorted(
            {str(v) for v, n in zip(raw, names, strict=True) if n is None and not _missing(v)}
        )
        if unknown:
            raise SchemaError(
                f"label '{self.name}': value(s) {unknown[:5]} are not among the label.classes "
                f"{list(self.classes)} of configs/schema.yaml"
            )
        return np.array([math.nan if n is None else lookup[n] for n in names], dtype=np.float64)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Class ids -> the label's values as written in the data (ids when no classes)."""
        if not self.classes:
            return np.asarray(codes)
        names = np.asarray(self.classes, dtype=object)
        return names[np.asarray(codes, dtype=int)]

    def allowed_range(self) -> tuple[float | None, float | None, bool]:
        """(lowest, highest, whole numbers only) a label of this kind may take."""
        if self.kind == "binary":
            return 0.0, 1.0, True
        if self.kind == "multiclass":
            return 0.0, float((self.class_count or 3) - 1), True
        return self.min, self.max, self.kind == "relevance"


class FeatureSchema(BaseModel):
    """All columns the project knows about: features, label, time and group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # null: the data has no timestamp, and the split is random (seeded).
    time_column: str | None
    # How the time column's text is written, as a strftime format (day-first:
    # "%d/%m/%Y"); null reads ISO 8601 and other unambiguous forms.
    time_format: str | None = None
    group_column: str | None = None
    # Identifiers kept with each row (in batch outputs, never as features).
    id_columns: tuple[str, ...] = ()
    label: LabelSpec
    features: tuple[FeatureSpec, ...] = Field(min_length=1)
    # Tags of columns that are not features: an id that is personal data
    # ({customer_id: [pii]}), or a group kept only to check the model serves it
    # equally well ({age_band: [protected]}). A feature carries its own `tags`.
    column_tags: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("column_tags", mode="before")
    @classmethod
    def _column_tags_are_words(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        return {str(name): _tag_words(tags, f"column_tags.{name}") for name, tags in values.items()}

    @model_validator(mode="after")
    def _check_unique_names(self) -> FeatureSchema:
        names = [f.name for f in self.features]
        named = [self.time_column, self.label.name, self.group_column, *self.id_columns]
        reserved = [name for name in named if name]
        duplicates = {n for n in names if names.count(n) > 1} | (set(names) & set(reserved))
        duplicates |= {n for n in reserved if reserved.count(n) > 1}
        if duplicates:
            raise ValueError(f"column names used twice in the schema: {sorted(duplicates)}")
        tagged_features = sorted(set(self.column_tags) & set(names))
        if tagged_features:
            raise ValueError(
                f"column_tags names features {tagged_features}: give a feature its tags on "
                "its own entry (tags: [...]); column_tags is for other columns"
            )
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
    def time_columns(self) -> list[str]:
        """The time column as a list: empty when the data has no timestamp."""
        return [self.time_column] if self.time_column else []

    @property
    def order_columns(self) -> list[str]:
        """What rows are sorted by: time, then query (each may be absent)."""
        return [*self.time_columns, *self.group_columns]

    @property
    def input_columns(self) -> list[str]:
        """What a table to score holds: the time column, the group column, the features."""
        return [*self.time_columns, *self.group_columns, *self.feature_names]

    @property
    def query_level_names(self) -> list[str]:
        return [f.name for f in self.features if f.level == "query"]

    def tags_of(self, name: str) -> tuple[str, ...]:
        """The tags of column `name`: a feature's own, else its `column_tags` entry."""
        if name in self.feature_names:
            return self.feature(name).tags
        return self.column_tags.get(name, ())

    def tagged(self, tag: str) -> list[str]:
        """Every column carrying `tag`: features first, then the other tagged columns."""
        features = [f.name for f in self.features if tag in f.tags]
        return features + [name for name, tags in self.column_tags.items() if tag in tags]

    def feature(self, name: str) -> FeatureSpec:
        for spec in self.features:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _distinct_texts(values: Any, what: str) -> Any:
    """A YAML list of values as canonical text; refused when one is empty or listed twice."""
    if not isinstance(values, list | tuple):
        return values  # pydantic says what is wrong with it
    texts = [canonical_text(v) for v in values]
    if None in texts:
        raise ValueError(f"{what} cannot hold an empty (null) value; list only real values")
    if len(set(texts)) != len(texts):
        raise ValueError(f"{what} listed twice (`1` and `1.0` are one value): {texts}")
    return tuple(texts)


def _tag_words(values: Any, what: str) -> Any:
    """Tags as lower-case words (pii, protected, finance-approved), each once."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple):
        return values
    tags = [str(v).strip().lower() for v in values]
    bad = [t for t in tags if not TAG_PATTERN.fullmatch(t)]
    if bad:
        raise ValueError(
            f"{what}: {bad} are not tags; a tag is one word of letters, digits, - or _ "
            "(e.g. pii, protected)"
        )
    return tuple(dict.fromkeys(tags))


def _missing(value: Any) -> bool:
    return canonical_text(value) is None
