"""`log convert`: an old SQLite prediction log copied into the Parquet log, row for row.

Releases before 0.3.0 kept the log in one SQLite file (`data/predictions.sqlite`)
with each row's features as JSON text and the labels in a second table. This
copies every row and label into the log folder, then reads the copy back and
compares the row count and an order-free checksum of every value with the
original; only when both agree does it leave the marker that lets the new log
be used. The SQLite file itself is never changed or deleted.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .config import ProjectConfig
from .logstore import (
    CONVERTED_MARKER,
    LABELS_FOLDER,
    LogError,
    LogLocation,
    arrow_schema,
    log_location,
    read_segments,
    row_key_columns,
    segment_files,
    write_segment,
)
from .schema import FeatureSchema

CHUNK_ROWS = 100_000
WRITER = "converted"
_MODULUS = 2**256


@dataclass(frozen=True)
class ConvertResult:
    source: str
    rows_read: int
    rows_written: int
    checksum_read: str
    checksum_written: str
    labels: int
    extra_columns: list[str]

    @property
    def matches(self) -> bool:
        return self.rows_read == self.rows_written and self.checksum_read == self.checksum_written


def convert_sqlite_log(config: ProjectConfig, source: Path) -> ConvertResult:
    """Copy `source` (an old SQLite log) into the project's log folder and verify the copy."""
    location = log_location(config)
    if not location.is_local:
        raise LogError("log convert writes a local log folder; convert, then copy it to the store")
    marker = Path(location.join(CONVERTED_MARKER))
    if marker.is_file():
        raise LogError(f"{location.display} already holds a converted log ({marker.name})")
    if not source.is_file():
        raise LogError(f"{source} does not exist: name the old log with --source")
    if any(WRITER in path for _, path in segment_files(location, check_legacy=False)):
        raise LogError(f"{location.display} holds part of an earlier conversion: remove those "
                       f"files (named *-{WRITER}-*) and run again")  # fmt: skip
    schema = config.feature_schema
    read_sum, rows_read, written, extras = 0, 0, 0, set()
    for number, records in enumerate(_old_rows(source), start=1):
        table, extra = _table(records, schema)
        extras.update(extra)
        read_sum = (read_sum + sum(_row_hash(r, schema) for r in records)) % _MODULUS
        rows_read += len(records)
        written += write_segment(location, table, writer=WRITER, number=number)
    labels = _convert_labels(source, location)
    written_sum, rows_written = _checksum_of_copy(location, schema)
    result = ConvertResult(
        source=str(source), rows_read=rows_read, rows_written=rows_written,
        checksum_read=f"{read_sum:064x}", checksum_written=f"{written_sum:064x}",
        labels=labels, extra_columns=sorted(extras),
    )  # fmt: skip
    if result.matches and written == rows_read:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({**asdict(result), "at": _now()}, indent=2) + "\n")
    return result


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _old_rows(source: Path) -> Iterator[list[dict[str, Any]]]:
    """The old log's rows in chunks, oldest first, as plain dicts."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as connection:
        present = {str(r[1]) for r in connection.execute("PRAGMA table_info(predictions)")}
        if not present:
            raise LogError(f"{source} has no predictions table: is it a prediction log?")
        source_sql = "source" if "source" in present else "'unknown'"
        ids_sql = "prediction_id" if "prediction_id" in present else "NULL"
        cursor = connection.execute(
            f"SELECT request_id, logged_at, model_version, features, prediction, {source_sql}, "
            f"{ids_sql} FROM predictions ORDER BY id"
        )
        names = ("request_id", "logged_at", "model_version", "features", "prediction",
                 "source", "prediction_id")  # fmt: skip
        while chunk := cursor.fetchmany(CHUNK_ROWS):
            yield [dict(zip(names, row, strict=True)) for row in chunk]
    connection.close()


def _row_number(record: dict[str, Any]) -> int | None:
    prediction_id, request_id = record["prediction_id"], str(record["request_id"])
    if prediction_id is None:
        return None
    tail = str(prediction_id).removeprefix(f"{request_id}-")
    if tail == str(prediction_id) or not tail.isdigit():
        raise LogError(f"prediction id {prediction_id!r} is not '<request id>-<row>'")
    return int(tail)


def _table(records: list[dict[str, Any]], schema: FeatureSchema) -> tuple[pa.Table, set[str]]:
    wanted = arrow_schema(schema)
    payloads = [json.loads(r["features"]) for r in records]
    own = {
        "request_id": [str(r["request_id"]) for r in records],
        "row": [_row_number(r) for r in records],
        "logged_at": [_time(r["logged_at"]) for r in records],
        "model_version": [str(r["model_version"]) for r in records],
        "source": [str(r["source"]) for r in records],
        "prediction": [_number(r["prediction"]) for r in records],
    }
    arrays = []
    for field in wanted:
        if field.name in own:
            values = own[field.name]
        elif pa.types.is_floating(field.type):
            values = [_number(p.get(field.name)) for p in payloads]
        else:
            values = [_text(p.get(field.name)) for p in payloads]
        arrays.append(pa.array(values, type=field.type))
    table = pa.Table.from_arrays(arrays, schema=wanted)
    # Columns the schema no longer has are kept as text: nothing of the old log is lost.
    extra = {key for p in payloads for key in p} - set(wanted.names)
    for name in sorted(extra):
        table = table.append_column(name, pa.array([_text(p.get(name)) for p in payloads]))
    return table, extra


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _canonical(values: Iterable[Any]) -> str:
    return json.dumps([None if v is None else repr(v) for v in values])


def _row_hash(record: dict[str, Any], schema: FeatureSchema) -> int:
    """One old row's values as the copy must hold them, hashed."""
    payload = json.loads(record["features"])
    values: list[Any] = [str(record["request_id"]), _row_number(record),
                         _time(record["logged_at"]).isoformat(), str(record["model_version"]),
                         str(record["source"]), _number(record["prediction"])]  # fmt: skip
    values += [_number(payload.get(spec.name)) if spec.kind == "numeric"
               else _text(payload.get(spec.name)) for spec in schema.features]  # fmt: skip
    values += [_text(payload.get(name)) for name in row_key_columns(schema)]
    return int.from_bytes(hashlib.sha256(_canonical(values).encode()).digest(), "big")


