"""Out-of-core evaluation: the test split is scored one row group at a time.

Only what the metrics need is kept per row (the label, the query id, the slice
columns as categoricals, the two predictions), never the raw feature table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from ...config import ProjectConfig
from ...data import bounded_rows
from ...evaluation.results import TestSet
from ...features import encode_frame
from ...registry import LoadedModel
from ...validation import validate_frame
from .tables import iter_chunks, prepare


def score_test_split(config: ProjectConfig, model: LoadedModel) -> TestSet:
    """The test split with labels, model and baseline predictions, built chunk by chunk."""
    schema = model.schema
    path = prepare(config, splits=("test",)).files["test"]
    slices = config.metric.slice_columns(config.feature_schema)  # tags: the current schema
    # The time column too: `evaluate --decay` dates the test window by it.
    columns = [schema.label.name, *schema.time_columns, *schema.group_columns, *slices]
    columns += config.problem_type.decision_features  # what `operating_point` reads
    if unit := config.problem_type.resampling_unit:
        columns.append(unit)  # a protected group's interval resamples whole units
    keep = list(dict.fromkeys(columns))
    categories = {spec.name: spec.categories for spec in schema.categorical_features}
    frames, predictions, baseline = [], [], []
    for chunk in iter_chunks(path):
        validate_frame(chunk, schema, require_label=True)
        matrix = encode_frame(chunk, schema)
        predictions.append(model.predict(matrix))
        baseline.append(model.predict_baseline(matrix))
        kept = chunk[[name for name in keep if name in chunk.columns]].copy()
        for name in kept.columns.intersection(list(categories)):
            kept[name] = pd.Categorical(kept[name], categories=categories[name])
        frames.append(kept)
    frame = pd.concat(frames, ignore_index=True)
    labels = frame[schema.label.name].to_numpy()
    groups = frame[schema.group_column].to_numpy() if schema.group_column else None
    return TestSet(frame, labels, np.concatenate(predictions), np.concatenate(baseline), groups)


def validation_rows(config: ProjectConfig, max_rows: int) -> pd.DataFrame:
    """The first row groups of the validation split, up to `max_rows` rows (queries whole)."""
    path = prepare(config, splits=("validation",)).files["validation"]
    parts, held = [], 0
    for chunk in iter_chunks(path):
        parts.append(chunk)
        held += len(chunk)
        if held > max_rows:
            break
    frame = pd.concat(parts, ignore_index=True)
    return bounded_rows(frame, max_rows, config.feature_schema.group_column)


def write_test_split(config: ProjectConfig) -> Path:
    """The test split's inputs (no label) as data/batch_input.parquet, streamed by Polars."""
    path = prepare(config, splits=("test",)).files["test"]
    target = config.data_dir / "batch_input.parquet"
    pl.scan_parquet(path).select(config.feature_schema.input_columns).sink_parquet(
        target, row_group_size=config.data.chunk_rows, engine="streaming"
    )
    return target
