"""Data in: sample data, real data from Parquet/CSV, and the train/validation/test split.

The sample lets the whole pipeline run before real data exists (and in CI,
where a team's data is absent). It follows the feature schema, has missing
values and a label with real signal, so a model has something to learn and
the baseline something to lose to. With a time column the split is by time
(a model is always tested on the future); without one it is random and
seeded, which can flatter a model when the data drifts over time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import ProjectConfig
from .drifting import apply_drift, check_drift_date
from .schema import FeatureSchema, SchemaError
from .synthetic import identifiers, schema_world
from .tables import SAMPLE_DAYS, SAMPLE_FILE, SAMPLE_START, DataError, read_table
from .validation import validate_frame


@dataclass(frozen=True)
class Splits:
    """Train, validation and test tables, in time order, disjoint in time."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def sample_path(config: ProjectConfig) -> Path:
    return config.data_dir / SAMPLE_FILE


def make_sample(
    config: ProjectConfig, *, rows: int, seed: int, drift_after: pd.Timestamp | None = None
) -> pd.DataFrame:
    """A synthetic table of about `rows` rows for the problem type, in time order.

    While the schema is still the template's sample schema, the problem type
    draws its own world (problems/); columns added on top get plausible noise.
    Once the schema is the team's own (no sample column left), `synthetic`
    draws rows from the schema alone, with a label the features predict.
    With `drift_after`, later rows follow a changed world (drifting.py).
    """
    rng = np.random.default_rng(seed)
    schema, problem = config.feature_schema, config.problem_type
    if not uses_sample_world(config):
        frame = schema_world(rng, rows, schema, problem, start=SAMPLE_START, days=SAMPLE_DAYS)
    else:
        frame = _fit_to_schema(problem.sample(rng, rows), schema, rng)
        if schema.order_columns:
            frame = frame.sort_values(schema.order_columns, kind="stable")
        frame = frame.reset_index(drop=True)
    if drift_after is None:
        return frame
    return apply_drift(frame, config, after=drift_after, rng=rng)


def drift_date(value: str) -> pd.Timestamp:
    """`--drift-after` as a UTC timestamp inside the sample's period (else `DataError`)."""
    return check_drift_date(value, start=SAMPLE_START, days=SAMPLE_DAYS)


def uses_sample_world(config: ProjectConfig) -> bool:
    """Whether the schema still has columns of the problem type's own sample world."""
    world = config.problem_type.sample(np.random.default_rng(0), 200)
    return bool(set(config.feature_schema.feature_names) & set(world.columns))


def load_dataset(config: ProjectConfig, source: Path | None = None) -> pd.DataFrame:
    """Read `data.source` (or the sample), check it against the schema, encode the label.

    The label comes back as class ids when the schema names its classes
    (`label.classes`); the rows are in time (then query) order.
    """
    return prepare_dataset(read_table(source or dataset_path(config)), config.feature_schema)


