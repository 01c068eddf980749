"""The prediction log: every scored row, kept for the drift monitor and audits.

Serving and batch scoring both write here and the drift monitor reads it, so
the three agree on one format: a SQLite file with one row per scored row
(request id, UTC timestamp, model version, the features as a JSON object, the
prediction as one number, its `source` and its `prediction_id`). Writes happen on a background
thread, so the response path only appends to a bounded queue; `close()` drains
that queue, so a clean shutdown loses nothing. The writer keeps its share of
the interpreter small (see `PredictionLogger`): on a service's one core, a
writer that held the GIL for a whole flush was a request's tail latency.

`source` says who wrote the row: `served` (the HTTP service), `batch`
(`batch score`), `replay` (the pipeline scoring the test split as if it were
traffic) or `bench` (the latency bench's load). Readers take every source but
`bench` unless told otherwise. Logs written before the column existed get it
when a writer opens them; their rows read as `unknown`, since nothing recorded
who wrote them (`make run` replayed test rows into the same file), and count
as they always did.

`prediction_id` names one scored row for good: `<request id>-<row>` (a batch
run: `<run id>-<input row number>`), returned to the caller, so a label that
comes back later (`labels ingest`) can say which prediction it belongs to.
Rows written before the column existed read it as null. Besides the features,
the JSON object keeps the schema's id column(s), time column and query id when
the caller had them, which lets labels keyed by entity and time find their row.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, get_args

import numpy as np
import pandas as pd
from pydantic_core import to_json

from .config import LogSource, ProjectConfig
from .schema import FeatureSchema

logger = logging.getLogger(__name__)

# The sources a writer may give, and the one rows from before the column read as.
WRITER_SOURCES: tuple[str, ...] = get_args(LogSource)
UNKNOWN_SOURCE = "unknown"
SOURCES: tuple[str, ...] = (*WRITER_SOURCES, UNKNOWN_SOURCE)
# What readers take by default: everything but the bench's synthetic load.
DEFAULT_SOURCES: tuple[str, ...] = tuple(s for s in SOURCES if s != "bench")

# The default keeps an old-version writer (still running during an update)
# working once a new one has added the column: its rows read as `unknown`.
_SOURCE_COLUMN = f"source TEXT NOT NULL DEFAULT '{UNKNOWN_SOURCE}'"
_PREDICTION_ID_COLUMN = "prediction_id TEXT"
# Columns added after the first release, and how a writer adds them to an old log.
_ADDED_COLUMNS = {"source": _SOURCE_COLUMN, "prediction_id": _PREDICTION_ID_COLUMN}
_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    logged_at TEXT NOT NULL,
    model_version TEXT NOT NULL,
    features TEXT NOT NULL,
    prediction REAL,
    {_SOURCE_COLUMN},
    {_PREDICTION_ID_COLUMN}
)
"""
_INSERT = (
    "INSERT INTO predictions (request_id, logged_at, model_version, features, prediction, "
    "source, prediction_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_STOP = object()
# How the writer stays out of the request path's way: at most this many rows
# per transaction (each commit releases the GIL and lets waiting requests run),
# at this niceness.
WRITE_CHUNK_ROWS = 128
WRITER_NICENESS = 10


def _check_source(source: str, accepted: tuple[str, ...]) -> str:
    if source not in accepted:
        raise ValueError(
            f"'{source}' is not a prediction log source: choose from {', '.join(accepted)}"
        )
    return source


def check_sources(sources: Collection[str]) -> tuple[str, ...]:
    """`sources` as a tuple, each one checked; a ValueError names a bad one."""
    chosen = tuple(_check_source(str(source), SOURCES) for source in sources)
    if not chosen:
        raise ValueError(f"no source given: choose one or more of {', '.join(SOURCES)}")
    return chosen


def parse_sources(text: str) -> tuple[str, ...]:
    """Sources from a comma-separated list (`--log-source served,batch`)."""
    return check_sources([part.strip() for part in text.split(",") if part.strip()])


@dataclass(frozen=True)
class _Entry:
    request_id: str
    logged_at: str
    model_version: str
    columns: Mapping[str, Sequence[Any] | np.ndarray]
    predictions: np.ndarray
    prediction_ids: Sequence[str]


def prediction_ids(request_id: str, rows: Sequence[int] | np.ndarray) -> list[str]:
    """The ids of rows `rows` of one request (a batch run: input row numbers)."""
    return [f"{request_id}-{int(row)}" for row in rows]


def _columns(connection: sqlite3.Connection) -> set[str]:
    return {str(row[1]) for row in connection.execute("PRAGMA table_info(predictions)")}


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(_CREATE_TABLE)
    connection.commit()
    for name, definition in _ADDED_COLUMNS.items():
        if name in _columns(connection):
            continue
        try:  # a log from before the column: add it, keep the rows
            connection.execute(f"ALTER TABLE predictions ADD COLUMN {definition}")
            connection.commit()
        except sqlite3.OperationalError:
            if name not in _columns(connection):  # not another worker that got there first
                raise
    # No index on prediction_id: no reader looks rows up by it (labels are joined
    # in memory), and keeping one up to date was two thirds of every insert's
    # cost. A log that already has one keeps it.
    return connection


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy types unwrapped, NaN and None both null."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime):  # a time column (pandas' Timestamp is one too)
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_values(column: Sequence[Any] | np.ndarray) -> list[Any]:
    """A column as JSON-ready values; a numeric array in one call (NaN is written as null)."""
    if isinstance(column, np.ndarray) and column.dtype.kind in "biuf":
        values: list[Any] = column.tolist()
        return values
    return [_plain(value) for value in column]


def _json_object(features: dict[str, Any]) -> str:
    """One row's features as JSON text (an unexpected type is written as its text)."""
    return to_json(features, inf_nan_mode="null", fallback=str).decode()


def _lower_priority() -> None:
    """Make the calling thread yield the CPU to the request path (Linux: per-thread nice).

    The service runs one worker per core, so the writer shares its core with
    the event loop; at nice 10 the scheduler lets a woken event loop run first.
    Elsewhere (or when refused) the thread keeps its priority.
    """
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICENESS)


