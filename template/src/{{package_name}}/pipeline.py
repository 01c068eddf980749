"""The whole pipeline in one call: data -> train -> evaluate -> serve/batch -> drift -> doc.

Steps that judge something (the evaluation gate, the latency target, drift)
record a failure and let the pipeline go on, so one run shows every problem;
a step that crashes stops it, because the later steps need its output.
Optional steps run only when their module exists in this project.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from .config import ProjectConfig
from .engines import engine_for


@dataclass
class PipelineOutcome:
    """Which steps ran, how long they took, and which ones failed."""

    steps: list[tuple[str, float, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


Step = Callable[[], tuple[bool, str]]


def run_pipeline(
    config: ProjectConfig, *, rows: int | None = None, console: Console | None = None
) -> PipelineOutcome:
    """Run every step that this project has; see the module docstring."""
    console = console or Console()
    outcome = PipelineOutcome()
    with _engine_session(config):
        _run_steps(config, rows, console, outcome)
    console.print(_table(outcome))
    return outcome


def _engine_session(config: ProjectConfig) -> AbstractContextManager[None]:
    """One engine session for every step (the cluster tier: one Ray connection).

    Starting Ray takes seconds, and a process that starts and stops it again
    and again (after Ray Train in particular) can lose its connection to it.
    """
    return engine_for(config).session()


def _run_steps(
    config: ProjectConfig, rows: int | None, console: Console, outcome: PipelineOutcome
) -> None:
    for name, step in _steps(config, rows):
        console.rule(f"[bold]{name}")
        started = time.perf_counter()
        try:
            passed, message = step()
        except Exception as error:
            outcome.steps.append((name, time.perf_counter() - started, f"error: {error}"))
            outcome.failures.append(name)
            console.print(f"[red]{name} failed:[/red] {error}")
            break
        outcome.steps.append((name, time.perf_counter() - started, message))
        console.print(message, markup=False)
        if not passed:
            outcome.failures.append(name)


def _steps(config: ProjectConfig, rows: int | None) -> list[tuple[str, Step]]:
    steps: list[tuple[str, Step]] = []
    if config.data.source is None:
        steps.append(("data sample", lambda: _sample(config, rows)))
    steps.append(("train", lambda: _train(config)))
    steps.append(("evaluate", lambda: _evaluate(config)))
    if config.serving.mode == "online" and _has("bench.latency"):
        steps.append(("bench", lambda: _latency(config)))
        # The bench's load is synthetic; the drift check needs rows that look
        # like a day of traffic, so the newest rows go through the scorer.
        steps.append(("replay traffic", lambda: _batch(config)))
    if config.serving.mode == "batch":
        steps.append(("batch score", lambda: _batch(config)))
    if _has("monitoring.check"):
        steps.append(("drift", lambda: _drift(config)))
    if _has("design_status"):
        steps.append(("doc", lambda: _doc(config)))
    return steps


def _sample(config: ProjectConfig, rows: int | None) -> tuple[bool, str]:
    return True, f"Sample data written to {engine_for(config).write_sample(rows=rows)}"


def _train(config: ProjectConfig) -> tuple[bool, str]:
    from .train import train_model

    return True, train_model(config).summary()


def _evaluate(config: ProjectConfig) -> tuple[bool, str]:
    from .evaluation.harness import evaluate_model

    result = evaluate_model(config)
    return result.gate_passed, result.summary()


def _latency(config: ProjectConfig) -> tuple[bool, str]:
    config_file = config.root / "configs" / "project.yaml"
    report = _module("bench.latency").run_latency_bench(
        config, config_file=config_file if config_file.is_file() else None
    )
    return bool(report.passed), str(report.summary())


def _batch(config: ProjectConfig) -> tuple[bool, str]:
    """Score the test split as if it were today's batch or traffic (this fills the log).

    The test split is the newest slice of the data, unseen in training: the
    closest thing to tomorrow's inputs that a fresh project has.
    """
    engine = engine_for(config)
    source = engine.write_test_split()
    result = engine.score_file(source, config.data_dir / "batch_scores.parquet")
    return True, str(result.summary())


def _drift(config: ProjectConfig) -> tuple[bool, str]:
    check = _module("monitoring.check")
    try:
        report = check.run_drift_check(config)
    except check.DriftCheckError as error:  # cannot judge: a failure, not a crash
        return False, f"Drift check could not run: {error}"
    return not report.alert, str(report.summary())


def _doc(config: ProjectConfig) -> tuple[bool, str]:
    return True, f"Updated {_module('design_status').update_design_doc(config)}"


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(f"{__package__}.{module}") is not None
    except ModuleNotFoundError:
        return False


def _module(module: str) -> Any:
    return importlib.import_module(f"{__package__}.{module}")


def _table(outcome: PipelineOutcome) -> Table:
    table = Table(title="Pipeline")
    for column in ("step", "seconds", "result"):
        table.add_column(column)
    failed = set(outcome.failures)
    for name, seconds, _message in outcome.steps:
        verdict = "[red]FAILED[/red]" if name in failed else "[green]ok[/green]"
        table.add_row(name, f"{seconds:.1f}", verdict)
    return table