def _checksum_of_copy(location: LogLocation, schema: FeatureSchema) -> tuple[int, int]:
    """The same checksum over what the converted segments hold, read back."""
    table = read_segments(location, schema, check_legacy=False)
    keys = row_key_columns(schema)
    total = 0
    columns = {name: table[name].to_pylist() for name in table.column_names}
    for index in range(table.num_rows):
        values: list[Any] = [columns["request_id"][index], columns["row"][index],
                             columns["logged_at"][index].isoformat(),
                             columns["model_version"][index], columns["source"][index],
                             columns["prediction"][index]]  # fmt: skip
        values += [columns[spec.name][index] for spec in schema.features]
        values += [columns[name][index] for name in keys]
        digest = hashlib.sha256(_canonical(values).encode()).digest()
        total = (total + int.from_bytes(digest, "big")) % _MODULUS
    return total, table.num_rows


def _convert_labels(source: Path, location: LogLocation) -> int:
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        rows = []
        if "labels" in tables:
            rows = connection.execute(
                "SELECT prediction_id, label, label_time, ingested_at, source_file FROM labels"
            ).fetchall()
    connection.close()
    if not rows:
        return 0
    names = ("prediction_id", "label", "label_time", "ingested_at", "source_file")
    kinds = (pa.string(), pa.float64(), pa.string(), pa.string(), pa.string())
    table = pa.table({n: pa.array([r[i] for r in rows], k)
                      for i, (n, k) in enumerate(zip(names, kinds, strict=True))})  # fmt: skip
    folder = Path(location.join(LABELS_FOLDER))
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, str(folder / "labels-converted.parquet"), compression="zstd")
    return len(rows)