class PredictionLogger:
    """Appends scored rows to the log from a background thread.

    `log()` never blocks: it puts one entry per request on a bounded queue
    (`max_pending` requests). The writer wakes on the first entry, lets more
    gather for `linger_s` and writes them in transactions of at most
    `WRITE_CHUNK_ROWS` rows (one commit per request would cost more CPU than
    the request itself; one huge transaction would hold the interpreter for
    its whole encoding). Rows are encoded by pydantic-core, not row by row in
    Python, and the thread runs at a lower priority than the request path.
    When the queue is full (the disk cannot keep up) rows are dropped and
    counted in `dropped_rows` rather than slowing responses; the service
    exposes that count in /metrics. Every row it writes carries `source`, one
    of `WRITER_SOURCES`.
    """

    def __init__(
        self,
        path: Path,
        *,
        source: str,
        max_pending: int = 10_000,
        linger_s: float = 0.01,
    ) -> None:
        self.path = path
        self.source = _check_source(source, WRITER_SOURCES)
        self.linger_s = linger_s
        self.rows_written = 0
        self.dropped_rows = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        self._connection = _connect(path)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def log(
        self,
        request_id: str,
        model_version: str,
        columns: Mapping[str, Sequence[Any] | np.ndarray],
        predictions: np.ndarray,
        *,
        ids: Sequence[str] | None = None,
        wait: bool = False,
    ) -> bool:
        """Queue the rows of one request; False when the queue was full and they were dropped.

        `ids` are the rows' prediction ids (default `<request_id>-<row>`, as the
        service answers); `wait=True` (batch scoring) blocks until there is room
        instead of dropping.
        """
        if self._closed:
            raise RuntimeError("the prediction log is closed")
        logged_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        if ids is None:
            ids = prediction_ids(request_id, range(len(predictions)))
        elif len(ids) != len(predictions):
            raise ValueError(f"{len(ids)} prediction ids for {len(predictions)} predictions")
        entry = _Entry(request_id, logged_at, model_version, columns, predictions, ids)
        try:
            self._queue.put(entry, block=wait)
        except queue.Full:
            self.dropped_rows += len(predictions)
            logger.warning("prediction log queue is full; dropped %d row(s)", len(predictions))
            return False
        return True

    def flush(self) -> None:
        """Block until everything queued so far is on disk."""
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def close(self) -> None:
        """Write everything still queued, then stop the writer thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        self._connection.close()

    def __enter__(self) -> PredictionLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Requests queued and not yet written (roughly: the queue moves while you look)."""
        return self._queue.qsize()

    def _run(self) -> None:
        _lower_priority()
        stop = False
        while not stop:
            items = [self._queue.get()]
            if items[0] is not _STOP and not isinstance(items[0], threading.Event):
                time.sleep(self.linger_s)
            while True:  # drain whatever else is waiting: one transaction for all of it
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            entries = [item for item in items if isinstance(item, _Entry)]
            if entries:
                try:
                    self._write(entries)
                except sqlite3.Error:
                    logger.exception("could not write %d prediction log entries", len(entries))
            for item in items:
                if isinstance(item, threading.Event):
                    item.set()
                stop = stop or item is _STOP

    def _write(self, entries: list[_Entry]) -> None:
        rows: list[tuple[str, str, str, str, float | None, str, str]] = []
        for entry in entries:
            names = list(entry.columns)
            values = [_json_values(entry.columns[name]) for name in names]
            predictions = _json_values(entry.predictions)
            feature_rows = list(zip(*values, strict=True)) if values else [()] * len(predictions)
            for index, prediction in enumerate(predictions):
                features = dict(zip(names, feature_rows[index], strict=True))
                rows.append(
                    (
                        entry.request_id,
                        entry.logged_at,
                        entry.model_version,
                        _json_object(features),
                        _plain(float(prediction)),
                        self.source,
                        entry.prediction_ids[index],
                    )
                )
                if len(rows) >= WRITE_CHUNK_ROWS:
                    self._commit(rows)
                    rows = []
        if rows:
            self._commit(rows)

    def _commit(self, rows: list[tuple[str, str, str, str, float | None, str, str]]) -> None:
        with self._connection:
            self._connection.executemany(_INSERT, rows)
        self.rows_written += len(rows)


