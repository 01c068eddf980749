"""Data in: synthetic sample data, real data from Parquet/CSV, and time-based splits.

The sample lets the whole pipeline run before real data exists. It follows the
feature schema, has missing values, a timestamp and a label with real signal,
so a model has something to learn and the baseline something to lose to.
Splits are by time, never random: a model is always tested on the future.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import ProjectConfig
from .schema import FeatureSchema, SchemaError
from .validation import validate_frame

SAMPLE_FILE = "sample.parquet"
SAMPLE_START = pd.Timestamp("2025-01-01", tz="UTC")
SAMPLE_DAYS = 180


class DataError(ValueError):
    """The data source is missing, unreadable or too small."""


@dataclass(frozen=True)
class Splits:
    """Train, validation and test tables, in time order, disjoint in time."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def sample_path(config: ProjectConfig) -> Path:
    return config.data_dir / SAMPLE_FILE


def make_sample(config: ProjectConfig, *, rows: int, seed: int) -> pd.DataFrame:
    """A synthetic table of about `rows` rows for the problem type, in time order.

    The problem type draws its world (problems/); columns the schema adds on
    top of the sample's get plausible noise, so a changed schema still runs.
    """
    rng = np.random.default_rng(seed)
    schema = config.feature_schema
    frame = _fit_to_schema(config.problem_type.sample(rng, rows), schema, rng)
    frame = frame.sort_values([schema.time_column, *schema.group_columns], kind="stable")
    return frame.reset_index(drop=True)


def load_dataset(config: ProjectConfig) -> pd.DataFrame:
    """Read `data.source` (or the sample), parse the time column and validate it."""
    source = config.path(config.data.source) if config.data.source else sample_path(config)
    frame = read_table(source)
    schema = config.feature_schema
    if schema.time_column in frame.columns:
        try:
            frame[schema.time_column] = pd.to_datetime(frame[schema.time_column], utc=True)
        except (ValueError, TypeError) as error:
            raise SchemaError(
                f"column '{schema.time_column}': cannot read the values as timestamps ({error})"
            ) from None
    validate_frame(frame, schema, require_label=True)
    return frame.sort_values(
        [schema.time_column, *schema.group_columns], kind="stable"
    ).reset_index(drop=True)


def read_table(path: Path) -> pd.DataFrame:
    """Read a Parquet file, a folder of Parquet files or a CSV file."""
    if not path.exists():
        hint = " (run `data sample` first)" if path.name == SAMPLE_FILE else ""
        raise DataError(f"data source {path} does not exist{hint}")
    suffix = path.suffix.lower()
    try:
        if path.is_dir() or suffix in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        if suffix in {".csv", ".gz"}:
            return pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read {path}: {error}") from None
    raise DataError(f"{path}: unsupported file type '{suffix}'; use Parquet or CSV")


def time_split(frame: pd.DataFrame, config: ProjectConfig) -> Splits:
    """Split by time: the oldest rows train, the newest test. Queries stay whole."""
    schema = config.feature_schema
    ordered = frame.sort_values([schema.time_column, *schema.group_columns], kind="stable")
    ordered = ordered.reset_index(drop=True)
    n = len(ordered)
    test_share, validation_share = config.data.test_fraction, config.data.validation_fraction
    cuts = [round(n * (1 - validation_share - test_share)), round(n * (1 - test_share))]
    if schema.group_column:
        groups = ordered[schema.group_column].to_numpy()
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        positions = np.minimum(np.searchsorted(starts, cuts), len(starts) - 1)
        cuts = [int(starts[p]) for p in positions]
    train, validation, test = ordered[: cuts[0]], ordered[cuts[0] : cuts[1]], ordered[cuts[1] :]
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        if len(part) < 10:
            raise DataError(
                f"the {name} split has {len(part)} rows out of {n}; more data is needed "
                "(or larger data.validation_fraction / data.test_fraction)"
            )
    return Splits(
        train.reset_index(drop=True),
        validation.reset_index(drop=True),
        test.reset_index(drop=True),
    )


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the table's content (values and column names), stored with each model."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _fit_to_schema(
    frame: pd.DataFrame, schema: FeatureSchema, rng: np.random.Generator
) -> pd.DataFrame:
    """Keep the schema's columns; invent noise columns for features added to the schema."""
    n = len(frame)
    for spec in schema.features:
        if spec.name in frame.columns:
            continue
        if spec.kind == "categorical":
            values = pd.Series(rng.choice(list(spec.categories), size=n), dtype="object")
        else:
            low = spec.min if spec.min is not None else 0.0
            high = spec.max if spec.max is not None else low + 100.0
            values = pd.Series(rng.uniform(low, high, size=n))
        frame[spec.name] = values
    start = SAMPLE_START
    frame[schema.time_column] = start + pd.to_timedelta(frame.pop("_day") * SAMPLE_DAYS, unit="D")
    frame = frame.rename(columns={"_label": schema.label.name})
    if schema.group_column:
        frame = frame.rename(columns={"_group": schema.group_column})
    columns = [*schema.input_columns, schema.label.name]
    return frame[columns]
