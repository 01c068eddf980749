"""The batch scorer's throughput against the answered deadline (`<cli> bench` in batch mode).

Scores rows drawn from the model's reference with the project's engine, as the
scheduled job would, and estimates whether a day's rows fit in the deadline.
Writes reports/batch_bench.json; nothing is added to the prediction log.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import ProjectConfig
from ..engines import engine_for
from ..registry import ModelRegistry

BENCH_REPORT = "batch_bench.json"


@dataclass(frozen=True)
class BatchBenchReport:
    """Scoring throughput and whether a day's rows fit in the deadline."""

    rows: int
    seconds: float
    rows_per_second: float
    rows_per_day: int
    estimated_minutes: float
    deadline_minutes: int
    passed: bool

    def summary(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"Scored {self.rows:,} rows in {self.seconds:.2f} s ({self.rows_per_second:,.0f} "
            f"rows/s, reading, checking, scoring and writing).\n"
            f"{verdict}: a day's {self.rows_per_day:,} rows would take about "
            f"{self.estimated_minutes:.1f} min; the deadline is {self.deadline_minutes} min."
        )


def run_batch_bench(config: ProjectConfig, *, rows: int | None = None) -> BatchBenchReport:
    """Time `score_file` on rows drawn from the model's reference.

    Writes reports/batch_bench.json; nothing is added to the prediction log.
    """
    model = ModelRegistry(config).load()
    reference = pd.read_parquet(model.reference_path, columns=model.schema.feature_names)
    count = rows or min(config.data.rows_per_day, 200_000)
    rng = np.random.default_rng(config.model.seed)
    sample = reference.iloc[rng.integers(0, len(reference), count)].reset_index(drop=True)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "input.parquet"
        sample.to_parquet(source, index=False)
        engine = engine_for(config)
        result = engine.score_file(source, Path(folder) / "output.parquet", log_predictions=False)
    rate = result.rows_per_second
    estimate = config.data.rows_per_day / rate / 60
    report = BatchBenchReport(
        rows=count,
        seconds=round(result.seconds, 3),
        rows_per_second=round(rate, 1),
        rows_per_day=config.data.rows_per_day,
        estimated_minutes=round(estimate, 4),
        deadline_minutes=config.batch.deadline_minutes,
        passed=bool(estimate <= config.batch.deadline_minutes),
    )
    config.reports_dir.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = asdict(report)
    (config.reports_dir / BENCH_REPORT).write_text(json.dumps(payload, indent=2) + "\n")
    return report
