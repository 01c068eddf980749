"""Where and how the prediction log lies on disk (or in an object store).

The log is a folder of append-only Parquet segments, partitioned by the UTC
day the rows were logged:

    data/predictions/                      paths.prediction_log (a folder or a URI)
      date=2026-12-07/
        part-20261207T101500123456-<writer>-000001.parquet
      _labels/                             what `labels ingest` stored (labels.py)

Each writer (a service worker process, a batch run) has its own id in its file
names, so writers never contend for a file and need no lock. A segment is
written whole under a temporary name and renamed (on an object store, one PUT),
so a reader never sees half a file. Columns are typed: one per schema feature
(numbers as float64, categories as dictionary-encoded text), the row keys the
caller had (id, time and query columns, as text), and the log's own columns
(`LOG_COLUMNS`). `prediction_id` is not stored: it is `<request_id>-<row>`,
rebuilt on reading. A feature added to the schema later is a new column;
older segments read it as null.

Readers go through pyarrow datasets, which skip whole days outside a time
window and read only the columns asked for; `prune_log` drops whole days.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from .config import ProjectConfig
from .schema import FeatureSchema

PARTITION_KEY = "date"
LABELS_FOLDER = "_labels"
# The label's column in `join_labels` output (a name no schema column takes).
JOINED_LABEL = "__label__"
SEGMENT_SUFFIX = ".parquet"
LEGACY_SUFFIX = ".sqlite"
# A marker `log convert` leaves in the folder once an old SQLite log is in it.
CONVERTED_MARKER = "_converted_from_sqlite.json"
_DAY = re.compile(rf"^{PARTITION_KEY}=(\d{{4}}-\d{{2}}-\d{{2}})$")
TIMESTAMP = pa.timestamp("us", tz="UTC")
# The log's own columns, in file order after the row keys and features.
LOG_COLUMNS: dict[str, pa.DataType] = {
    "request_id": pa.string(),
    "row": pa.int32(),
    "logged_at": TIMESTAMP,
    "model_version": pa.string(),
    "source": pa.string(),
    "prediction": pa.float64(),
}


class LogError(ValueError):
    """The log's location is unusable, or holds an old-format log not yet converted."""


@dataclass(frozen=True)
class LogLocation:
    """A log folder on some filesystem: `root` is the path that filesystem understands."""

    filesystem: pafs.FileSystem
    root: str
    display: str

    @property
    def is_local(self) -> bool:
        return isinstance(self.filesystem, pafs.LocalFileSystem)

    def join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])


def log_location(config: ProjectConfig) -> LogLocation:
    """The project's log folder (`paths.prediction_log`): a local path or a URI."""
    return location_of(config.prediction_log_location)


def location_of(text: str) -> LogLocation:
    """A log folder named by a local path or a URI (s3://, gs://, hdfs://, fsspec's)."""
    if text.endswith(LEGACY_SUFFIX):
        folder = text.removesuffix(LEGACY_SUFFIX)
        raise LogError(
            f"paths.prediction_log names a SQLite file ({text}), the log's old format: the "
            f"log is now a folder of Parquet files. Set paths.prediction_log to {folder} "
            f"and run `log convert --source {text}`, which copies every row (the file stays)."
        )
    if "://" not in text:
        return LogLocation(pafs.LocalFileSystem(), text, text)
    try:
        filesystem, root = pafs.FileSystem.from_uri(text)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        filesystem, root = _fsspec_filesystem(text)
    return LogLocation(filesystem, root, text)


def _fsspec_filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """Any other URI through fsspec, when it is installed with the scheme's driver."""
    try:
        import fsspec
    except ImportError:
        raise LogError(
            f"no filesystem for {uri}: pyarrow reads local paths, s3://, gs:// and hdfs://; "
            "install fsspec and its driver for other schemes"
        ) from None
    filesystem, root = fsspec.core.url_to_fs(uri)
    return pafs.PyFileSystem(pafs.FSSpecHandler(filesystem)), str(root)


def arrow_schema(schema: FeatureSchema) -> pa.Schema:
    """The columns of a segment written under `schema`."""
    fields = [pa.field(name, pa.string()) for name in row_key_columns(schema)]
    for spec in schema.features:
        kind = pa.float64() if spec.kind == "numeric" else pa.string()
        fields.append(pa.field(spec.name, kind))
    fields += [pa.field(name, kind) for name, kind in LOG_COLUMNS.items()]
    return pa.schema(fields)


