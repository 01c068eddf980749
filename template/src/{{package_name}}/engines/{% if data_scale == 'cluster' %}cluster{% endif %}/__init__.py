"""The cluster engine: Ray Data for data and scoring, Ray Train's LightGBMTrainer for training.

The same steps as in memory, expressed on Ray (`data.engine: ray`); the model
is the same LightGBM text model, registered the same way.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Unpack

import pandas as pd

from ...batch import BatchResult, ScoreOptions
from ...config import ProjectConfig
from ...evaluation.results import TestSet
from ...recipe import FittedModel
from ...registry import LoadedModel
from ..partitioned import write_partitioned_sample
from .scoring import score_file, score_test_split, validation_rows, write_test_split
from .session import ray_session
from .train import fit_on_ray


@dataclass(frozen=True)
class RayEngine:
    """`data.engine: ray`."""

    config: ProjectConfig
    name: str = "ray"

    def session(self) -> AbstractContextManager[None]:
        """One Ray connection for several steps (each step reuses an open one)."""
        return ray_session(self.config)

    def write_sample(
        self,
        *,
        rows: int | None = None,
        seed: int | None = None,
        drift_after: pd.Timestamp | None = None,
    ) -> Path:
        return write_partitioned_sample(self.config, rows=rows, seed=seed, drift_after=drift_after)

    def fit(self, *, show_progress: bool = True) -> FittedModel:
        return fit_on_ray(self.config, show_progress=show_progress)

    def score_test_split(self, model: LoadedModel) -> TestSet:
        return score_test_split(self.config, model)

    def write_test_split(self) -> Path:
        return write_test_split(self.config)

    def validation_rows(self, max_rows: int) -> pd.DataFrame:
        return validation_rows(self.config, max_rows)

    def score_file(
        self, input_path: Path, output_path: Path, **options: Unpack[ScoreOptions]
    ) -> BatchResult:
        return score_file(self.config, input_path, output_path, **options)
