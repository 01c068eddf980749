"""The engine interface: where the data lives and how each step reads it.

The scale tier (`data.engine`) chooses one engine once (`engines.engine_for`);
the steps call it and never ask which it is. Every engine writes the same
sample layout its readers expect, returns the same `FittedModel` to
`train.finish_training`, and scores into the same `TestSet` and batch output,
so the model artifact, serving and monitoring are the same on every tier.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Unpack

if TYPE_CHECKING:
    import pandas as pd

    from ..batch import BatchResult, ScoreOptions
    from ..evaluation.results import TestSet
    from ..recipe import FittedModel
    from ..registry import LoadedModel


class Engine(Protocol):
    """One scale tier's implementation of the data-heavy steps."""

    @property
    def name(self) -> str:
        """The `data.engine` value: pandas, polars or ray."""
        ...

    def session(self) -> AbstractContextManager[None]:
        """Resources held across steps (a Ray connection); nothing for the others."""
        ...

    def write_sample(
        self,
        *,
        rows: int | None = None,
        seed: int | None = None,
        drift_after: pd.Timestamp | None = None,
    ) -> Path:
        """Generate the sample data for the problem type (drifting after `drift_after`)."""
        ...

    def fit(self, *, show_progress: bool = True) -> FittedModel:
        """Split by time, fit the baseline and LightGBM, score the validation split."""
        ...

    def score_test_split(self, model: LoadedModel) -> TestSet:
        """The test split with labels, model and baseline output (and what slices need)."""
        ...

    def write_test_split(self) -> Path:
        """The test split's inputs (no label), as a batch job or replayed traffic would see."""
        ...

    def validation_rows(self, max_rows: int) -> pd.DataFrame:
        """At most `max_rows` rows of the validation split, as read (queries whole)."""
        ...

    def score_file(
        self, input_path: Path, output_path: Path, **options: Unpack[ScoreOptions]
    ) -> BatchResult:
        """Score a Parquet/CSV file into Parquet; bad rows go to a rejects file."""
        ...
