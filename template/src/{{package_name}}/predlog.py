"""The prediction log: every scored row, kept for the monitors, labels and audits.

Serving and batch scoring both write here; the drift monitor, the label join
and the performance windows read it. The storage is a folder of Parquet
segments partitioned by day (see `logstore`); this module is what writers and
readers call. Each row holds the features (typed, one column each), the
prediction, the model version, the request id and the row's number in its
request, when it was logged, its `source`, and the schema's id, time and
query columns when the caller had them.

Writes happen on a background thread, so the response path only appends to a
bounded queue. The writer keeps rows in memory and writes one segment when it
holds `monitoring.log_flush_rows` rows or its oldest row is
`monitoring.log_flush_seconds` old, and on `flush()` and `close()`: a clean
shutdown loses nothing, a crash loses at most what the queue and the buffer
held (at most log_flush_seconds of rows, or log_flush_rows rows).

`source` says who wrote the row: `served` (the HTTP service), `batch`
(`batch score`), `replay` (the pipeline scoring the test split as if it were
traffic) or `bench` (the latency bench's load). Readers take every source but
`bench` unless told otherwise. Rows converted from the old SQLite log that had
no source read as `unknown`.

`prediction_id` names one scored row for good: `<request id>-<row>` (a batch
run: `<run id>-<input row number>`), returned to the caller, so a label that
comes back later (`labels ingest`) can say which prediction it belongs to.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from itertools import chain, repeat
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, get_args

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .config import LogSource, ProjectConfig
from .logstore import (
    LogLocation,
    arrow_schema,
    count_segment_rows,
    location_of,
    log_location,
    new_writer_id,
    read_segments,
    row_key_columns,
    segment_files,
    write_segment,
)
from .privacy import LogPrivacy, log_privacy
from .schema import FeatureSchema

logger = logging.getLogger(__name__)

# The sources a writer may give, and the one rows from before the column read as.
WRITER_SOURCES: tuple[str, ...] = get_args(LogSource)
UNKNOWN_SOURCE = "unknown"
SOURCES: tuple[str, ...] = (*WRITER_SOURCES, UNKNOWN_SOURCE)
# What readers take by default: everything but the bench's synthetic load.
DEFAULT_SOURCES: tuple[str, ...] = tuple(s for s in SOURCES if s != "bench")
_STOP = object()
# The writer yields the CPU to the request path at this niceness (Linux).
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


def prediction_ids(request_id: str, rows: Sequence[int] | np.ndarray) -> list[str]:
    """The ids of rows `rows` of one request (a batch run: input row numbers)."""
    return [f"{request_id}-{int(row)}" for row in rows]


def _row_numbers(request_id: str, ids: Sequence[str]) -> list[int]:
    """The row numbers inside `ids`, which must be `prediction_ids(request_id, ...)`."""
    prefix = f"{request_id}-"
    try:
        if all(i.startswith(prefix) for i in ids):
            return [int(i[len(prefix) :]) for i in ids]
    except ValueError:
        pass
    raise ValueError(f"prediction ids must be '{prefix}<row>' (see prediction_ids)")


class _Entry(NamedTuple):
    """One request's rows as `log()` received them (a tuple: cheap on the request path)."""

    request_id: str
    logged_at: datetime
    model_version: str
    columns: Mapping[str, Sequence[Any] | np.ndarray]
    predictions: np.ndarray
    rows: Sequence[int]


