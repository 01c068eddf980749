"""Polars streaming over partitioned Parquet: time cuts, split files, row-group access.

No step here holds the whole table. The time cuts come from an hourly histogram,
each split is written by a streaming `sink_parquet`, and LightGBM reads the split
files one row group at a time through `ParquetSequence`. Rows are encoded by
`features.encode_frame`, the function serving uses, so there is no skew.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq

from ...config import ProjectConfig
from ...features import encode_frame
from ...schema import SchemaError
from ...series.examples import TIME_TEXT
from ...tables import DataError
from ...validation import validate_frame
from ..partitioned import TimeCuts, parquet_files, source_path, time_cuts

SPLITS = ("train", "validation", "test")
PREPARED_DIR = "prepared"


@dataclass(frozen=True)
class PreparedSplits:
    """The split files written by `prepare` and the cuts that made them."""

    cuts: TimeCuts
    files: dict[str, Path]
    source_files: list[Path]


def scan(config: ProjectConfig) -> tuple[pl.LazyFrame, list[Path]]:
    """A lazy frame over the source's Parquet files with the time column in UTC."""
    files = parquet_files(source_path(config))
    frame = pl.scan_parquet(files)
    time = time_column_name(config)
    dtype = frame.collect_schema().get(time)
    if dtype is None:
        raise SchemaError(f"missing column(s) ['{time}']; the schema expects a time column")
    column = pl.col(time)
    if isinstance(dtype, pl.Datetime):
        column = column.dt.replace_time_zone("UTC") if dtype.time_zone is None else column
        column = column.dt.convert_time_zone("UTC")
    elif dtype == pl.String:
        column = column.str.to_datetime(format=config.feature_schema.time_format, time_zone="UTC")
    else:
        raise SchemaError(f"column '{time}': cannot read {dtype} values as timestamps")
    return frame.with_columns(column.dt.cast_time_unit("us")), files


def time_column_name(config: ProjectConfig) -> str:
    """The time column; this tier's config refuses a schema without one at load."""
    name = config.feature_schema.time_column
    if name is None:
        raise SchemaError("the out_of_core tier needs a time_column in configs/schema.yaml")
    return name


def compute_cuts(frame: pl.LazyFrame, config: ProjectConfig) -> TimeCuts:
    """Hourly row counts in one streaming pass, then the split points."""
    time = time_column_name(config)
    histogram = (
        frame.select(pl.col(time).dt.truncate("1h").alias("hour"))
        .group_by("hour")
        .agg(pl.len().alias("rows"))
        .collect(engine="streaming")
    )
    if histogram["hour"].null_count():
        raise SchemaError(f"column '{time}': the time column has missing values")
    if histogram.is_empty():
        raise SchemaError("the table has no rows")
    hours = histogram["hour"].dt.epoch("ns").to_numpy()
    return time_cuts(hours, histogram["rows"].to_numpy(), config)


def prepare(config: ProjectConfig, *, splits: tuple[str, ...] = SPLITS) -> PreparedSplits:
    """Write each requested split to data/prepared/<split>.parquet, streaming."""
    schema = config.feature_schema
    frame, files = scan(config)
    cuts = compute_cuts(frame, config)
    time = pl.col(time_column_name(config))
    oldest = time >= cuts.train_start if cuts.train_start is not None else pl.lit(True)
    predicates = {
        "train": oldest & (time < cuts.validation_start) & _known_by(config, cuts.validation_start),
        "validation": (time >= cuts.validation_start)
        & (time < cuts.test_start)
        & _known_by(config, cuts.test_start),
        "test": time >= cuts.test_start,
    }
    label_time = config.problem_type.label_time_column  # kept: it says when a label is known
    columns = [*schema.input_columns, schema.label.name, *([label_time] if label_time else [])]
    missing = [c for c in columns if c not in frame.collect_schema()]
    if missing:
        raise SchemaError(f"missing column(s) {missing}; the schema expects {columns}")
    folder = config.data_dir / PREPARED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in splits:
        path = folder / f"{name}.parquet"
        frame.filter(predicates[name]).select(columns).sink_parquet(
            path, row_group_size=config.data.chunk_rows, engine="streaming"
        )
        written[name] = path
    if config.problem_type.label_time_column is not None:
        cuts = _recounted(cuts, written)
    return PreparedSplits(cuts, written, files)


