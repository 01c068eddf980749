"""Batch scoring: a file in, predictions out, in chunks so memory stays flat.

The input (Parquet or CSV) is read `batch.chunk_rows` rows at a time. Each
chunk is checked row by row against the feature schema: a bad row goes to a
rejects file with the reason (naming the column) and the run goes on. Good
rows are encoded through the shared `features.encode_columns`, scored by the
promoted model and appended to the output Parquet with the model version, the
run id and each row's `prediction_id` (`<run id>-<input row number>`, the key a
label coming back names), and logged to the prediction log for the drift
monitor and the performance timeline. The
output is written to a temporary file and renamed at the end, so a crashed
run never leaves a half-written output behind.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict, Unpack

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .config import LogSource, ProjectConfig
from .data import parse_times
from .features import encode_columns
from .predlog import PredictionLogger, open_prediction_log, prediction_ids
from .registry import LoadedModel, ModelRegistry
from .schema import FeatureSchema, SchemaError
from .tables import sniff_csv
from .validation import check_rows

OUTPUT_COLUMNS = ("prediction", "model_version", "run_id", "prediction_id")


@dataclass(frozen=True)
class BatchResult:
    """What one scoring run did."""

    run_id: str
    model_version: str
    rows_read: int
    rows_scored: int
    rows_rejected: int
    chunks: int
    seconds: float
    output_path: Path
    rejects_path: Path | None
    rows_nonfinite: int = 0  # predictions that came out NaN or infinite (ML Test Score N5)

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else float("nan")

    def summary(self) -> str:
        lines = [
            f"Run {self.run_id} with model {self.model_version}: scored {self.rows_scored} of "
            f"{self.rows_read} row(s) in {self.chunks} chunk(s), {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s)",
            f"Predictions written to {self.output_path}",
        ]
        if self.rejects_path is not None:
            lines.append(f"{self.rows_rejected} row(s) rejected, reasons in {self.rejects_path}")
        if self.rows_nonfinite:
            lines.append(f"{self.rows_nonfinite} prediction(s) are NaN or infinite")
        return "\n".join(lines)


# A number written with a decimal comma, as a whole cell: "-3,25", ",5", "1,2e-3".
DECIMAL_COMMA_NUMBER = r"^([+-]?\d*),(\d+(?:[eE][+-]?\d+)?)$"


def rejects_path_for(output_path: Path) -> Path:
    return output_path.with_name(f"{output_path.stem}.rejects.parquet")


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def read_chunks(path: Path, *, chunk_rows: int) -> Iterator[pa.Table]:
    """The input, `chunk_rows` rows at a time (CSV columns are read as text)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise FileNotFoundError(f"input file {path} does not exist")
    if suffix == ".parquet":
        source = pq.ParquetFile(path)
        for batch in source.iter_batches(batch_size=chunk_rows):
            yield pa.Table.from_batches([batch], schema=source.schema_arrow)
    elif suffix == ".csv":
        dialect = sniff_csv(path)  # `;` and decimal commas, as `data infer` reads them
        chunks = pd.read_csv(
            path,
            chunksize=chunk_rows,
            dtype=str,
            sep=dialect.delimiter,
            quotechar=dialect.quotechar,
            encoding=dialect.encoding,
        )
        for frame in chunks:
            if dialect.decimal == ",":  # "3,5" -> "3.5"; other text is left as it is
                frame = frame.replace(DECIMAL_COMMA_NUMBER, r"\1.\2", regex=True)
            schema = pa.schema([(str(name), pa.string()) for name in frame.columns])
            yield pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    else:
        raise ValueError(f"cannot read {path}: expected a .parquet or .csv file")


def require_feature_columns(columns: list[str], schema: FeatureSchema) -> None:
    """Raise `SchemaError` when the input lacks a feature column altogether."""
    missing = [name for name in schema.feature_names if name not in columns]
    if missing:
        raise SchemaError(
            f"the input has no column(s) {missing}; the schema expects {schema.feature_names}"
        )