def _plain(value: Any) -> Any:
    """A value Arrow takes as text: numpy scalars unwrapped, times as ISO text, NaN as None."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime):  # a time column (pandas' Timestamp is one too)
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _repeated(values: list[Any], counts: list[int]) -> list[Any]:
    """Each value `counts` times, in order: one C-level chain, not a Python loop per row."""
    return list(chain.from_iterable(map(repeat, values, counts)))


class _Buffer:
    """Entries waiting for the next segment; turned into columns only when written.

    Gathering a column across entries is one chain per column, so the writer
    spends its time per segment, not per row.
    """

    def __init__(self, schema: pa.Schema, privacy: LogPrivacy) -> None:
        self.schema = schema
        self.privacy = privacy
        self.entries: list[_Entry] = []
        self.rows = 0
        self.oldest: float | None = None  # monotonic time of the first row held

    def add(self, entry: _Entry) -> None:
        if self.oldest is None:
            self.oldest = time.monotonic()
        self.entries.append(entry)
        self.rows += len(entry.predictions)

    def table(self, source: str) -> pa.Table:
        entries = self.entries
        counts = [len(e.predictions) for e in entries]
        times = np.array([e.logged_at.replace(tzinfo=None) for e in entries], "datetime64[us]")
        own: dict[str, Any] = {
            "request_id": _repeated([e.request_id for e in entries], counts),
            "row": list(chain.from_iterable(e.rows for e in entries)),
            "logged_at": np.repeat(times, counts),
            "model_version": _repeated([e.model_version for e in entries], counts),
            "source": [source] * self.rows,
            "prediction": np.concatenate([e.predictions for e in entries]).astype("float64"),
        }
        arrays = []
        for field in self.schema:
            if field.name in own:
                arrays.append(pa.array(own[field.name], type=field.type))
            else:
                arrays.append(self._column(field, counts))
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        return self.privacy.apply(table) if self.privacy.active else table

    def _column(self, field: pa.Field, counts: list[int]) -> pa.Array:
        kind = field.type
        parts = [e.columns.get(field.name) for e in self.entries]
        numeric = [p for p in parts if isinstance(p, np.ndarray) and p.dtype.kind in "biuf"]
        if len(numeric) == len(parts):
            numbers = np.concatenate(numeric).astype("float64")
            if pa.types.is_floating(kind):
                return pa.array(numbers, type=kind, from_pandas=True)  # NaN -> null
            return pa.array([_plain(float(v)) for v in numbers], type=kind)
        values = list(
            chain.from_iterable(
                repeat(None, n) if p is None else p for p, n in zip(parts, counts, strict=True)
            )
        )
        try:  # floats and text as they are, None and NaN as null
            return pa.array(values, type=kind, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            if pa.types.is_floating(kind):
                raise
            return pa.array([_plain(v) for v in values], type=kind)


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
    (`max_pending` requests). The writer gathers entries into a buffer and
    writes a segment when the buffer holds `flush_rows` rows or its oldest
    row is `flush_interval_s` old, on `flush()` and on `close()`. When the
    queue is full (the store cannot keep up) rows are dropped and counted in
    `dropped_rows` rather than slowing responses; the service exposes that
    count in /metrics. Every row it writes carries `source`, one of
    `WRITER_SOURCES`. Each logger is its own writer (`writer_id` in its file
    names), so several processes log to one folder without contending.
    """

    def __init__(
        self,
        location: LogLocation,
        schema: FeatureSchema,
        *,
        source: str,
        max_pending: int = 10_000,
        flush_rows: int = 100_000,
        flush_interval_s: float = 60.0,
        privacy: LogPrivacy | None = None,
    ) -> None:
        self.location = location
        self.source = _check_source(source, WRITER_SOURCES)
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self.writer_id = new_writer_id()
        self.rows_written = 0
        self.dropped_rows = 0
        self.segments_written = 0
        self._arrow_schema = arrow_schema(schema)
        self._privacy = privacy or LogPrivacy()
        self._buffer = _Buffer(self._arrow_schema, self._privacy)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        segment_files(location)  # an unusable or unconverted log fails here, not later
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
        service answers; others must be `prediction_ids(request_id, rows)`);
        `wait=True` (batch scoring) blocks until there is room instead of dropping.
        """
        if self._closed:
            raise RuntimeError("the prediction log is closed")
        if ids is None:
            rows: Sequence[int] = range(len(predictions))
        elif len(ids) != len(predictions):
            raise ValueError(f"{len(ids)} prediction ids for {len(predictions)} predictions")
        else:
            rows = _row_numbers(request_id, ids)
        entry = _Entry(
            request_id, datetime.now(UTC), model_version, columns, np.asarray(predictions), rows
        )
        try:
            self._queue.put(entry, block=wait)
        except queue.Full:
            self.dropped_rows += len(predictions)
            logger.warning("prediction log queue is full; dropped %d row(s)", len(predictions))
            return False
        return True

    def flush(self) -> None:
        """Block until everything queued so far is written as a segment."""
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def close(self) -> None:
        """Write everything still queued or buffered, then stop the writer thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()

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

    @property
    def buffered_rows(self) -> int:
        """Rows taken off the queue and held for the next segment."""
        return self._buffer.rows

    def _wait_s(self) -> float | None:
        """How long the writer may wait for the next entry before the buffer is due."""
        if self._buffer.oldest is None:
            return None
        due = self._buffer.oldest + self.flush_interval_s
        return max(due - time.monotonic(), 0.0)

    def _run(self) -> None:
        _lower_priority()
        while True:
            try:
                item = self._queue.get(timeout=self._wait_s())
            except queue.Empty:
                self._write_buffer()  # the oldest row held is flush_interval_s old
                continue
            if isinstance(item, _Entry):
                self._buffer.add(item)
                if self._buffer.rows >= self.flush_rows:
                    self._write_buffer()
                continue
            self._write_buffer()
            if isinstance(item, threading.Event):
                item.set()
            if item is _STOP:
                return

    def _write_buffer(self) -> None:
        buffer, self._buffer = self._buffer, _Buffer(self._arrow_schema, self._privacy)
        if buffer.rows == 0:
            return
        try:
            table = buffer.table(self.source)
            written = write_segment(
                self.location, table, writer=self.writer_id, number=self.segments_written + 1
            )
        except (OSError, pa.ArrowException, ValueError, TypeError):
            self.dropped_rows += buffer.rows
            logger.exception("could not write %d prediction log rows", buffer.rows)
            return
        self.segments_written += 1
        self.rows_written += written


