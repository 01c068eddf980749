"""The out-of-core engine: Polars streaming over partitioned Parquet, LightGBM from row groups.

The same steps as in memory, on data that does not fit in it: no step holds
the whole table (`data.engine: polars`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Unpack

import pandas as pd

from ...batch import BatchResult, ScoreOptions, score_chunked
from ...config import ProjectConfig
from ...evaluation.results import TestSet
from ...recipe import FittedModel
from ...registry import LoadedModel
from ..partitioned import write_partitioned_sample
from .scoring import score_test_split, validation_rows, write_test_split
from .train import fit_out_of_core


@dataclass(frozen=True)
class OutOfCoreEngine:
    """`data.engine: polars`."""

    config: ProjectConfig
    name: str = "polars"

    def session(self) -> AbstractContextManager[None]:
        return nullcontext()

    def write_sample(
        self,
        *,
        rows: int | None = None,
        seed: int | None = None,
        drift_after: pd.Timestamp | None = None,
    ) -> Path:
        return write_partitioned_sample(self.config, rows=rows, seed=seed, drift_after=drift_after)

    def fit(self, *, show_progress: bool = True) -> FittedModel:
        return fit_out_of_core(self.config, show_progress=show_progress)

    def score_test_split(self, model: LoadedModel) -> TestSet:
        return score_test_split(self.config, model)

    def write_test_split(self) -> Path:
        return write_test_split(self.config)

    def validation_rows(self, max_rows: int) -> pd.DataFrame:
        return validation_rows(self.config, max_rows)

    def score_file(
        self, input_path: Path, output_path: Path, **options: Unpack[ScoreOptions]
    ) -> BatchResult:
        """Batch scoring streams the input in chunks already, as in memory."""
        return score_chunked(self.config, input_path, output_path, **options)
