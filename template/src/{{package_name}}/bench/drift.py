"""`bench drift`: how long a drift check takes on a million rows, and its memory.

Synthetic reference and current tables (20 numeric and 5 categorical columns,
a few of them shifted on purpose) are checked at growing sizes; the cost should
grow linearly with rows. Profiling the reference happens once per model at
training time in real use, so it is timed apart from the check itself. When
evidently happens to be installed (it is not a dependency), its DataDriftPreset
runs on the same data for a speed ratio and the agreement of drift decisions
on the methods both implement alike (normalised Wasserstein, Jensen-Shannon).
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..config import ProjectConfig
from ..monitoring.compare import ColumnResult, compare_profiles, share_drifted
from ..monitoring.profile import Kind, profile_frame

SIZES = (10_000, 100_000, 1_000_000)
N_NUMERIC, N_CATEGORICAL, N_CATEGORIES = 20, 5, 10
SHIFTED = {"num_00": "mean +0.3 sd", "num_01": "scale x1.25", "cat_00": "share of 'c0' x2"}


@dataclass
class BenchRun:
    """Timings of one size."""

    rows: int
    profile_seconds: float
    check_seconds: float
    peak_traced_mb: float
    detected: list[str]
    results: list[ColumnResult] = field(repr=False)

    @property
    def total_seconds(self) -> float:
        return self.profile_seconds + self.check_seconds


@dataclass
class DriftBenchResult:
    runs: list[BenchRun]
    peak_rss_mb: float
    evidently: str = ""

    def summary(self) -> str:
        lines = ["rows        reference profile   check (current)   total     traced peak"]
        for run in self.runs:
            lines.append(
                f"{run.rows:>9,}   {run.profile_seconds:>15.3f} s   {run.check_seconds:>13.3f} s"
                f"   {run.total_seconds:>6.3f} s   {run.peak_traced_mb:>7.0f} MB"
            )
        largest = self.runs[-1]
        lines += [
            f"Largest run: {largest.rows:,} x {largest.rows:,} rows, {N_NUMERIC} numeric + "
            f"{N_CATEGORICAL} categorical columns: {largest.total_seconds:.2f} s "
            "(target < 5 s)",
            f"Peak resident memory of this process (data included): {self.peak_rss_mb:.0f} MB "
            "(target < 2048 MB)",
            f"Shifted on purpose: {', '.join(f'{k} ({v})' for k, v in SHIFTED.items())}",
            f"Detected at {largest.rows:,} rows: {', '.join(largest.detected) or 'none'}",
        ]
        if len(self.runs) > 1:
            first = self.runs[0]
            ratio = largest.total_seconds / max(first.total_seconds, 1e-9)
            lines.append(
                f"Time ratio {largest.rows:,} / {first.rows:,} rows: {ratio:.0f}x for "
                f"{largest.rows // first.rows}x the rows"
            )
        lines.append(self.evidently or "evidently is not installed: no comparison run")
        return "\n".join(lines)


def make_tables(rows: int, *, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Kind]]:
    """A reference table and a current table with the SHIFTED columns moved."""
    rng = np.random.default_rng(seed)
    tables = []
    for part in ("reference", "current"):
        columns: dict[str, Any] = {}
        for i in range(N_NUMERIC):
            family = i % 3
            values = (
                rng.standard_normal(rows)
                if family == 0
                else rng.lognormal(0.0, 0.5, rows)
                if family == 1
                else rng.exponential(2.0, rows)
            )
            if part == "current" and i == 0:
                values = values + 0.3
            if part == "current" and i == 1:
                values = values * 1.25
            if i % 5 == 4:
                values[rng.random(rows) < 0.02] = np.nan
            columns[f"num_{i:02d}"] = values
        labels = np.array([f"c{j}" for j in range(N_CATEGORIES)])
        shares = np.linspace(2.0, 1.0, N_CATEGORIES)
        shares /= shares.sum()
        for i in range(N_CATEGORICAL):
            p = shares
            if part == "current" and i == 0:
                p = shares.copy()
                p[0] *= 2
                p[1:] *= (1 - p[0]) / p[1:].sum()
            codes = rng.choice(N_CATEGORIES, size=rows, p=p)
            columns[f"cat_{i:02d}"] = pd.Series(labels[codes], dtype="str")
        tables.append(pd.DataFrame(columns))
    kinds: dict[str, Kind] = {
        name: "numeric" if name.startswith("num") else "categorical" for name in tables[0].columns
    }
    return tables[0], tables[1], kinds


def run_drift_bench(
    config: ProjectConfig, *, sizes: tuple[int, ...] = SIZES, seed: int = 0
) -> DriftBenchResult:
    """Time the check at each size; the largest also runs evidently when installed."""
    runs = []
    reference = current = pd.DataFrame()
    for rows in sizes:
        del reference, current
        reference, current, kinds = make_tables(rows, seed=seed)
        tracemalloc.start()
        started = time.perf_counter()
        ref_profiles = profile_frame(reference, kinds)
        profiled = time.perf_counter()
        cur_profiles = profile_frame(current, kinds)
        results = compare_profiles(ref_profiles, cur_profiles, config.monitoring)
        share_drifted(results)
        finished = time.perf_counter()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del ref_profiles, cur_profiles
        runs.append(
            BenchRun(
                rows,
                profiled - started,
                finished - profiled,
                peak / 2**20,
                [r.name for r in results if r.drifted],
                results,
            )
        )
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (
        2**20 if sys.platform == "darwin" else 2**10
    )
    result = DriftBenchResult(runs, peak_rss)
    result.evidently = _compare_with_evidently(reference, current, runs[-1])
    return result


def _compare_with_evidently(reference: pd.DataFrame, current: pd.DataFrame, run: BenchRun) -> str:
    try:
        import evidently  # noqa: F401
    except ImportError:
        return ""
    try:
        started = time.perf_counter()
        decisions = _evidently_decisions(reference, current)
        seconds = time.perf_counter() - started
    except Exception as error:  # evidently's API changes often: report, never crash
        return f"evidently is installed but its DataDriftPreset failed: {error!r}"
    ours = {
        r.name: bool(r.drifted)
        for r in run.results
        if r.method in ("wasserstein", "jensen_shannon")
    }
    shared = [name for name in ours if name in decisions]
    agree = sum(ours[name] == decisions[name] for name in shared)
    return (
        f"evidently DataDriftPreset: {seconds:.2f} s, {seconds / run.total_seconds:.1f}x our "
        f"time; drift decisions agree on {agree} of {len(shared)} columns "
        "(Wasserstein and Jensen-Shannon columns)"
    )


def _evidently_decisions(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, bool]:
    """Per-column drift decisions of evidently's DataDriftPreset (new or legacy API)."""
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset
    except ImportError:
        from evidently.metric_preset import DataDriftPreset
        from evidently.report import Report

        legacy = Report(metrics=[DataDriftPreset()])
        legacy.run(reference_data=reference, current_data=current)
        for metric in legacy.as_dict()["metrics"]:
            by_column = metric.get("result", {}).get("drift_by_columns")
            if by_column:
                return {name: bool(v["drift_detected"]) for name, v in by_column.items()}
        raise RuntimeError("no per-column drift in evidently's result") from None
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    decisions = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        column, threshold = config.get("column"), config.get("threshold")
        value = metric.get("value")
        if column is None or threshold is None or not isinstance(value, int | float):
            continue
        method = str(config.get("method", "")).lower()
        p_value_test = "p_value" in method or "test" in method
        decisions[column] = value < threshold if p_value_test else value >= threshold
    return decisions
