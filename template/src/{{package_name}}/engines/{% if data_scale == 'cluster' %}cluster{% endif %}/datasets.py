"""Ray Data over the Parquet parts: time cuts, encoded splits and scored splits.

Every batch goes through `validation.validate_frame` and `features.encode_frame`,
the functions the in-memory tier and serving use, inside Ray tasks; the driver
only ever sees small results (an hourly histogram, samples, scores).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import ray
import ray.data

from ...config import ProjectConfig
from ...data import parse_times
from ...features import encode_frame
from ...problems import ProblemType
from ...schema import FeatureSchema, SchemaError
from ...validation import validate_frame
from ..partitioned import TimeCuts, parquet_files, source_path, time_cuts

SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}
SPLIT, SHARD, PREDICTION, BASELINE = "_split", "_shard", "_prediction", "_baseline"


def read_source(config: ProjectConfig) -> tuple[ray.data.Dataset, list[Path]]:
    """The source's Parquet files as a Ray dataset (read lazily, in parallel)."""
    files = parquet_files(source_path(config))
    return read_parquet(files), files


def read_parquet(paths: list[Path]) -> ray.data.Dataset:
    """`ray.data.read_parquet` for known files: listed here, read in Ray tasks.

    The newer reader lists files in a Ray task that starts more tasks; on a
    small machine that waits minutes for worker processes, for nothing here.
    """
    ray.data.DataContext.get_current().use_datasource_v2 = False
    return ray.data.read_parquet([str(path) for path in paths])


def compute_cuts(dataset: ray.data.Dataset, config: ProjectConfig) -> TimeCuts:
    """Hourly row counts per batch in Ray tasks, summed on the driver, then the cuts."""
    counts = dataset.map_batches(
        partial(_hour_counts, schema=config.feature_schema),
        batch_format="pandas",
        batch_size=config.data.chunk_rows,
    ).to_pandas()
    if counts.empty:
        raise SchemaError("the table has no rows")
    total = counts.groupby("hour")["rows"].sum()
    return time_cuts(total.index.to_numpy(), total.to_numpy(), config)


def encoded_split(
    dataset: ray.data.Dataset, config: ProjectConfig, cuts: TimeCuts, split: str, *, shards: int
) -> ray.data.Dataset:
    """One split as encoded features, label, query id and a shard number per query."""
    return dataset.map_batches(
        partial(_encode_batch, settings=_settings(config, cuts, split), shards=shards),
        batch_format="pandas",
        batch_size=config.data.chunk_rows,
    )


def raw_split(
    dataset: ray.data.Dataset, config: ProjectConfig, cuts: TimeCuts, split: str
) -> ray.data.Dataset:
    """One split's rows as read (validated), for samples."""
    return dataset.map_batches(
        partial(_raw_batch, settings=_settings(config, cuts, split)),
        batch_format="pandas",
        batch_size=config.data.chunk_rows,
    )


def scored_split(
    dataset: ray.data.Dataset,
    config: ProjectConfig,
    cuts: TimeCuts,
    split: str,
    *,
    model_text: str,
    baseline: dict[str, Any],
    keep: list[str],
) -> pd.DataFrame:
    """The `keep` columns of a split with model and baseline output, scored in Ray tasks.

    Multiclass outputs come back as `_prediction_<k>` / `_baseline_<k>` columns.
    """
    scored = dataset.map_batches(
        partial(
            _score_batch,
            settings=_settings(config, cuts, split),
            model_text=model_text,
            baseline=baseline,
            keep=keep,
        ),
        batch_format="pandas",
        batch_size=config.data.chunk_rows,
    )
    return scored.to_pandas()


def outputs(frame: pd.DataFrame, prefix: str) -> np.ndarray:
    """The model (`_prediction`) or baseline (`_baseline`) output of `scored_split`."""
    if prefix in frame.columns:
        return frame[prefix].to_numpy(dtype=np.float64)
    columns = sorted(
        (c for c in frame.columns if c.startswith(f"{prefix}_")),
        key=lambda c: int(c.split("_")[-1]),
    )
    return frame[columns].to_numpy(dtype=np.float64)