def open_prediction_log(
    config: ProjectConfig, *, source: str | None = None, max_pending: int = 10_000
) -> PredictionLogger:
    """The project's prediction log (`paths.prediction_log`), ready to write.

    Rows are tagged `source`, by default the service's (`serving.log_source`).
    """
    return PredictionLogger(
        log_location(config),
        config.feature_schema,
        source=source or config.serving.log_source,
        max_pending=max_pending,
        flush_rows=config.monitoring.log_flush_rows,
        flush_interval_s=config.monitoring.log_flush_seconds,
        privacy=log_privacy(config),
    )


def count_rows(log: Path | str, *, source: str) -> int:
    """How many rows of `source` the log folder `log` holds (0 when there is no log yet)."""
    _check_source(source, SOURCES)
    return count_segment_rows(location_of(str(log)), source=source)


def read_prediction_log(
    config: ProjectConfig,
    *,
    limit: int | None = None,
    sources: Collection[str] | None = None,
    since: datetime | None = None,
) -> pd.DataFrame:
    """The logged rows of the chosen `sources`, oldest first: one column per feature and more.

    Columns: every schema feature (numeric as float, categorical as text),
    `prediction`, `model_version`, `logged_at` (UTC timestamps), `request_id`,
    `source` and `prediction_id`, the schema's id and time columns as logged
    (null when the caller had none), and for ranking the group column (the
    query id; the request id when the caller sent none). `sources` defaults
    to `DEFAULT_SOURCES` (all but the bench's load); `limit` keeps only the
    most recent of those rows, `since` those logged at or after it. A missing
    log reads as no rows; nothing is ever changed.
    """
    schema = config.feature_schema
    chosen = DEFAULT_SOURCES if sources is None else check_sources(sources)
    table = read_segments(log_location(config), schema, sources=chosen, since=since, limit=limit)
    return log_frame(table, schema)


def log_frame(table: pa.Table, schema: FeatureSchema) -> pd.DataFrame:
    """Segments' rows as the frame readers use (see `read_prediction_log`)."""
    frame = pd.DataFrame(index=pd.RangeIndex(table.num_rows))
    for spec in schema.features:
        values = table[spec.name].to_numpy(zero_copy_only=False)
        if spec.kind == "numeric":
            frame[spec.name] = np.asarray(values, dtype="float64")
        else:
            frame[spec.name] = pd.Series(values, dtype="object").where(pd.notna(values), None)
    frame["prediction"] = np.asarray(table["prediction"].to_numpy(zero_copy_only=False), "float64")
    frame["model_version"] = pd.Series(table["model_version"].to_pylist(), dtype="object")
    frame["logged_at"] = pd.Series(
        table["logged_at"].to_pandas(), dtype="datetime64[ns, UTC]"
    ).reset_index(drop=True)
    request_ids = table["request_id"].to_pylist()
    frame["request_id"] = pd.Series(request_ids, dtype="object")
    frame["source"] = pd.Series(
        table["source"].fill_null(UNKNOWN_SOURCE).to_pylist(), dtype="object"
    )
    ids = pc.binary_join_element_wise(table["request_id"], pc.cast(table["row"], pa.string()), "-")
    frame["prediction_id"] = pd.Series(ids.to_pylist(), dtype="object")
    for name in row_key_columns(schema):
        frame[name] = pd.Series(table[name].to_pylist(), dtype="object")
    if schema.group_column:  # ranking: the query each row belongs to (its request if unknown)
        given = table[schema.group_column].to_pylist()
        frame[schema.group_column] = pd.Series(
            [str(g) if g is not None else r for g, r in zip(given, request_ids, strict=True)],
            dtype="object",
        )
    return frame


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