def open_prediction_log(config: ProjectConfig, *, source: str | None = None) -> PredictionLogger:
    """The project's prediction log (`paths.prediction_log`), ready to write.

    Rows are tagged `source`, by default the service's (`serving.log_source`).
    """
    return PredictionLogger(config.prediction_log_path, source=source or config.serving.log_source)


def _source_of_rows(present: set[str]) -> str:
    """The SQL for a row's source: its column, or `unknown` in a log from before it."""
    return "source" if "source" in present else f"'{UNKNOWN_SOURCE}'"


def count_rows(path: Path, *, source: str) -> int:
    """How many rows of `source` the log at `path` holds (0 when there is no log yet)."""
    _check_source(source, SOURCES)
    if not path.is_file():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        where = _source_of_rows(_columns(connection))
        query = f"SELECT COUNT(*) FROM predictions WHERE {where} = ?"
        count = connection.execute(query, (source,)).fetchone()[0]
    connection.close()
    return int(count)


def read_prediction_log(
    config: ProjectConfig,
    *,
    limit: int | None = None,
    sources: Collection[str] | None = None,
) -> pd.DataFrame:
    """The logged rows of the chosen `sources`, oldest first: one column per feature and more.

    Columns: every schema feature (numeric as float, categorical as text),
    `prediction`, `model_version`, `logged_at` (UTC timestamps), `request_id`,
    `source` and `prediction_id` (null on rows from before it), the schema's id
    and time columns as logged (null when the caller had none), and for
    ranking the group column (the query id). `sources` defaults to
    `DEFAULT_SOURCES` (all but the bench's load); `limit` keeps only the most
    recent of those rows. A missing log reads as no rows; the file is opened
    read-only and never changed.
    """
    schema = config.feature_schema
    path = config.prediction_log_path
    chosen = DEFAULT_SOURCES if sources is None else check_sources(sources)
    records: list[tuple[str, str, str, str, float | None, str, str | None]] = []
    if path.is_file():
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            present = _columns(connection)
            # A log from before a column: every row of unknown source, no prediction ids.
            source = _source_of_rows(present)
            ids = "prediction_id" if "prediction_id" in present else "NULL"
            marks = ", ".join("?" for _ in chosen)
            query = (
                f"SELECT request_id, logged_at, model_version, features, prediction, {source}, "
                f"{ids} FROM predictions WHERE {source} IN ({marks}) ORDER BY id DESC"
            )
            if limit is None:
                records = connection.execute(query, chosen).fetchall()
            else:
                records = connection.execute(f"{query} LIMIT ?", (*chosen, int(limit))).fetchall()
        connection.close()
        records.reverse()
    payloads = [json.loads(record[3]) for record in records]
    features = pd.DataFrame.from_records(
        payloads,
        columns=schema.feature_names,
        index=pd.RangeIndex(len(records)),
    )
    for spec in schema.features:
        if spec.kind == "numeric":
            features[spec.name] = pd.to_numeric(features[spec.name]).astype("float64")
        else:
            features[spec.name] = features[spec.name].astype("object")
    features["prediction"] = np.array([r[4] for r in records], dtype="float64")
    features["model_version"] = pd.Series([r[2] for r in records], dtype="object")
    features["logged_at"] = pd.to_datetime(
        pd.Series([r[1] for r in records], dtype="object"), utc=True
    )
    features["request_id"] = pd.Series([r[0] for r in records], dtype="object")
    features["source"] = pd.Series([r[5] for r in records], dtype="object")
    features["prediction_id"] = pd.Series([r[6] for r in records], dtype="object")
    for name in (*schema.id_columns, *schema.time_columns):
        features[name] = pd.Series([payload.get(name) for payload in payloads], dtype="object")
    if schema.group_column:  # ranking: the query each row belongs to (its request if unknown)
        features[schema.group_column] = pd.Series(
            [
                str(payload.get(schema.group_column) or record[0])
                for payload, record in zip(payloads, records, strict=True)
            ],
            dtype="object",
        )
    return features


def event_times(log: pd.DataFrame, schema: FeatureSchema) -> pd.Series:
    """When each logged prediction happened: its time column as logged, else `logged_at`.

    Batch runs log the input's event time, which for a backfill is long before
    the run; the wall clock of the log is only the fallback. UTC timestamps.
    """
    unit = "datetime64[ns, UTC]"
    times = pd.Series(pd.NaT, index=log.index, dtype=unit)
    column = schema.time_column
    if column and column in log.columns:
        given = log[column].astype(object)
        times = pd.to_datetime(given, utc=True, errors="coerce", format="ISO8601").astype(unit)
        if schema.time_format:  # the service logs the caller's text as sent
            again = pd.to_datetime(given, utc=True, errors="coerce", format=schema.time_format)
            times = times.fillna(again.astype(unit))
    return times.fillna(log["logged_at"].astype(unit))
