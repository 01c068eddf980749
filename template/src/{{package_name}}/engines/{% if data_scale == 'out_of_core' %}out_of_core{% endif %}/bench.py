"""`bench scale`: time and peak memory of the out-of-core pipeline as the data grows.

For each size a scratch copy of the project gets a partitioned sample of that
many rows, then a fresh process runs feature preparation + training + scoring
of the test split and reports its wall time and peak RSS. A fixed number of
boosting rounds (no early stopping) keeps the sizes comparable. The claim to
check: time grows about linearly with rows, peak RSS far slower than the data.
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import ProjectConfig, load_config

DEFAULT_SIZES = (1_000_000, 5_000_000, 20_000_000)


@dataclass(frozen=True)
class ScaleRun:
    rows: int
    train_seconds: float
    score_seconds: float
    peak_rss_mb: float
    parquet_mb: float
    pandas_mb: float

    @property
    def seconds(self) -> float:
        return self.train_seconds + self.score_seconds


@dataclass(frozen=True)
class ScaleBenchReport:
    runs: list[ScaleRun]
    rounds: int

    def table(self) -> list[list[str]]:
        first = self.runs[0]
        header = [
            "rows",
            "prep+train s",
            "score s",
            "total s",
            "peak RSS MB",
            "in pandas MB",
            "rows x",
            "time x",
            "RSS x",
        ]
        lines = [header]
        for run in self.runs:
            lines.append(
                [
                    f"{run.rows:,}",
                    f"{run.train_seconds:.1f}",
                    f"{run.score_seconds:.1f}",
                    f"{run.seconds:.1f}",
                    f"{run.peak_rss_mb:.0f}",
                    f"{run.pandas_mb:.0f}",
                    f"{run.rows / first.rows:.1f}",
                    f"{run.seconds / first.seconds:.2f}",
                    f"{run.peak_rss_mb / first.peak_rss_mb:.2f}",
                ]
            )
        return lines

    def note(self) -> str:
        return (
            f"{self.rounds} boosting rounds per size; 'in pandas MB' is what the same table "
            "would take as one in-memory DataFrame (the in-memory tier's footprint)."
        )


def run_scale_bench(
    config: ProjectConfig, *, sizes: tuple[int, ...] = DEFAULT_SIZES, rounds: int = 50
) -> ScaleBenchReport:
    """Run the pipeline at each size in a scratch copy of the project; see the module doc."""
    context = multiprocessing.get_context("spawn")
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        for rows in sizes:
            folder = Path(scratch) / f"rows-{rows}"
            shutil.copytree(config.root / "configs", folder / "configs")
            config_file = folder / "configs" / "project.yaml"
            with context.Pool(1) as pool:  # generating the data is not measured
                parquet_mb, pandas_mb = pool.apply(_write_data, (config_file, rows))
            with context.Pool(1) as pool:  # a fresh process: its peak RSS is this size's
                train_s, score_s, peak = pool.apply(_measure, (config_file, rounds))
            runs.append(ScaleRun(rows, train_s, score_s, peak, parquet_mb, pandas_mb))
            shutil.rmtree(folder)
    return ScaleBenchReport(runs, rounds)


def _write_data(config_file: Path, rows: int) -> tuple[float, float]:
    from ..partitioned import write_partitioned_sample

    config = load_config(config_file)
    folder = write_partitioned_sample(config, rows=rows)
    parts = sorted(folder.glob("*.parquet"))
    on_disk = sum(p.stat().st_size for p in parts) / 2**20
    first = pd.read_parquet(parts[0])
    in_memory = first.memory_usage(deep=True).sum() / len(first) * rows / 2**20
    return on_disk, in_memory


def _measure(config_file: Path, rounds: int) -> tuple[float, float, float]:
    from ..registry import ModelRegistry
    from .scoring import score_test_split
    from .train import train_out_of_core

    config = load_config(config_file)
    params = {**config.model.params, "n_estimators": rounds}
    model = config.model.model_copy(update={"params": params, "early_stopping_rounds": rounds + 1})
    config = config.model_copy(update={"model": model})
    started = time.perf_counter()
    train_out_of_core(config, show_progress=False)
    trained = time.perf_counter()
    test = score_test_split(config, ModelRegistry(config).load())
    assert len(test.predictions) == len(test.labels)
    scored = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 2**10
    return trained - started, scored - trained, peak_mb