def _settings(config: ProjectConfig, cuts: TimeCuts, split: str) -> dict[str, Any]:
    return {
        "schema": config.feature_schema,
        "problem": config.problem_type,
        "edges": (cuts.validation_start.value, cuts.test_start.value),
        "train_start": None if cuts.train_start is None else cuts.train_start.value,
        "split": SPLIT_CODES[split],
    }


def _in_split(batch: pd.DataFrame, settings: dict[str, Any]) -> pd.DataFrame:
    schema: FeatureSchema = settings["schema"]
    stamps = _nanoseconds(batch[str(schema.time_column)], schema)
    code = np.searchsorted(np.asarray(settings["edges"]), stamps, side="right")
    if settings["train_start"] is not None:  # rows before the training window: no split
        code = np.where(stamps < settings["train_start"], -1, code)
    part = batch.loc[code == settings["split"]].reset_index(drop=True)
    if settings["split"] < len(settings["edges"]):  # train, validation: labels known by the cut
        problem: ProblemType = settings["problem"]
        cut = pd.Timestamp(settings["edges"][settings["split"]], tz="UTC")
        part = problem.known_by(part, cut).reset_index(drop=True)
    if len(part):
        validate_frame(part, schema, require_label=True)
    return part


def _nanoseconds(column: pd.Series, schema: FeatureSchema) -> np.ndarray:
    """The time column as UTC nanoseconds, read with the schema's `time_format`."""
    stamps = parse_times(column, schema)
    if stamps.isna().any():
        raise SchemaError(f"column '{schema.time_column}': the time column has missing values")
    return stamps.dt.tz_localize(None).astype("datetime64[ns]").to_numpy().astype(np.int64)


def _hour_counts(batch: pd.DataFrame, *, schema: FeatureSchema) -> pd.DataFrame:
    stamps = _nanoseconds(batch[str(schema.time_column)], schema)
    hours, rows = np.unique(stamps - stamps % (3_600 * 10**9), return_counts=True)
    return pd.DataFrame({"hour": hours, "rows": rows})


def _raw_batch(batch: pd.DataFrame, *, settings: dict[str, Any]) -> pd.DataFrame:
    return _in_split(batch, settings)


def _encode_batch(batch: pd.DataFrame, *, settings: dict[str, Any], shards: int) -> pd.DataFrame:
    schema: FeatureSchema = settings["schema"]
    part = _in_split(batch, settings)
    encoded = pd.DataFrame(encode_frame(part, schema), columns=schema.feature_names)
    encoded[schema.label.name] = schema.label.encode(part[schema.label.name])
    if schema.group_column:
        groups = part[schema.group_column].to_numpy()
        encoded[schema.group_column] = groups
        hashed = pd.util.hash_array(np.asarray(groups, dtype=np.int64))
        encoded[SHARD] = (hashed % np.uint64(shards)).astype(np.int64)
    return encoded


def _score_batch(
    batch: pd.DataFrame,
    *,
    settings: dict[str, Any],
    model_text: str,
    baseline: dict[str, Any],
    keep: list[str],
) -> pd.DataFrame:
    schema: FeatureSchema = settings["schema"]
    part = _in_split(batch, settings)
    result = part[keep].copy()
    matrix = encode_frame(part, schema)
    model = lgb.Booster(model_str=model_text)
    width = model.num_model_per_iteration()
    empty = np.empty((0, width)) if width > 1 else np.empty(0)
    predictions = np.asarray(model.predict(matrix, num_threads=1)) if len(part) else empty
    problem: ProblemType = settings["problem"]
    for prefix, values in (
        (PREDICTION, predictions),
        (BASELINE, problem.predict_baseline(baseline, matrix)),
    ):
        if values.ndim == 1:
            result[prefix] = values
        else:
            for k in range(values.shape[1]):
                result[f"{prefix}_{k}"] = values[:, k]
    return result
