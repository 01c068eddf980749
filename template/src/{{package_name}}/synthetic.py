"""Synthetic rows for any feature schema, with a label the features really predict.

The problem types' sample worlds (problems/) know only the template's own
sample columns. Once a team's schema replaces them (`data infer`), the tests,
`data sample` and CI's `make run` (where the team's data is absent) still need
data: this module draws it from `configs/schema.yaml` alone. Each feature
follows its kind, range, categories and nullability; the label comes from a
hidden linear score of the features, so a model learns something and beats
the baseline, as it would on real data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .problems import ProblemType
from .schema import FeatureSchema, FeatureSpec

# Share of missing values drawn for a nullable feature.
MISSING_SHARE = 0.05
# Where numbers are drawn when the schema gives no range.
DEFAULT_SPAN = 100.0
# Ranking: at least this many queries, so every split has some.
MIN_QUERIES = 20


def schema_world(
    rng: np.random.Generator,
    rows: int,
    schema: FeatureSchema,
    problem: ProblemType,
    *,
    start: pd.Timestamp,
    days: int,
) -> pd.DataFrame:
    """About `rows` rows with every schema column, in time (then query) order."""
    groups = _query_ids(rows, problem) if schema.group_column else None
    rows = len(groups) if groups is not None else rows
    columns: dict[str, object] = {}
    signal = np.zeros((rows, problem.output_width))
    for spec in schema.features:
        values, standardised = _feature(rng, rows, spec)
        if groups is not None and spec.level == "query":
            first = _first_of_each_query(groups)
            values, standardised = values[first], standardised[first]
        weights = rng.normal(0.0, 1.0, problem.output_width)
        signal += np.nan_to_num(standardised)[:, None] * weights
        columns[spec.name] = values
    signal /= np.sqrt(max(len(schema.features), 1))
    codes = problem.labels_from_signal(rng, signal, schema.label, groups)
    frame = pd.DataFrame(columns)
    frame[schema.label.name] = schema.label.decode(codes) if schema.label.classes else codes
    if groups is not None and schema.group_column:
        frame[schema.group_column] = groups
    for name, made_up in identifiers(schema, rows).items():
        frame[name] = made_up
    if schema.time_column:
        moments = rng.random(rows if groups is None else int(groups.max()) + 1)
        moments = moments if groups is None else moments[groups]
        frame[schema.time_column] = start + pd.to_timedelta(moments * days, unit="D")
    if schema.order_columns:
        frame = frame.sort_values(schema.order_columns, kind="stable")
    return frame.reset_index(drop=True)


def identifiers(schema: FeatureSchema, rows: int) -> dict[str, list[str]]:
    """A distinct made-up value per row for each id column of the schema."""
    return {
        name: [f"{name}-{index}-{row:07d}" for row in range(rows)]
        for index, name in enumerate(schema.id_columns)
    }


def _feature(
    rng: np.random.Generator, rows: int, spec: FeatureSpec
) -> tuple[np.ndarray, np.ndarray]:
    """(values as the data holds them, a standardised number per row for the signal)."""
    if spec.kind == "categorical":
        effects = rng.normal(0.0, 1.0, len(spec.categories))
        codes = rng.integers(0, len(spec.categories), rows)
        values = np.asarray(spec.categories, dtype=object)[codes]
        standardised = effects[codes]
    else:
        low = spec.min if spec.min is not None else (spec.max or 0.0) - DEFAULT_SPAN
        high = spec.max if spec.max is not None else low + DEFAULT_SPAN
        uniform = rng.random(rows)
        values = low + (high - low) * uniform
        standardised = (uniform - 0.5) * np.sqrt(12.0)
    if spec.nullable:
        missing = rng.random(rows) < MISSING_SHARE
        values = values.astype(object) if spec.kind == "categorical" else values.copy()
        values[missing] = None if spec.kind == "categorical" else np.nan
        standardised = np.where(missing, 0.0, standardised)
    return values, standardised


def _query_ids(rows: int, problem: ProblemType) -> np.ndarray:
    """Query ids 0, 0, ..., 1, 1, ...: whole queries of `rows_per_request` candidates."""
    size = max(problem.rows_per_request, 2)
    queries = max(rows // size, MIN_QUERIES)
    return np.repeat(np.arange(queries), size)


def _first_of_each_query(groups: np.ndarray) -> np.ndarray:
    """For each row, the index of its query's first row (query-level values repeat)."""
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    return starts[groups]