def row_key_columns(schema: FeatureSchema) -> list[str]:
    """The id, time and query columns a row keeps when the caller had them."""
    names = [*schema.id_columns, *schema.time_columns]
    if schema.group_column and schema.group_column not in names:
        names.append(schema.group_column)
    return [name for name in dict.fromkeys(names) if name not in schema.feature_names]


def new_writer_id() -> str:
    """A name no other writer has: host, process and a random part."""
    host = re.sub(r"[^A-Za-z0-9]+", "", socket.gethostname())[:20] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


def write_segment(location: LogLocation, table: pa.Table, *, writer: str, number: int) -> int:
    """Write `table` as one segment per day it spans; returns the rows written."""
    if table.num_rows == 0:
        return 0
    days = pc.strftime(table["logged_at"], format="%Y-%m-%d")
    spanned = pc.unique(days).to_pylist()
    written = 0
    for day in spanned:
        part = table if len(spanned) == 1 else table.filter(pc.equal(days, day))
        first = part["logged_at"][0].as_py()
        name = f"part-{first:%Y%m%dT%H%M%S%f}-{writer}-{number:06d}{SEGMENT_SUFFIX}"
        folder = location.join(f"{PARTITION_KEY}={day}")
        location.filesystem.create_dir(folder, recursive=True)
        _write_atomically(location, part, f"{folder}/{name}")
        written += part.num_rows
    return written


def _write_atomically(location: LogLocation, table: pa.Table, path: str) -> None:
    # Floats split into byte streams (their exponents then compress), the
    # rising timestamps and row numbers as deltas, text as dictionaries.
    encodings = {
        f.name: "BYTE_STREAM_SPLIT" if pa.types.is_floating(f.type) else "DELTA_BINARY_PACKED"
        for f in table.schema
        if pa.types.is_floating(f.type) or pa.types.is_timestamp(f.type) or f.name == "row"
    }
    options: dict[str, Any] = {
        "compression": "zstd",
        "use_dictionary": [f.name for f in table.schema if f.name not in encodings],
        "column_encoding": encodings,
        "write_statistics": ["logged_at", "source", "model_version"],
    }
    if not location.is_local:  # an object store's PUT is already all or nothing
        pq.write_table(table, path, filesystem=location.filesystem, **options)
        return
    folder, name = path.rsplit("/", 1)
    temporary = f"{folder}/.{name}.tmp"
    pq.write_table(table, temporary, filesystem=location.filesystem, **options)
    location.filesystem.move(temporary, path)


def segment_files(
    location: LogLocation, *, since: date | None = None, check_legacy: bool = True
) -> list[tuple[date, str]]:
    """Every finished segment as (day, path), oldest first; days before `since` left out.

    Raises `LogError` beside an old SQLite log not yet converted (`check_legacy`).
    """
    if check_legacy:
        check_not_legacy(location)
    info = location.filesystem.get_file_info(location.root)
    if info.type == pafs.FileType.NotFound:
        return []
    if info.type != pafs.FileType.Directory:
        raise LogError(f"the prediction log {location.display} is not a folder")
    found = []
    for day_info in location.filesystem.get_file_info(pafs.FileSelector(location.root)):
        match = _DAY.match(day_info.base_name)
        if not match or day_info.type != pafs.FileType.Directory:
            continue
        day = date.fromisoformat(match[1])
        if since is not None and day < since:
            continue
        selector = pafs.FileSelector(day_info.path)
        for file_info in location.filesystem.get_file_info(selector):
            name = file_info.base_name
            if name.endswith(SEGMENT_SUFFIX) and not name.startswith("."):
                found.append((day, file_info.path))
    return sorted(found)


def check_not_legacy(location: LogLocation) -> None:
    """Refuse to read or write beside an old SQLite log that was never converted."""
    if not location.is_local:
        return
    legacy = location.root.rstrip("/") + LEGACY_SUFFIX
    marker = location.join(CONVERTED_MARKER)
    if os.path.isfile(legacy) and not os.path.isfile(marker):
        raise LogError(
            f"{legacy} is a prediction log in the old SQLite format, not yet converted: run "
            f"`log convert` once to copy its rows into {location.display}/ (the file stays)"
        )


