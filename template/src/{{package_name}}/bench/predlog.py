"""`bench log`: the Parquet prediction log against the SQLite log it replaced, in one run.

Both logs get the same generated rows: the schema's features (drawn from the
sample world), one row per request with a random 32-hex request id (what the
service logs), spread over `days` days. Measured on each:

- bytes per logged row;
- reading the newest 100k rows for a drift window;
- joining `labels` labels to the predictions by prediction id;
- write throughput of two processes logging at once, one row per request, and
  whether every row arrived (the SQLite log serialises its writers on a lock).

The SQLite side is the pre-0.3.0 format and its readers, kept here only to be
measured against.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..config import ProjectConfig
from ..data import make_sample
from ..logstore import (
    JOINED_LABEL,
    LABELS_FOLDER,
    LogLocation,
    arrow_schema,
    join_labels,
    location_of,
    read_segments,
    write_segment,
)
from ..predlog import DEFAULT_SOURCES, PredictionLogger, log_frame
from ..schema import FeatureSchema

SEGMENT_ROWS = 100_000  # what a writer flushes at (monitoring.log_flush_rows)
DRIFT_WINDOW_ROWS = 100_000
OLD_TABLE = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, logged_at TEXT NOT NULL,
    model_version TEXT NOT NULL, features TEXT NOT NULL, prediction REAL,
    source TEXT NOT NULL DEFAULT 'unknown', prediction_id TEXT
)
"""
OLD_INSERT = (
    "INSERT INTO predictions (request_id, logged_at, model_version, features, prediction, "
    "source, prediction_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


@dataclass
class LogBenchResult:
    rows: int
    labels: int
    measures: dict[str, dict[str, float]] = field(default_factory=dict)  # measure -> log -> value

    def add(self, measure: str, log: str, value: float) -> None:
        self.measures.setdefault(measure, {})[log] = value

    def table(self) -> list[tuple[str, str, str, str]]:
        """(measure, SQLite, Parquet, ratio) rows; the ratio says how many times better."""
        rows = []
        for measure, values in self.measures.items():
            old, new = values.get("sqlite", float("nan")), values.get("parquet", float("nan"))
            better, worse = (new, old) if measure.endswith("rows/s") else (old, new)
            ratio = f"{better / worse:,.1f}x" if worse else "-"
            rows.append((measure, f"{old:,.3f}", f"{new:,.3f}", ratio))
        return rows


def _request_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random 32-hex ids, like the service's uuid4().hex, made in bulk."""
    digits = np.frombuffer(b"0123456789abcdef", dtype="S1")
    nibbles = rng.integers(0, 16, size=(n, 32), dtype=np.uint8)
    return digits[nibbles].view("S32").ravel().astype(str)


def _chunk(
    config: ProjectConfig, base: pd.DataFrame, start: datetime, step: timedelta, offset: int, n: int
) -> pa.Table:
    """n log rows as the service writes them, logged `step` apart from `start + offset*step`."""
    rng = np.random.default_rng(offset)
    rows = base.sample(n=n, replace=True, random_state=offset % 2**31).reset_index(drop=True)
    schema = config.feature_schema
    wanted = arrow_schema(schema)
    times = [start + step * (offset + i) for i in range(n)]
    own = {
        "request_id": pa.array(_request_ids(rng, n)),
        "row": pa.array(np.zeros(n, dtype=np.int32)),
        "logged_at": pa.array(times, wanted.field("logged_at").type),
        "model_version": pa.array(["v0001"] * n),
        "source": pa.array(["served"] * n),
        "prediction": pa.array(rng.random(n)),
    }
    for name in schema.time_columns:  # a caller sends the event's time, close to now, as text
        own[name] = pa.array([t.isoformat(timespec="milliseconds") for t in times])
    arrays = []
    for item in wanted:
        if item.name in own:
            arrays.append(own[item.name])
        elif item.name in rows.columns:
            column = rows[item.name]
            values = column if pa.types.is_floating(item.type) else column.astype("string")
            arrays.append(pa.array(values, item.type, from_pandas=True))
        else:
            arrays.append(pa.nulls(n, item.type))
    return pa.Table.from_arrays(arrays, schema=wanted)


def _write_old(path: Path, table: pa.Table, schema: FeatureSchema) -> None:
    names = schema.feature_names
    columns = {name: table[name].to_pylist() for name in [*names, "request_id", "prediction"]}
    stamps = [t.isoformat(timespec="milliseconds") for t in table["logged_at"].to_pylist()]
    records = [
        (
            columns["request_id"][i], stamps[i], "v0001",
            json.dumps({name: columns[name][i] for name in names}),
            columns["prediction"][i], "served", f"{columns['request_id'][i]}-0",
        )
        for i in range(table.num_rows)
    ]  # fmt: skip
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(OLD_TABLE)
        connection.executemany(OLD_INSERT, records)
    connection.close()


def _old_drift_read(path: Path, schema: FeatureSchema) -> pd.DataFrame:
    """What the SQLite reader did for a drift window: newest rows, JSON parsed row by row."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        records = connection.execute(
            "SELECT request_id, logged_at, model_version, features, prediction, source, "
            "prediction_id FROM predictions ORDER BY id DESC LIMIT ?",
            (DRIFT_WINDOW_ROWS,),
        ).fetchall()
    connection.close()
    records.reverse()
    frame = pd.DataFrame.from_records(
        [json.loads(r[3]) for r in records], columns=schema.feature_names
    )
    frame["prediction"] = [r[4] for r in records]
    frame["logged_at"] = pd.to_datetime([r[1] for r in records], utc=True)
    return frame


def _old_join(path: Path, labels: pa.Table) -> int:
    """Labels into a keyed table of the SQLite log, then the join the monitor needs."""
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE IF EXISTS labels")
        connection.execute("CREATE TABLE labels (prediction_id TEXT PRIMARY KEY, label REAL)")
        connection.executemany(
            "INSERT INTO labels VALUES (?, ?)",
            zip(labels["prediction_id"].to_pylist(), labels["label"].to_pylist(), strict=True),
        )
        rows = connection.execute(
            "SELECT COUNT(*), AVG(p.prediction) FROM predictions p "
            "JOIN labels l ON l.prediction_id = p.prediction_id"
        ).fetchone()
    connection.close()
    return int(rows[0])


def _new_join(folder: Path, schema: FeatureSchema) -> int:
    """The labels folder joined to every segment by prediction id: `join_labels`, in DuckDB."""
    joined = join_labels(
        location_of(str(folder)), schema, columns=["prediction"], sources=DEFAULT_SOURCES
    )
    return joined.num_rows - joined[JOINED_LABEL].null_count


def _write_worker(args: tuple[str, str, int, str, dict[str, list[object]]]) -> float:
    """One process logging `n` one-row requests; returns its rows per second."""
    kind, target, n, name, row = args
    started = time.perf_counter()
    if kind == "parquet":
        from ..config import load_config

        config = load_config(name)
        log = PredictionLogger(location_of(target), config.feature_schema, source="served")
        for i in range(n):  # wait=True: the sustained rate, never a dropped row
            log.log(f"{i:032x}", "v0001", row, np.array([0.5]), wait=True)
        log.close()
    else:
        connection = sqlite3.connect(target, timeout=60)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(OLD_TABLE)
        features = {key: values[0] for key, values in row.items()}
        pending = []
        for i in range(n):  # the old writer: JSON per row, transactions of up to 128 rows
            now = datetime.now(UTC).isoformat(timespec="milliseconds")
            payload = json.dumps(features)
            pending.append((f"{i:032x}", now, "v0001", payload, 0.5, "served", f"{i:032x}-0"))
            if len(pending) == 128 or i == n - 1:
                with connection:
                    connection.executemany(OLD_INSERT, pending)
                pending = []
        connection.close()
    return n / (time.perf_counter() - started)


def run_log_bench(
    config: ProjectConfig, *, rows: int, labels: int, days: int = 10, writes: int = 200_000
) -> LogBenchResult:
    """Build both logs of `rows` rows in a scratch folder and measure them (see module doc)."""
    schema = config.feature_schema
    result = LogBenchResult(rows=rows, labels=labels)
    base = make_sample(config, rows=min(rows, 200_000), seed=7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    step = timedelta(days=days) / rows
    with tempfile.TemporaryDirectory(prefix="log-bench-") as scratch:
        folder, old = Path(scratch) / "predictions", Path(scratch) / "old-log.sqlite"
        location = location_of(str(folder))
        picked: list[pa.Table] = []
        rng = np.random.default_rng(11)
        for number, offset in enumerate(range(0, rows, SEGMENT_ROWS), start=1):
            table = _chunk(config, base, start, step, offset, min(SEGMENT_ROWS, rows - offset))
            write_segment(location, table, writer="bench", number=number)
            _write_old(old, table, schema)
            share = rng.random(table.num_rows) < labels / rows
            picked.append(table.filter(pa.array(share)).select(["request_id"]))
        result.add("bytes per row", "sqlite", _bytes(old) / rows)
        result.add("bytes per row", "parquet", _bytes(folder) / rows)

        result.add("drift window read, s", "sqlite", _timed(lambda: _old_drift_read(old, schema)))
        result.add("drift window read, s", "parquet", _timed(lambda: _drift_read(location, schema)))

        ids = pa.concat_tables(picked)["request_id"].to_pylist()
        label_table = pa.table(
            {"prediction_id": [f"{i}-0" for i in ids], "label": np.ones(len(ids))}
        )
        (folder / LABELS_FOLDER).mkdir()
        pq.write_table(label_table, folder / LABELS_FOLDER / "labels.parquet")
        result.labels = label_table.num_rows
        result.add("label join, s", "sqlite", _timed(lambda: _old_join(old, label_table)))
        result.add("label join, s", "parquet", _timed(lambda: _new_join(folder, schema)))

        row = {name: [base[name].iloc[0]] for name in schema.feature_names}
        row = {k: [None if pd.isna(v[0]) else v[0]] for k, v in row.items()}
        config_file = str(config.root / "configs" / "project.yaml")
        for kind, target in (("sqlite", str(Path(scratch) / "two-old.sqlite")),
                             ("parquet", str(Path(scratch) / "two"))):  # fmt: skip
            with multiprocessing.get_context("spawn").Pool(2) as pool:
                started = time.perf_counter()
                pool.map(_write_worker, [(kind, target, writes, config_file, row)] * 2)
                seconds = time.perf_counter() - started
            kept = _count(kind, target, schema)
            result.add("two writers, rows/s", kind, 2 * writes / seconds)
            result.add("two writers, rows lost", kind, float(2 * writes - kept))
    return result


def _drift_read(location: LogLocation, schema: FeatureSchema) -> pd.DataFrame:
    """The newest rows as `monitor drift` reads them, typed columns and all."""
    table = read_segments(location, schema, limit=DRIFT_WINDOW_ROWS)
    return log_frame(table, schema)


def _count(kind: str, target: str, schema: FeatureSchema) -> int:
    if kind == "parquet":
        return read_segments(location_of(target), schema, columns=["row"]).num_rows
    with sqlite3.connect(target) as connection:
        count = int(connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0])
    connection.close()
    return count


def _bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started