def with_row_keys(
    columns: dict[str, np.ndarray], frame: pd.DataFrame, schema: FeatureSchema
) -> dict[str, np.ndarray]:
    """The logged columns plus what names each row: query id, id column(s), event time.

    Query-level drift needs the query id (ranking); labels keyed by entity and
    time need the rest. `columns` hold the rows of `frame` to log, in order;
    keys the input lacks are left out. Times are logged as ISO 8601 UTC text
    (as written when the schema's `time_format` cannot read them).
    """
    keys = dict(columns)
    if schema.group_column and schema.group_column in frame.columns:
        keys[schema.group_column] = frame[schema.group_column].astype(str).to_numpy()
    for name in schema.id_columns:
        if name in frame.columns:
            keys[name] = _with_none(frame[name])
    time = schema.time_column
    if time and time in frame.columns:
        try:
            keys[time] = _with_none(parse_times(frame[time], schema).map(_iso))
        except SchemaError:
            keys[time] = _with_none(frame[time].astype(str).where(frame[time].notna()))
    return keys


def _iso(value: pd.Timestamp) -> str | None:
    return None if pd.isna(value) else value.isoformat()


def _with_none(values: pd.Series) -> np.ndarray:
    """Values as Python objects, missing ones None (the log writes them as JSON null)."""
    return values.astype(object).where(values.notna(), None).to_numpy(dtype=object)


class ScoreOptions(TypedDict, total=False):
    """How a batch run scores: every engine's `score_file` takes these."""

    chunk_rows: int | None  # rows read, checked and scored at a time (default batch.chunk_rows)
    log_predictions: bool | None  # write the scored rows to the prediction log (default: config)
    log_source: LogSource | None  # the logged rows' `source` (default "batch"; pipeline: "replay")
    version: str | None  # the model version (default: the promoted one)
    run_id: str | None  # the run's id in the output and the log (default: a new one)


def open_batch_log(config: ProjectConfig, options: ScoreOptions) -> PredictionLogger:
    """The prediction log a scoring run writes to, its rows tagged `options["log_source"]`."""
    source = options.get("log_source") or "batch"
    return open_prediction_log(config, source=source, max_pending=4)