def prepare_dataset(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """A table as read from disk -> times parsed, checked against `schema`, label encoded."""
    if schema.time_column and schema.time_column in frame.columns:
        frame[schema.time_column] = parse_times(frame[schema.time_column], schema)
    frame = with_label_column(frame, schema)
    validate_frame(frame, schema, require_label=True)
    frame[schema.label.name] = schema.label.encode(frame[schema.label.name])
    if schema.order_columns:
        frame = frame.sort_values(schema.order_columns, kind="stable")
    return frame.reset_index(drop=True)


def with_label_column(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """`frame`, with an all-empty label column when the label may be empty and it has none.

    A table without labels yet (anomaly detection before anyone reviewed an
    alert) is a valid table: every row is simply unlabelled.
    """
    if schema.label.nullable and schema.label.name not in frame.columns:
        frame[schema.label.name] = np.nan
    return frame


def dataset_path(config: ProjectConfig) -> Path:
    """Where the project's data is: `data.source`, or the sample when it is null."""
    return config.path(config.data.source) if config.data.source else sample_path(config)


def parse_times(values: pd.Series, schema: FeatureSchema) -> pd.Series:
    """The time column as UTC timestamps, read with the schema's `time_format` when set."""
    try:
        return pd.to_datetime(values, utc=True, format=schema.time_format)
    except (ValueError, TypeError) as error:
        how = f"with time_format '{schema.time_format}'" if schema.time_format else "as timestamps"
        raise SchemaError(
            f"column '{schema.time_column}': cannot read the values {how} ({error}); set "
            "time_format in configs/schema.yaml (day-first dates: '%d/%m/%Y'), or time_column: "
            "null when the data has no timestamp"
        ) from None


def split_dataset(frame: pd.DataFrame, config: ProjectConfig) -> Splits:
    """By time when the schema has a time column, else random (seeded); queries stay whole.

    With `data.train_window_days` only the newest rows are split (`recent_window`).
    """
    schema = config.feature_schema
    days = config.data.train_window_days
    if days is not None:
        window = recent_window(frame, config, days)
        try:
            return time_split(window, config)
        except DataError as error:
            raise DataError(
                f"the last {days} days (data.train_window_days) hold {len(window)} of "
                f"{len(frame)} rows, too few to split: {error}; use a longer window"
            ) from None
    if schema.time_column:
        return time_split(frame, config)
    return random_split(frame, config)


def recent_window(frame: pd.DataFrame, config: ProjectConfig, days: int) -> pd.DataFrame:
    """The rows of the last `days` days: time >= the newest time - `days` (then split).

    Splitting after the cut keeps the test split the newest rows, as always.
    """
    time = config.feature_schema.time_column
    if not time:
        raise DataError(
            "data.train_window_days needs a time column (configs/schema.yaml: time_column); "
            "without one the rows have no order to take the recent ones from"
        )
    if days < 1:
        raise DataError(f"the training window must be at least 1 day, got {days}")
    keep = frame[time] >= frame[time].max() - pd.Timedelta(days=days)
    group = config.feature_schema.group_column
    if group:  # a query that reaches into the window stays whole
        keep = keep.groupby(frame[group]).transform("any")
    return frame.loc[keep].reset_index(drop=True)


def time_split(frame: pd.DataFrame, config: ProjectConfig) -> Splits:
    """Split by time: the oldest rows train, the newest test. Queries stay whole."""
    schema = config.feature_schema
    ordered = frame.sort_values(schema.order_columns, kind="stable").reset_index(drop=True)
    splits = _cut(ordered, config)
    # A row whose label only became known after the next split began would teach the
    # future (a forecast example whose target lies past the cut): left out.
    problem, time = config.problem_type, schema.time_column
    train = problem.known_by(splits.train, splits.validation[time].min())
    validation = problem.known_by(splits.validation, splits.test[time].min())
    kept = (("train", train, splits.train), ("validation", validation, splits.validation))
    for name, part, before in kept:
        if len(part) < 10:
            raise DataError(
                f"the {name} split keeps {len(part)} of its {len(before)} rows once rows "
                "whose label lies past the next split are left out; more data is needed"
            )
    return Splits(train.reset_index(drop=True), validation.reset_index(drop=True), splits.test)


def random_split(frame: pd.DataFrame, config: ProjectConfig) -> Splits:
    """Split in a random order fixed by `model.seed` (whole queries when ranking).

    For data without a timestamp: no model is tested on the future then, so
    the test score can flatter it if the data changes over time.
    """
    schema = config.feature_schema
    rng = np.random.default_rng(config.model.seed)
    if schema.group_column:
        queries = frame[schema.group_column].unique()
        rank = pd.Series(rng.permutation(len(queries)), index=queries)
        order = np.lexsort([frame[schema.group_column].map(rank).to_numpy()])
    else:
        order = rng.permutation(len(frame))
    return _cut(frame.iloc[order].reset_index(drop=True), config)


def _cut(ordered: pd.DataFrame, config: ProjectConfig) -> Splits:
    """Cut ordered rows into train, validation and test by the configured shares."""
    schema = config.feature_schema
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


def bounded_rows(frame: pd.DataFrame, max_rows: int, group_column: str | None) -> pd.DataFrame:
    """At most `max_rows` rows of `frame`, spread over it, in its order; queries stay whole."""
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    if group_column is None:
        keep = np.linspace(0, len(frame) - 1, max_rows).round().astype(int)
        return frame.iloc[np.unique(keep)].reset_index(drop=True)
    sizes = frame.groupby(group_column, sort=False).size()
    chosen = sizes.index[np.cumsum(sizes.to_numpy()) <= max_rows]
    return frame.loc[frame[group_column].isin(chosen)].reset_index(drop=True)


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
    days = frame.pop("_day")
    exact = frame.pop("_time") if "_time" in frame.columns else None  # forecast origins
    if schema.time_column:
        offsets = pd.to_timedelta(days * SAMPLE_DAYS, unit="D")
        frame[schema.time_column] = exact if exact is not None else SAMPLE_START + offsets
    labels = frame.pop("_label")
    frame[schema.label.name] = schema.label.decode(labels) if schema.label.classes else labels
    if schema.group_column:
        frame = frame.rename(columns={"_group": schema.group_column})
    for name, values in identifiers(schema, n).items():
        if name not in frame.columns:  # an id column added to the sample schema
            frame[name] = values
    columns = [*schema.input_columns, *schema.id_columns, schema.label.name]
    return frame[columns]
