"""Outcomes coming back: true labels for logged predictions, stored next to the log.

A label names its prediction either by `prediction_id` (what the service and
the batch scorer answered) or by the entity's id column(s) and an event time
(the schema's time column); it then belongs to the latest prediction for that
entity at most `problem.label_delay_days` before it. Labels live beside the
log, as Parquet files in its `_labels/` folder (one per ingest), one label per
prediction id. Ingesting is idempotent (a label already stored is counted, not
written again) and never overwrites: a different value for a stored label is a conflict, left
for a person to settle. Labels for unknown predictions, repeated in the file
or timed before their prediction are reported and not stored.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from .config import ProjectConfig
from .data import parse_times
from .logstore import (
    JOINED_LABEL,
    LABELS_FOLDER,
    arrow_schema,
    join_labels,
    label_files,
    log_location,
)
from .predlog import DEFAULT_SOURCES, check_sources, event_times, log_frame, read_prediction_log
from .privacy import LOG_HASH_KEY_ENV_VAR, log_privacy
from .schema import FeatureSchema, SchemaError, canonical_text
from .tables import DataError, read_table

PREDICTION_ID = "prediction_id"
# What became of each row of a label file, in the order the summary shows them.
OUTCOMES = (
    "stored",
    "already stored",
    "unknown",
    "duplicate",
    "conflicting",
    "before prediction",
)
EXAMPLE_ROWS = 5  # input row numbers shown per outcome


class LabelFileError(ValueError):
    """The label file cannot be ingested at all (unreadable, a column missing, bad values)."""


@dataclass(frozen=True)
class IngestResult:
    """What one `labels ingest` did with each row of the file."""

    source: Path
    rows: int
    keyed_by: str
    counts: dict[str, int]
    examples: dict[str, list[int]] = field(default_factory=dict)  # input row numbers


def ingest_labels(
    config: ProjectConfig, source: Path, *, sources: Collection[str] | None = None
) -> IngestResult:
    """Store the labels of `source` (CSV or Parquet) that belong to logged predictions.

    `sources` chooses the log rows a label may belong to (default: all but the
    bench's load). Raises `LabelFileError` when the file itself is unusable.
    """
    try:
        frame = read_table(Path(source)).reset_index(drop=True)
    except DataError as error:
        raise LabelFileError(str(error)) from None
    return ingest_label_frame(config, frame, source=Path(source), sources=sources)


def ingest_label_frame(
    config: ProjectConfig,
    frame: pd.DataFrame,
    *,
    source: Path,
    sources: Collection[str] | None = None,
) -> IngestResult:
    """`ingest_labels` for a table already read (or made, from a forecast's actuals)."""
    schema = config.feature_schema
    keyed_by = _key_columns(list(map(str, frame.columns)), schema)
    if schema.label.nullable:  # a row nobody labelled says nothing: skip it
        frame = frame.loc[frame[schema.label.name].notna()].reset_index(drop=True)
    values = _encoded_labels(frame[schema.label.name], config)
    times = _label_times(frame, schema)
    log = read_prediction_log(config, sources=sources)
    logged_at = event_times(log, schema)
    outcome = pd.Series(pd.NA, index=frame.index, dtype="object")
    if keyed_by == PREDICTION_ID:
        ids = frame[PREDICTION_ID].map(canonical_text)
        known = pd.Series(logged_at.to_numpy(), index=log[PREDICTION_ID]).dropna()
        known = known[~known.index.duplicated()]
        predicted = ids.map(known)
        outcome[predicted.isna()] = "unknown"
        if times is not None:
            outcome[outcome.isna() & (times < predicted)] = "before prediction"
    else:
        assert times is not None  # entity keys need the event time (checked above)
        ids, outcome = _match_entities(frame, times, log, logged_at, config)
    _mark_duplicates(ids, values, outcome)
    stored = read_labels(config)
    before = pd.Series(stored["label"].to_numpy(), index=stored[PREDICTION_ID])
    previous = ids.map(before)
    open_rows = outcome.isna() & previous.notna()
    same = np.isclose(previous.to_numpy(dtype=float), values, equal_nan=False)
    outcome[open_rows & same] = "already stored"
    outcome[open_rows & ~same] = "conflicting"
    new = outcome.isna()
    outcome[new] = "stored"
    if new.any():
        _store(config, ids[new], values[new.to_numpy()], times, new, Path(source))
    counts = {name: int((outcome == name).sum()) for name in OUTCOMES}
    examples = {
        name: [int(i) for i in np.flatnonzero((outcome == name).to_numpy())[:EXAMPLE_ROWS]]
        for name in OUTCOMES
        if name != "stored"
    }
    return IngestResult(Path(source), len(frame), keyed_by, counts, examples)


def read_labels(config: ProjectConfig) -> pd.DataFrame:
    """The stored labels: `prediction_id`, `label` (class id or number), `label_time`.

    A prediction id stored twice (two ingests racing) keeps its first label.
    """
    location = log_location(config)
    columns = [PREDICTION_ID, "label", "label_time", "ingested_at"]
    frame = pd.DataFrame({name: pd.Series(dtype="object") for name in columns})
    paths = label_files(location)
    if paths:
        dataset = ds.dataset(paths, format="parquet", filesystem=location.filesystem)
        frame = dataset.to_table(columns=columns).to_pandas()
    frame = frame.sort_values("ingested_at", kind="stable").drop_duplicates(PREDICTION_ID)
    frame = frame.drop(columns="ingested_at").reset_index(drop=True)
    frame["label"] = frame["label"].astype("float64")
    frame["label_time"] = pd.to_datetime(frame["label_time"], utc=True, format="ISO8601")
    return frame


def labelled_predictions(
    config: ProjectConfig, *, sources: Collection[str] | None = None
) -> pd.DataFrame:
    """The prediction log with each row's label (NaN while none came back) and event time.

    Columns: those of `read_prediction_log`, the schema's label column and
    `event_time` (the row's time column when logged, else `logged_at`).
    """
    schema = config.feature_schema
    chosen = DEFAULT_SOURCES if sources is None else check_sources(sources)
    columns = arrow_schema(schema).names
    table = join_labels(log_location(config), schema, columns=columns, sources=chosen)
    log = log_frame(table, schema)
    labels = table[JOINED_LABEL].to_numpy(zero_copy_only=False)
    log[schema.label.name] = np.asarray(labels, dtype="float64")
    log["event_time"] = event_times(log, schema)
    return log


def _key_columns(columns: list[str], schema: FeatureSchema) -> str:
    """How the file names its predictions: "prediction_id" or "entity and time"."""
    missing_label = [] if schema.label.name in columns else [schema.label.name]
    if PREDICTION_ID in columns:
        keyed_by = PREDICTION_ID
        missing = missing_label
    else:
        keyed_by = "entity and time"
        needed = [*schema.id_columns, *schema.time_columns]
        missing = [*missing_label, *(name for name in needed if name not in columns)]
        if not schema.id_columns or not schema.time_column:
            raise LabelFileError(
                f"the label file has no '{PREDICTION_ID}' column, and configs/schema.yaml "
                "names no id_columns and time_column to find predictions by; add the "
                f"'{PREDICTION_ID}' the service or batch scorer returned"
            )
    if missing:
        how = (
            f"'{PREDICTION_ID}'"
            if keyed_by == PREDICTION_ID
            else f"{[*schema.id_columns, schema.time_column]}"
        )
        raise LabelFileError(
            f"the label file lacks the column(s) {missing}; labels need '{schema.label.name}' "
            f"and either '{PREDICTION_ID}' or the entity key {how}"
        )
    return keyed_by


def _encoded_labels(column: pd.Series, config: ProjectConfig) -> np.ndarray:
    """The labels as the model's targets (class ids, numbers); refuses what cannot be one."""
    spec = config.feature_schema.label
    try:
        values = spec.encode(column.to_numpy(dtype=object))
    except SchemaError as error:
        raise LabelFileError(str(error)) from None
    empty = np.flatnonzero(~np.isfinite(values))
    if empty.size:
        raise LabelFileError(
            f"label '{spec.name}' is missing or not a number in row(s) "
            f"{empty[:EXAMPLE_ROWS].tolist()}; every row of a label file needs its label"
        )
    low, high, whole = spec.allowed_range()
    bad = np.zeros(len(values), dtype=bool)
    if low is not None:
        bad |= values < low
    if high is not None:
        bad |= values > high
    if whole:
        bad |= values != np.round(values)
    if bad.any():
        shown = sorted({canonical_text(v) or "" for v in values[bad]})[:EXAMPLE_ROWS]
        allowed = _allowed_text(low, high, whole)
        raise LabelFileError(
            f"label '{spec.name}' cannot encode the value(s) {shown} "
            f"(row(s) {np.flatnonzero(bad)[:EXAMPLE_ROWS].tolist()}): a {spec.kind} label "
            f"takes {allowed}"
        )
    return values


def _allowed_text(low: float | None, high: float | None, whole: bool) -> str:
    kind = "whole numbers" if whole else "numbers"
    if low is not None and high is not None:
        return f"{kind} from {low:g} to {high:g}"
    if low is not None:
        return f"{kind} of at least {low:g}"
    if high is not None:
        return f"{kind} of at most {high:g}"
    return kind


def _label_times(frame: pd.DataFrame, schema: FeatureSchema) -> pd.Series | None:
    """The labels' event times (UTC), or None when the file has no time column."""
    column = schema.time_column
    if not column or column not in frame.columns:
        return None
    try:
        times = parse_times(frame[column], schema)
    except SchemaError as error:
        # A label file may come from another system than the data: ISO 8601 is read too.
        try:
            times = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        except (ValueError, TypeError):
            raise LabelFileError(str(error)) from None
    missing = np.flatnonzero(times.isna().to_numpy())
    if missing.size:
        raise LabelFileError(
            f"column '{column}' (the label's event time) is empty in row(s) "
            f"{missing[:EXAMPLE_ROWS].tolist()}"
        )
    return times


def _entity_keys(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    """One text key per row from the id column(s), so 7, 7.0 and "7" are one entity."""
    texts = [frame[name].map(canonical_text).tolist() for name in names]
    keys = [
        "\x1f".join(parts) if all(part is not None for part in parts) else None
        for parts in zip(*texts, strict=True)
    ]
    return pd.Series(keys, index=frame.index, dtype="object")


def _as_logged(frame: pd.DataFrame, names: tuple[str, ...], config: ProjectConfig) -> pd.DataFrame:
    """The label file's id columns written the way the log keeps them (pii ones hashed)."""
    privacy = log_privacy(config)
    emptied = [name for name in names if name in privacy.dropped]
    if emptied:
        raise LabelFileError(
            f"the id column(s) {emptied} are tagged pii and the log keeps them empty "
            f"(set {LOG_HASH_KEY_ENV_VAR} to keep a keyed hash instead), so labels cannot "
            f"find their predictions by entity; send the '{PREDICTION_ID}' column"
        )
    hashed = [name for name in names if name in privacy.hashed]
    if not hashed:
        return frame
    frame = frame.copy()
    for name in hashed:
        frame[name] = privacy.hash_values(frame[name].tolist())
    return frame


def _match_entities(
    frame: pd.DataFrame,
    times: pd.Series,
    log: pd.DataFrame,
    logged_at: pd.Series,
    config: ProjectConfig,
) -> tuple[pd.Series, pd.Series]:
    """Each label's prediction id: the entity's latest prediction within the label delay."""
    names = config.feature_schema.id_columns
    frame = _as_logged(frame, names, config)
    outcome = pd.Series(pd.NA, index=frame.index, dtype="object")
    at = times.astype("datetime64[ns, UTC]")
    labels = pd.DataFrame({"entity": _entity_keys(frame, names), "at": at, "row": frame.index})
    logged = pd.DataFrame(
        {
            "entity": _entity_keys(log, names),
            "at": logged_at.astype("datetime64[ns, UTC]"),
            "id": log[PREDICTION_ID],
        }
    ).dropna(subset=["entity", "id"])
    delay = pd.Timedelta(days=config.problem.label_delay_days)
    matched = pd.merge_asof(
        labels.dropna(subset=["entity"]).sort_values("at"),
        logged.sort_values("at"),
        on="at",
        by="entity",
        direction="backward",
        tolerance=delay,
    ).set_index("row")
    ids = matched["id"].reindex(frame.index).astype(object)
    first = logged.groupby("entity")["at"].min()
    earliest = labels["entity"].map(first)
    outcome[ids.isna()] = "unknown"
    outcome[ids.isna() & (at < earliest)] = "before prediction"
    return ids.where(ids.notna(), None), outcome


def _mark_duplicates(ids: pd.Series, values: np.ndarray, outcome: pd.Series) -> None:
    """Rows naming a prediction another row of the file names too.

    When they agree the first is kept and the others are duplicates; when they
    disagree none is kept (which one is right is not for us to guess).
    """
    open_rows = outcome.isna() & ids.notna()
    frame = pd.DataFrame({"id": ids[open_rows], "value": values[open_rows.to_numpy()]})
    repeated = frame["id"].duplicated(keep=False)
    if not repeated.any():
        return
    spread = frame.groupby("id")["value"].transform(lambda v: v.max() - v.min())
    later = frame["id"].duplicated(keep="first")
    duplicate = repeated & (later | (spread > 0))
    outcome[frame.index[duplicate.to_numpy()]] = "duplicate"


def _store(
    config: ProjectConfig,
    ids: pd.Series,
    values: np.ndarray,
    times: pd.Series | None,
    rows: pd.Series,
    source: Path,
) -> None:
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    when = [None] * len(ids) if times is None else [t.isoformat() for t in times[rows]]
    records = [
        (str(i), float(v), t, now, source.name)
        for i, v, t in zip(ids.tolist(), values.tolist(), when, strict=True)
        if not math.isnan(v)
    ]
    location = log_location(config)
    folder = location.join(LABELS_FOLDER)
    location.filesystem.create_dir(folder, recursive=True)
    table = pa.table(
        {
            PREDICTION_ID: pa.array([r[0] for r in records], pa.string()),
            "label": pa.array([r[1] for r in records], pa.float64()),
            "label_time": pa.array([r[2] for r in records], pa.string()),
            "ingested_at": pa.array([r[3] for r in records], pa.string()),
            "source_file": pa.array([r[4] for r in records], pa.string()),
        }
    )
    name = f"labels-{now.replace(':', '').replace('-', '')}-{secrets.token_hex(3)}.parquet"
    pq.write_table(table, f"{folder}/{name}", filesystem=location.filesystem, compression="zstd")