def read_segments(
    location: LogLocation,
    schema: FeatureSchema,
    *,
    columns: Collection[str] | None = None,
    sources: Collection[str] | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    check_legacy: bool = True,
) -> pa.Table:
    """The logged rows, oldest first, with every column of `arrow_schema(schema)`.

    `since` keeps rows logged at or after it (whole days before it are never
    opened); `limit` keeps the newest rows, reading days newest first until it
    has them. Columns a segment lacks (a feature added later) read as null.
    """
    wanted = arrow_schema(schema)
    names = [f.name for f in wanted] if columns is None else list(dict.fromkeys(columns))
    day = since.astimezone(UTC).date() if since else None
    files = segment_files(location, since=day, check_legacy=check_legacy)
    condition = None
    if sources is not None:
        condition = pc.field("source").isin(list(sources))
    if since is not None:
        after = pc.field("logged_at") >= pa.scalar(since.astimezone(UTC), TIMESTAMP)
        condition = after if condition is None else condition & after
    read_names = list(dict.fromkeys([*names, "logged_at"]))
    if limit is None:
        table = _read_files(location, [p for _, p in files], wanted, read_names, condition)
        return table.select(names)
    chosen = _newest_segments(location, files, wanted, condition, limit)
    table = _read_files(location, chosen, wanted, read_names, condition)
    return table.slice(max(table.num_rows - limit, 0)).select(names)


def _newest_segments(
    location: LogLocation,
    files: list[tuple[date, str]],
    wanted: pa.Schema,
    condition: pc.Expression | None,
    limit: int,
) -> list[str]:
    """The fewest segments that hold the newest `limit` rows `condition` keeps.

    Days newest first, and in a day the segments by the latest time they hold
    (their statistics). Once `limit` rows are found, a segment still counts
    when its latest row is not older than the limit-th newest row so far:
    writers' segments overlap in time. Only `logged_at` is read to decide.
    """
    taken: list[str] = []
    times = np.empty(0, dtype="int64")
    cutoff: int | None = None
    for day_files in reversed(list(_by_day(files))):
        ranked = sorted(((_latest(location, p), p) for p in day_files), reverse=True)
        for latest, path in ranked:
            if cutoff is not None and latest < cutoff:
                return sorted(taken)  # this and every segment left are older
            stamps = _read_files(location, [path], wanted, ["logged_at"], condition)
            taken.append(path)
            times = np.concatenate([times, stamps["logged_at"].to_numpy().view("int64")])
            if len(times) >= limit:
                cutoff = int(np.partition(times, len(times) - limit)[len(times) - limit])
    return sorted(taken)


def _latest(location: LogLocation, path: str) -> int:
    """The newest `logged_at` in a segment (microseconds), from its statistics."""
    metadata = pq.ParquetFile(path, filesystem=location.filesystem).metadata
    index = metadata.schema.to_arrow_schema().get_field_index("logged_at")
    latest = None
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max:
            return np.iinfo("int64").max  # unknown: read it
        value = pa.scalar(stats.max, TIMESTAMP).value
        latest = value if latest is None else max(latest, value)
    return np.iinfo("int64").max if latest is None else int(latest)


def _by_day(files: list[tuple[date, str]]) -> Iterator[list[str]]:
    current: list[str] = []
    previous: date | None = None
    for day, path in files:
        if previous is not None and day != previous:
            yield current
            current = []
        current.append(path)
        previous = day
    if current:
        yield current


def _read_files(
    location: LogLocation,
    paths: list[str],
    wanted: pa.Schema,
    names: list[str],
    condition: pc.Expression | None,
) -> pa.Table:
    """Rows of `paths` in file order, then ordered by `logged_at` (stable: ties keep it)."""
    if not paths:
        return wanted.empty_table().select(names)
    dataset = ds.dataset(paths, schema=wanted, format="parquet", filesystem=location.filesystem)
    table = dataset.to_table(columns=names, filter=condition)
    if table.num_rows > 1:
        table = table.take(pc.sort_indices(table["logged_at"]))  # stable: ties keep file order
    return table


def count_segment_rows(location: LogLocation, *, source: str | None = None) -> int:
    """Rows in the log (of one `source`), from the files' metadata when no filter is needed."""
    files = [path for _, path in segment_files(location)]
    if source is None:
        return sum(pq.ParquetFile(p, filesystem=location.filesystem).metadata.num_rows
                   for p in files)  # fmt: skip
    total = 0
    for path in files:
        column = pq.read_table(path, columns=["source"], filesystem=location.filesystem)
        total += int(pc.sum(pc.equal(column["source"], source)).as_py() or 0)
    return total


@dataclass(frozen=True)
class PrunedDay:
    day: date
    files: int
    rows: int