def score_chunked(
    config: ProjectConfig, input_path: Path, output_path: Path, **options: Unpack[ScoreOptions]
) -> BatchResult:
    """Score `input_path` into `output_path` (Parquet); bad rows go to `<output>.rejects.parquet`.

    The in-memory and out-of-core engines score this way (`Engine.score_file`).
    Raises `SchemaError` when a feature column is missing from the file
    altogether (every row would be rejected: the file, not its rows, is wrong).
    """
    started = time.perf_counter()
    model = ModelRegistry(config).load(options.get("version"))
    run_id = options.get("run_id") or new_run_id()
    size = options.get("chunk_rows") or config.batch.chunk_rows
    log = options.get("log_predictions")
    log = config.batch.log_predictions if log is None else log
    output_path.parent.mkdir(parents=True, exist_ok=True)
    rejects_path = rejects_path_for(output_path)
    rejects_path.unlink(missing_ok=True)
    partial = output_path.with_name(f"{output_path.name}.partial")
    writer: pq.ParquetWriter | None = None
    rejects: pq.ParquetWriter | None = None
    counts = {"read": 0, "scored": 0, "rejected": 0, "chunks": 0, "nonfinite": 0}
    predlog = open_batch_log(config, options) if log else None
    try:
        for table in read_chunks(Path(input_path), chunk_rows=size):
            frame = table.to_pandas()
            require_feature_columns([str(c) for c in frame.columns], model.schema)
            check = check_rows(frame, model.schema)
            columns, reasons, good = check.columns, check.reasons, check.good
            rows = np.flatnonzero(good) + counts["read"]
            ids = prediction_ids(run_id, rows)
            scored = _score(config, model, table, columns, good, (run_id, ids))
            writer = writer or pq.ParquetWriter(partial, scored.schema)
            writer.write_table(scored)
            points = config.problem_type.point_predictions(_outputs_of(scored, model))
            counts["nonfinite"] += int((~np.isfinite(points)).sum())
            if not good.all():
                bad = _rejected_rows(frame, reasons, ~good, offset=counts["read"])
                rejects = rejects or pq.ParquetWriter(rejects_path, bad.schema)
                rejects.write_table(bad)
            if predlog is not None and good.any():
                values = {name: column[good] for name, column in columns.items()}
                values = with_row_keys(values, frame.loc[good], model.schema)
                predlog.log(run_id, model.version, values, points, ids=ids, wait=True)
            counts["read"] += len(frame)
            counts["scored"] += int(good.sum())
            counts["rejected"] += int((~good).sum())
            counts["chunks"] += 1
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        for open_writer in (writer, rejects):
            if open_writer is not None:
                open_writer.close()
        if predlog is not None:
            predlog.close()
    if writer is None:  # an empty input still gives an (empty) output
        empty = {name: pa.array([], pa.float64()) for name in OUTPUT_COLUMNS[:1]}
        pq.write_table(pa.table(empty), partial)
    partial.replace(output_path)
    return BatchResult(
        run_id=run_id,
        model_version=model.version,
        rows_read=counts["read"],
        rows_scored=counts["scored"],
        rows_rejected=counts["rejected"],
        chunks=counts["chunks"],
        seconds=time.perf_counter() - started,
        output_path=output_path,
        rejects_path=rejects_path if counts["rejected"] else None,
        rows_nonfinite=counts["nonfinite"],
    )


def _score(
    config: ProjectConfig,
    model: LoadedModel,
    table: pa.Table,
    columns: dict[str, np.ndarray],
    good: np.ndarray,
    ids: tuple[str, list[str]],
) -> pa.Table:
    """The good rows of the chunk as read, plus the predictions, model version, run and row ids."""
    kept = table.filter(pa.array(good)).drop_columns(
        [name for name in OUTPUT_COLUMNS if name in table.column_names]
    )
    matrix = encode_columns({name: column[good] for name, column in columns.items()}, model.schema)
    problem = model.problem  # the model's problem: it knows the threshold set at training
    outputs = model.predict(matrix)
    for name, values in problem.output_columns(outputs, model.explanations(matrix, outputs)):
        kept = kept.append_column(name, pa.array(values))
    run_id, rows = ids
    kept = kept.append_column("model_version", pa.array([model.version] * len(kept), pa.string()))
    kept = kept.append_column("run_id", pa.array([run_id] * len(kept), pa.string()))
    return kept.append_column("prediction_id", pa.array(rows, pa.string()))


def _outputs_of(scored: pa.Table, model: LoadedModel) -> np.ndarray:
    """The model output behind a scored chunk's prediction columns (for the log)."""
    names = [n for n in scored.column_names if n.startswith("probability_")]
    if names:
        return np.column_stack([scored.column(n).to_numpy() for n in names])
    return scored.column("prediction").to_numpy().astype(np.float64)


def _rejected_rows(
    frame: pd.DataFrame, reasons: np.ndarray, bad: np.ndarray, *, offset: int
) -> pa.Table:
    """Rejected rows as text, with their input row number and the reason."""
    rows = frame.loc[bad].astype("string")
    rows.insert(0, "reason", pd.array(reasons[bad], dtype="string"))
    rows.insert(0, "row", np.flatnonzero(bad) + offset)
    schema = pa.schema(
        [("row", pa.int64()), *((str(name), pa.string()) for name in rows.columns[1:])]
    )
    return pa.Table.from_pandas(rows, schema=schema, preserve_index=False)
