"""Out-of-core training: LightGBM builds its binned dataset from Parquet row groups.

LightGBM keeps only its binned copy of the data (about one byte per feature and
row, plus labels and gradients), never the raw table: `ParquetSequence` feeds it
one row group at a time. Validation, the baseline sample and the drift reference
are read the same way; `train.finish_training` registers the result as in memory.
"""

from __future__ import annotations

import time
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from ...config import ProjectConfig
from ...features import categorical_indices, encode_frame
from ...problems.base import Baseline
from ...recipe import (
    FittedModel,
    boost,
    group_sizes,
    lightgbm_params,
    usable_labels,
)
from ..partitioned import BASELINE_ROWS, file_digest, fit_on_sample, window_start
from .tables import ParquetSequence, iter_chunks, prepare, read_column, sample_rows


def fit_out_of_core(config: ProjectConfig, *, show_progress: bool = True) -> FittedModel:
    """Prepare the splits with Polars, train from row groups, score the validation split."""
    schema, problem = config.feature_schema, config.problem_type
    prepared = prepare(config, splits=("train", "validation"))
    train_file, validation_file = prepared.files["train"], prepared.files["validation"]
    categorical = categorical_indices(schema)

    def dataset(path: Any, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        labels, weights = usable_labels(problem, read_column(path, schema.label.name))
        groups = None
        if schema.group_column:
            groups = group_sizes(read_column(path, schema.group_column))
        return lgb.Dataset(
            ParquetSequence(path, config),
            label=labels,
            weight=weights,
            group=groups,
            reference=reference,
            feature_name=schema.feature_names,
            categorical_feature=categorical,
            free_raw_data=True,
        )

    started = time.perf_counter()
    sample = sample_rows(train_file, BASELINE_ROWS, seed=config.model.seed)
    baseline, booster = fit_on_sample(config, sample)
    if booster is None:  # the problem type fits no model of its own: boost on the labels
        train_set = dataset(train_file)
        validation_set = dataset(validation_file, reference=train_set)
        booster = boost(
            config,
            train_set,
            validation_set,
            show_progress=show_progress,
            description="Training LightGBM (out of core)",
        )
        del train_set, validation_set
    seconds = time.perf_counter() - started
    validation, model_output, baseline_output = _validation_predictions(
        config, validation_file, booster, baseline
    )
    group = schema.group_column
    return FittedModel(
        booster=booster,
        baseline=baseline,
        train_sample=sample[[*schema.feature_names, *schema.group_columns]],
        validation_labels=config.problem_type.encode_labels(
            validation[schema.label.name].to_numpy()
        ),
        validation_groups=validation[group].to_numpy() if group else None,
        validation_features=validation[list(problem.decision_features)],
        validation_outputs=model_output,
        validation_baseline=baseline_output,
        rows={"train": prepared.cuts.rows["train"], "validation": prepared.cuts.rows["validation"]},
        time_range={
            **window_start(prepared.cuts),
            "train_end": str(prepared.cuts.validation_start),
            "validation_end": str(prepared.cuts.test_start),
        },
        fingerprint=file_digest(prepared.source_files),
        seconds=seconds,
        params=lightgbm_params(config)[0],
        engine={"name": "polars", "row_group_rows": config.data.chunk_rows},
    )


def _validation_predictions(
    config: ProjectConfig, path: Any, booster: lgb.Booster, baseline: Baseline
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Labels (and query ids) of the validation split with model and baseline output."""
    schema = config.feature_schema
    keep = [schema.label.name, *schema.group_columns, *config.problem_type.decision_features]
    frames, model_parts, baseline_parts = [], [], []
    for chunk in iter_chunks(path):
        matrix = encode_frame(chunk, schema)
        model_parts.append(booster.predict(matrix, num_threads=config.model.num_threads))
        baseline_parts.append(config.problem_type.predict_baseline(baseline, matrix))
        frames.append(chunk[keep])
    return (
        pd.concat(frames, ignore_index=True),
        np.concatenate(model_parts),
        np.concatenate(baseline_parts),
    )