def prune_log(
    location: LogLocation, *, keep_days: int, today: date | None = None, dry_run: bool = False
) -> list[PrunedDay]:
    """Delete every day of the log older than `keep_days` days (labels stay)."""
    cutoff = (today or datetime.now(UTC).date()) - timedelta(days=keep_days)
    doomed: dict[date, list[str]] = {}
    for day, path in segment_files(location):
        if day < cutoff:
            doomed.setdefault(day, []).append(path)
    pruned = []
    for day, paths in sorted(doomed.items()):
        rows = sum(pq.ParquetFile(p, filesystem=location.filesystem).metadata.num_rows
                   for p in paths)  # fmt: skip
        pruned.append(PrunedDay(day, len(paths), rows))
        if not dry_run:
            location.filesystem.delete_dir(location.join(f"{PARTITION_KEY}={day.isoformat()}"))
    return pruned


@dataclass(frozen=True)
class LogStats:
    display: str
    days: int
    segments: int
    rows: int
    bytes: int

    @property
    def bytes_per_row(self) -> float:
        return self.bytes / self.rows if self.rows else float("nan")


def log_stats(location: LogLocation) -> LogStats:
    """How big the log is: days, segments, rows (from the files' metadata) and bytes."""
    files = segment_files(location)
    sizes = location.filesystem.get_file_info([path for _, path in files])
    rows = sum(pq.ParquetFile(p, filesystem=location.filesystem).metadata.num_rows
               for _, p in files)  # fmt: skip
    return LogStats(
        display=location.display,
        days=len({day for day, _ in files}),
        segments=len(files),
        rows=rows,
        bytes=sum(info.size or 0 for info in sizes),
    )


def label_files(location: LogLocation) -> list[str]:
    """The Parquet files `labels ingest` wrote into the log's `_labels/` folder."""
    folder = location.join(LABELS_FOLDER)
    if location.filesystem.get_file_info(folder).type != pafs.FileType.Directory:
        return []
    found = location.filesystem.get_file_info(pafs.FileSelector(folder))
    return sorted(
        f.path
        for f in found
        if f.base_name.endswith(SEGMENT_SUFFIX) and not f.base_name.startswith(".")
    )


def join_labels(
    location: LogLocation,
    schema: FeatureSchema,
    *,
    columns: Collection[str],
    sources: Collection[str],
) -> pa.Table:
    """Every logged row of `sources` (`columns` of it) with its label, or null, in DuckDB.

    The log's rows and the labels are scanned as Arrow datasets, so only the
    asked-for columns are read; a prediction id labelled twice keeps its first
    label. Rows come oldest first.
    """
    import duckdb  # the one reader that joins; imported only here

    wanted = arrow_schema(schema)
    names = list(dict.fromkeys([*columns, "request_id", "row", "logged_at"]))
    files = [path for _, path in segment_files(location)]
    log = (
        ds.dataset(files, schema=wanted, format="parquet", filesystem=location.filesystem)
        if files
        else wanted.empty_table()
    )
    labels_schema = pa.schema(
        [("prediction_id", pa.string()), ("label", pa.float64()), ("ingested_at", pa.string())]
    )
    stored = label_files(location)
    labels = (
        ds.dataset(stored, schema=labels_schema, format="parquet", filesystem=location.filesystem)
        if stored
        else labels_schema.empty_table()
    )
    selected = ", ".join(f"p.{_quoted(name)}" for name in names)
    marks = ", ".join("?" for _ in sources)
    connection = duckdb.connect()
    try:
        connection.register("log_rows", log)
        connection.register("label_rows", labels)
        return connection.sql(
            f"""
            WITH first_labels AS (
                SELECT prediction_id, label FROM label_rows
                QUALIFY row_number() OVER (PARTITION BY prediction_id ORDER BY ingested_at) = 1
            )
            SELECT {selected}, l.label AS {JOINED_LABEL}
            FROM log_rows p
            LEFT JOIN first_labels l
              ON l.prediction_id = p.request_id || '-' || CAST(p."row" AS VARCHAR)
            WHERE p.source IN ({marks})
            ORDER BY p.logged_at, p.request_id, p."row"
            """,
            params=list(sources),
        ).to_arrow_table()
    finally:
        connection.close()


def _quoted(name: str) -> str:
    """A column name as a DuckDB identifier, whatever characters the schema gave it."""
    return '"' + name.replace('"', '""') + '"'