def _known_by(config: ProjectConfig, moment: pd.Timestamp) -> pl.Expr:
    """Rows whose label was known by `moment` (`ProblemType.known_by`, as a Polars filter)."""
    column = config.problem_type.label_time_column
    if column is None:
        return pl.lit(True)
    known = pl.col(column).str.to_datetime(TIME_TEXT, time_zone="UTC", strict=True)
    return known <= moment.to_pydatetime()


def _recounted(cuts: TimeCuts, written: dict[str, Path]) -> TimeCuts:
    """The cuts with the rows each split kept once labels from past its end were left out."""
    rows = dict(cuts.rows)
    for name, path in written.items():
        rows[name] = int(pl.scan_parquet(path).select(pl.len()).collect().item())
        if rows[name] < 10:
            raise DataError(
                f"the {name} split keeps {rows[name]} rows once rows whose label lies past "
                "the next split are left out; more data is needed"
            )
    return replace(cuts, rows=rows)


def iter_chunks(path: Path, *, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The file's row groups one at a time, as pandas frames."""
    handle = pq.ParquetFile(path)
    for index in range(handle.num_row_groups):
        yield handle.read_row_group(index, columns=columns).to_pandas()


def read_column(path: Path, name: str) -> np.ndarray:
    """One column of a split file (labels, query ids): a few bytes per row."""
    return pq.read_table(path, columns=[name]).column(0).to_numpy()


def sample_rows(path: Path, rows: int, *, seed: int) -> pd.DataFrame:
    """A uniform random sample of `rows` rows, read row group by row group."""
    handle = pq.ParquetFile(path)
    sizes = [handle.metadata.row_group(i).num_rows for i in range(handle.num_row_groups)]
    starts = np.cumsum([0, *sizes])
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(int(starts[-1]), size=min(rows, int(starts[-1])), replace=False))
    parts = []
    for index in range(len(sizes)):
        inside = chosen[(chosen >= starts[index]) & (chosen < starts[index + 1])]
        if len(inside):
            table = handle.read_row_group(index).take(inside - starts[index])
            parts.append(table.to_pandas())
    return pd.concat(parts, ignore_index=True)


class ParquetSequence(lgb.Sequence):
    """Random and batch access to a split file's encoded rows, one row group in memory.

    LightGBM first reads a sorted sample of single rows (to find the bins), then
    the whole file in order in slices of `batch_size` rows; both walk the row
    groups in order, so caching the last decoded group makes each pass one read.
    Every row group is validated against the schema the first time it is read.
    """

    def __init__(self, path: Path, config: ProjectConfig) -> None:
        self.path = path
        self.schema = config.feature_schema
        self._file = pq.ParquetFile(path)
        sizes = [
            self._file.metadata.row_group(i).num_rows for i in range(self._file.num_row_groups)
        ]
        self._starts = np.cumsum([0, *sizes])
        self.batch_size = max(sizes, default=1)
        self._columns = self.schema.feature_names
        self._cached: tuple[int, np.ndarray] = (-1, np.empty((0, len(self._columns))))
        self._validated: set[int] = set()

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, index: int | slice | list[int]) -> np.ndarray:
        if isinstance(index, list):
            return np.stack([self[position] for position in index])
        if isinstance(index, slice):
            start, stop, _ = index.indices(len(self))
            parts = []
            while start < stop:
                group = int(np.searchsorted(self._starts, start, side="right")) - 1
                offset = start - int(self._starts[group])
                take = min(stop, int(self._starts[group + 1])) - start
                parts.append(self._group(group)[offset : offset + take])
                start += take
            return np.concatenate(parts) if parts else np.empty((0, len(self._columns)))
        position = int(index)
        group = int(np.searchsorted(self._starts, position, side="right")) - 1
        return self._group(group)[position - int(self._starts[group])]

    def _group(self, group: int) -> np.ndarray:
        if self._cached[0] != group:
            frame = self._file.read_row_group(group).to_pandas()
            if group not in self._validated:
                validate_frame(frame, self.schema, require_label=True)
                self._validated.add(group)
            self._cached = (group, encode_frame(frame, self.schema))
        return self._cached[1]
