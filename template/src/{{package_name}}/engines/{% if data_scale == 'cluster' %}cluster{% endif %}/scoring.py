"""Cluster evaluation and batch scoring: Ray Data scores, the driver only collects.

Evaluation brings back, per test row, only what the metrics need. Batch scoring
checks and scores the input in Ray tasks with `validation.check_rows` and the
promoted model, then the driver streams the results into the output Parquet,
the rejects file and the prediction log, as `batch.score_file` does in memory.
"""

from __future__ import annotations

import shutil
import time
from functools import partial
from pathlib import Path
from typing import Any, Unpack, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import ray.data

from ... import batch as batch_module
from ...config import ProjectConfig
from ...data import bounded_rows
from ...evaluation.results import TestSet
from ...predlog import prediction_ids as predlog_ids
from ...registry import LoadedModel, ModelRegistry, explain_rows
from ...schema import FeatureSchema
from ...tables import sniff_csv
from ...validation import check_rows
from ..partitioned import parquet_files
from .datasets import (
    BASELINE,
    PREDICTION,
    compute_cuts,
    outputs,
    raw_split,
    read_parquet,
    read_source,
    scored_split,
)
from .session import ray_session

REASON = "_reason"


def score_test_split(config: ProjectConfig, model: LoadedModel) -> TestSet:
    """The test split with labels, model and baseline predictions, scored by Ray Data."""
    schema = model.schema
    slices = config.metric.slice_columns(config.feature_schema)  # tags: the current schema
    # The time column too: `evaluate --decay` dates the test window by it.
    columns = [schema.label.name, *schema.time_columns, *schema.group_columns, *slices]
    columns += config.problem_type.decision_features  # what `operating_point` reads
    if unit := config.problem_type.resampling_unit:
        columns.append(unit)  # a protected group's interval resamples whole units
    keep = list(dict.fromkeys(columns))
    with ray_session(config):
        source, _ = read_source(config)
        cuts = compute_cuts(source, config)
        frame = scored_split(
            source,
            config,
            cuts,
            "test",
            model_text=model.booster.model_to_string(),
            baseline=model.metadata["baseline"],
            keep=keep,
        )
    labels = frame[schema.label.name].to_numpy()
    groups = frame[schema.group_column].to_numpy() if schema.group_column else None
    return TestSet(
        frame[keep], labels, outputs(frame, PREDICTION), outputs(frame, BASELINE), groups
    )


def validation_rows(config: ProjectConfig, max_rows: int) -> pd.DataFrame:
    """Up to `max_rows` rows of the validation split, read by Ray Data (queries whole)."""
    with ray_session(config):
        source, _ = read_source(config)
        cuts = compute_cuts(source, config)
        # Twice the rows, so the queries cut at the limit can be left out whole.
        frame = raw_split(source, config, cuts, "validation").limit(2 * max_rows).to_pandas()
    group = config.feature_schema.group_column
    if group and len(frame) == 2 * max_rows:  # the limit may have cut the last query
        frame = frame.loc[frame[group] != frame[group].iloc[-1]]
    return bounded_rows(frame, max_rows, group)


def write_test_split(config: ProjectConfig) -> Path:
    """The test split's inputs (no label) as Parquet parts in data/batch_input/, by Ray Data."""
    target = config.data_dir / "batch_input"
    shutil.rmtree(target, ignore_errors=True)
    with ray_session(config):
        source, _ = read_source(config)
        cuts = compute_cuts(source, config)
        test = raw_split(source, config, cuts, "test")
        test.select_columns(config.feature_schema.input_columns).write_parquet(str(target))
    return target


def score_file(
    config: ProjectConfig,
    input_path: Path,
    output_path: Path,
    **options: Unpack[batch_module.ScoreOptions],
) -> batch_module.BatchResult:
    """`batch.score_chunked` with the checking and scoring done by Ray Data tasks."""
    started = time.perf_counter()
    model = ModelRegistry(config).load(options.get("version"))
    run_id = options.get("run_id") or batch_module.new_run_id()
    log = options.get("log_predictions")
    log = config.batch.log_predictions if log is None else log
    chunk_rows = options.get("chunk_rows")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    rejects_path = batch_module.rejects_path_for(output_path)
    rejects_path.unlink(missing_ok=True)
    pending = output_path.with_name(f"{output_path.name}.partial")
    writers: dict[str, pq.ParquetWriter] = {}
    counts = {"read": 0, "scored": 0, "rejected": 0, "chunks": 0}
    predlog = batch_module.open_batch_log(config, options) if log else None
    settings = {
        "model_text": model.booster.model_to_string(),
        "version": model.version,
        "run_id": run_id,
        "schema": model.schema,
        "problem": model.problem,  # the model's: it knows the threshold set at training
    }
    try:
        with ray_session(config):
            dataset = _read_input(Path(input_path), model.schema).map_batches(
                partial(_check_and_score, settings=settings),
                batch_format="pandas",
                batch_size=chunk_rows or config.batch.chunk_rows,
            )
            for batch in dataset.iter_batches(batch_format="pandas", batch_size=None):
                frame = cast(pd.DataFrame, batch)
                good = frame[REASON].isna().to_numpy()
                ids = predlog_ids(run_id, np.flatnonzero(good) + counts["read"])
                scored = frame.loc[good].drop(columns=[REASON]).assign(prediction_id=ids)
                table = pa.Table.from_pandas(scored, preserve_index=False)
                _write(writers, "output", pending, table)
                if not good.all():
                    bad = frame.loc[~good]
                    rows = bad.drop(columns=[REASON, *_outputs(bad)]).astype("string")
                    rows.insert(0, "reason", bad[REASON].astype("string"))
                    rows.insert(0, "row", np.flatnonzero(~good) + counts["read"])
                    _write(
                        writers,
                        "rejects",
                        rejects_path,
                        pa.Table.from_pandas(rows, preserve_index=False),
                    )
                if predlog is not None and good.any():
                    columns = check_rows(scored, model.schema).columns  # plain values
                    columns = batch_module.with_row_keys(columns, scored, model.schema)
                    predictions = scored["prediction"].to_numpy(dtype=np.float64)
                    predlog.log(run_id, model.version, columns, predictions, ids=ids, wait=True)
                counts["read"] += len(frame)
                counts["scored"] += int(good.sum())
                counts["rejected"] += int((~good).sum())
                counts["chunks"] += 1
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    finally:
        for writer in writers.values():
            writer.close()
        if predlog is not None:
            predlog.close()
    if "output" not in writers:
        pq.write_table(pa.table({"prediction": pa.array([], pa.float64())}), pending)
    pending.replace(output_path)
    return batch_module.BatchResult(
        run_id=run_id,
        model_version=model.version,
        rows_read=counts["read"],
        rows_scored=counts["scored"],
        rows_rejected=counts["rejected"],
        chunks=counts["chunks"],
        seconds=time.perf_counter() - started,
        output_path=output_path,
        rejects_path=rejects_path if counts["rejected"] else None,
    )


