"""The one feature code path, shared by training, batch scoring and serving.

Every consumer turns raw columns into the model matrix through
`encode_columns`, so a feature cannot be computed one way when training and
another way when serving. It needs no pandas: serving passes plain lists.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from .schema import FeatureSchema, FeatureSpec, match_category

Column = Sequence[Any] | np.ndarray


def encode_columns(columns: Mapping[str, Column], schema: FeatureSchema) -> np.ndarray:
    """A float64 matrix (rows x schema features, in schema order).

    Numeric features become floats; categorical features become the integer
    code of the value in the schema's `categories`. Missing values and unknown
    categories become NaN, which the model treats as missing.

    >>> encode_columns({"plan": ["basic", None], "spend": [10, None]}, schema)  # doctest: +SKIP
    array([[ 0., 10.], [nan, nan]])
    """
    missing = [spec.name for spec in schema.features if spec.name not in columns]
    if missing:
        raise KeyError(f"missing feature column(s) {missing}")
    encoded = [_encode(columns[spec.name], spec) for spec in schema.features]
    lengths = {len(column) for column in encoded}
    if len(lengths) > 1:
        raise ValueError(f"feature columns have different lengths: {sorted(lengths)}")
    if not encoded or not lengths or lengths == {0}:
        return np.empty((0, len(schema.features)), dtype=np.float64)
    return np.column_stack(encoded).astype(np.float64, copy=False)


def encode_frame(frame: Any, schema: FeatureSchema) -> np.ndarray:
    """`encode_columns` for a pandas DataFrame (or any mapping of columns)."""
    return encode_columns({name: frame[name] for name in schema.feature_names}, schema)


def categorical_indices(schema: FeatureSchema) -> list[int]:
    """Positions of the categorical features in the matrix, for LightGBM."""
    return [i for i, spec in enumerate(schema.features) if spec.kind == "categorical"]


def decode_category(code: float, spec: FeatureSpec) -> str | None:
    """The category behind an integer code (None for missing or unknown)."""
    if math.isnan(code) or not 0 <= code < len(spec.categories):
        return None
    return spec.categories[int(code)]


def category_text(value: Any, categories: Collection[str]) -> str | None:
    """The category `value` stands for, in its canonical text; None if missing or unknown.

    `1`, `1.0` and `"1"` are the same category wherever they come from
    (JSON requests, CSV with blanks, Parquet, the drift reference); see
    `schema.match_category`.
    """
    return match_category(value, categories)


def _encode(values: Column, spec: FeatureSpec) -> np.ndarray:
    if spec.kind == "numeric":
        return _as_float(values, spec.name)
    lookup = {category: float(code) for code, category in enumerate(spec.categories)}
    raw = _as_objects(values)
    return np.fromiter(
        (lookup.get(category_text(v, lookup) or "", math.nan) for v in raw),
        dtype=np.float64,
        count=len(raw),
    )


def _as_float(values: Column, name: str) -> np.ndarray:
    to_numpy = getattr(values, "to_numpy", None)
    try:
        if to_numpy is not None:
            return np.asarray(to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        array = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
        if array.dtype == object:
            array = np.where(_is_missing(array), np.nan, array)
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"feature '{name}': expected numbers") from None


def _as_objects(values: Column) -> np.ndarray:
    to_numpy = getattr(values, "to_numpy", None)
    if to_numpy is not None:
        return np.asarray(to_numpy(dtype=object, na_value=None), dtype=object)
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


def _is_missing(array: np.ndarray) -> np.ndarray:
    return np.fromiter(
        (v is None or (isinstance(v, float) and math.isnan(v)) for v in array),
        dtype=bool,
        count=len(array),
    )
