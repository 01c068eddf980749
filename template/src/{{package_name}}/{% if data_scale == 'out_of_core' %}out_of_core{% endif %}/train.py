"""Out-of-core training: LightGBM builds its binned dataset from Parquet row groups.

LightGBM keeps only its binned copy of the data (about one byte per feature and
row, plus labels and gradients), never the raw table: `ParquetSequence` feeds it
one row group at a time. Validation, the baseline sample and the drift reference
are read the same way, and the result is registered exactly as in memory.
"""

from __future__ import annotations

import time
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from ..baseline import predict_baseline
from ..config import ProjectConfig
from ..features import categorical_indices, encode_frame
from ..partitioned import (
    BASELINE_ROWS,
    file_digest,
    finish_training,
    fit_sample_baseline,
    group_sizes,
    lightgbm_params,
)
from ..train import TrainResult, _advance, _progress
from .tables import ParquetSequence, iter_chunks, prepare, read_column, sample_rows


def train_out_of_core(config: ProjectConfig, *, show_progress: bool = True) -> TrainResult:
    """Prepare the splits with Polars, train from row groups, register and promote."""
    schema = config.feature_schema
    prepared = prepare(config, splits=("train", "validation"))
    train_file, validation_file = prepared.files["train"], prepared.files["validation"]
    params, rounds = lightgbm_params(config)
    categorical = categorical_indices(schema)

    def dataset(path: Any, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        labels = read_column(path, schema.label.name)
        groups = None
        if schema.group_column:
            groups = group_sizes(read_column(path, schema.group_column))
        return lgb.Dataset(
            ParquetSequence(path, config),
            label=labels,
            group=groups,
            reference=reference,
            feature_name=schema.feature_names,
            categorical_feature=categorical,
            free_raw_data=True,
        )

    started = time.perf_counter()
    sample = sample_rows(train_file, BASELINE_ROWS, seed=config.model.seed)
    baseline = fit_sample_baseline(config, sample)
    train_set = dataset(train_file)
    validation_set = dataset(validation_file, reference=train_set)
    with _progress(show_progress) as progress:
        task = progress.add_task("Training LightGBM (out of core)", total=rounds)
        booster = lgb.train(
            params,
            train_set,
            num_boost_round=rounds,
            valid_sets=[validation_set],
            callbacks=[
                lgb.early_stopping(config.model.early_stopping_rounds, verbose=False),
                _advance(progress, task),
            ],
        )
    del train_set, validation_set
    seconds = time.perf_counter() - started
    validation, model_output, baseline_output = _validation_predictions(
        config, validation_file, booster, baseline
    )
    return finish_training(
        config,
        booster,
        sample=sample,
        baseline=baseline,
        validation=validation,
        predictions=(model_output, baseline_output),
        cuts=prepared.cuts,
        fingerprint=file_digest(prepared.source_files),
        seconds=seconds,
        engine_info={"row_group_rows": config.data.chunk_rows},
    )


def _validation_predictions(
    config: ProjectConfig, path: Any, booster: lgb.Booster, baseline: dict[str, Any]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Labels (and query ids) of the validation split with model and baseline output."""
    schema = config.feature_schema
    keep = [schema.label.name, *schema.group_columns]
    best = booster.best_iteration or None
    frames, model_parts, baseline_parts = [], [], []
    for chunk in iter_chunks(path):
        matrix = encode_frame(chunk, schema)
        model_parts.append(
            booster.predict(matrix, num_iteration=best, num_threads=config.model.num_threads)
        )
        baseline_parts.append(predict_baseline(baseline, matrix))
        frames.append(chunk[keep])
    return (
        pd.concat(frames, ignore_index=True),
        np.concatenate(model_parts),
        np.concatenate(baseline_parts),
    )