def _read_input(path: Path, schema: FeatureSchema) -> ray.data.Dataset:
    """The input as a Ray dataset, after checking on the driver that it has every feature.

    A missing column would fail every Ray task; this fails once, with the same
    `SchemaError` as the in-memory scorer. CSV is read like the in-memory
    scorer reads it: its dialect sniffed, an empty field a missing value.
    """
    suffix = path.suffix.lower()
    if path.is_dir() or suffix == ".parquet":
        if not path.exists():
            raise FileNotFoundError(f"input {path} does not exist")
        files = parquet_files(path)
        batch_module.require_feature_columns(pq.read_schema(files[0]).names, schema)
        return read_parquet(files)
    if suffix == ".csv":
        if not path.is_file():
            raise FileNotFoundError(f"input file {path} does not exist")
        dialect = sniff_csv(path)  # `;` and decimal commas, as `data infer` reads them
        header = pd.read_csv(
            path, nrows=0, sep=dialect.delimiter, quotechar=dialect.quotechar,
            encoding=dialect.encoding,
        ).columns  # fmt: skip
        batch_module.require_feature_columns([str(c) for c in header], schema)
        return ray.data.read_csv(
            str(path),
            read_options=pa_csv.ReadOptions(encoding=dialect.encoding),
            parse_options=pa_csv.ParseOptions(
                delimiter=dialect.delimiter, quote_char=dialect.quotechar
            ),
            convert_options=pa_csv.ConvertOptions(
                strings_can_be_null=True, decimal_point=dialect.decimal
            ),
        )
    raise ValueError(
        f"cannot read {path}: expected a .parquet or .csv file, or a folder of Parquet parts"
    )


def _check_and_score(batch: pd.DataFrame, *, settings: dict[str, Any]) -> pd.DataFrame:
    """The batch with prediction, model version, run id and the reject reason (or null)."""
    import lightgbm as lgb

    from ...features import encode_columns

    schema = settings["schema"]
    problem = settings["problem"]
    check = check_rows(batch, schema)
    good = check.good
    result = batch.drop(columns=[c for c in batch_module.OUTPUT_COLUMNS if c in batch.columns])
    model = lgb.Booster(model_str=settings["model_text"])
    width = model.num_model_per_iteration()
    output = np.full((len(batch), width), np.nan)
    # the top features of the rows the problem explains (alerts); rejected rows: none
    contributions = np.zeros((len(batch), len(schema.features))) if problem.explains_rows else None
    if good.any():
        columns = {name: values[good] for name, values in check.columns.items()}
        matrix = encode_columns(columns, schema)
        output[good] = np.asarray(model.predict(matrix, num_threads=1)).reshape(-1, width)
        if contributions is not None:
            explained = explain_rows(model, problem, matrix, output[good, 0], num_threads=1)
            contributions[good] = explained
    scored = output if width > 1 else output[:, 0]
    for name, values in problem.output_columns(scored, contributions):
        result[name] = np.where(good, values, -1) if values.dtype.kind == "i" else values
    result["model_version"] = settings["version"]
    result["run_id"] = settings["run_id"]
    result[REASON] = pd.array(check.reasons, dtype="string")
    return result


def _outputs(frame: pd.DataFrame) -> list[str]:
    return [
        c for c in frame.columns if c.startswith("probability_") or c in batch_module.OUTPUT_COLUMNS
    ]


def _write(writers: dict[str, pq.ParquetWriter], key: str, path: Path, table: pa.Table) -> None:
    if key not in writers:
        writers[key] = pq.ParquetWriter(path, table.schema)
    writers[key].write_table(table.cast(writers[key].schema))
