"""The iterative loop, offline, on a sample whose world changes after a date.

`<cli> loop` plays one turn of the loop a team lives in, with the commands it
would use, in a workspace of its own (`data/loop/`: its own configs, data,
registry, prediction log and reports; the project's are never touched):

1. train on the history before the change: the first model becomes champion;
2. a worse candidate (its trees cannot split) is rejected and never served;
3. traffic from around the change is scored and logged, drift is checked;
4. its labels come back; quality per window drops after the change: alarm;
5. retraining on the newest days gives a candidate that beats the champion;
6. later traffic is scored by the new champion and its quality recovers;
7. every version is scored on the newest rows against its age (decay).

Each step's numbers go to `data/loop/reports/loop.json`; the reports of each
command (evaluation, promotion, drift, performance, decay) sit beside it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .config import ConfigError, ProjectConfig, load_config
from .data import SAMPLE_START, make_sample
from .engines import engine_for
from .evaluation.decay import measure_decay, write_decay_reports
from .labels import ingest_labels
from .monitoring.check import DriftCheckError, run_drift_check
from .monitoring.timeline import Timeline, check_performance
from .monitoring.timeline_report import write_performance_reports
from .train import TrainResult, train_model

MARKER = ".loop-workspace"  # only a folder holding it is ever cleared
DRIFT_DAY = 100  # the world changes 100 days into the 180-day sample
TRAFFIC_BEFORE_DAYS = 14  # the first traffic starts two weeks before the change...
TRAFFIC_AFTER_DAYS = 50  # ...and runs 50 days past it, when retraining happens
RETRAIN_WINDOW_DAYS = 50  # the retrained model sees only the days since the change
WEAK_PARAMS = {"min_data_in_leaf": 1_000_000, "boost_from_average": False}


class LoopError(RuntimeError):
    """The loop cannot run here (no time column, a folder that is not its workspace)."""


@dataclass
class LoopReport:
    """What each step did, with its numbers; `to_json` is reports/loop.json."""

    workspace: Path
    drift_date: str
    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(self, step: str, **numbers: Any) -> dict[str, Any]:
        entry = {"step": step, **numbers}
        self.steps.append(entry)
        return entry

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace": str(self.workspace),
            "drift_date": self.drift_date,
            "steps": self.steps,
        }


Say = Callable[[str], None]


def run_loop(
    config: ProjectConfig,
    *,
    workspace: Path | None = None,
    rows: int | None = None,
    say: Say = print,
) -> LoopReport:
    """Play the loop in `workspace` (default `data/loop/`); see the module docstring."""
    time = config.feature_schema.time_column
    if not time:
        raise LoopError(
            "the loop needs a time column in configs/schema.yaml: drift happens in time"
        )
    folder = _fresh_workspace(workspace or config.data_dir / "loop", config)
    drift_at = SAMPLE_START + pd.Timedelta(days=DRIFT_DAY)
    report = LoopReport(folder, drift_at.isoformat())
    world = make_sample(
        config, rows=rows or config.data.sample_rows, seed=config.model.seed, drift_after=drift_at
    )
    times = pd.to_datetime(world[time], utc=True)
    retrain_at = drift_at + pd.Timedelta(days=TRAFFIC_AFTER_DAYS)
    history = world[times < drift_at]
    traffic_start = drift_at - pd.Timedelta(days=TRAFFIC_BEFORE_DAYS)
    first_traffic = world[(times >= traffic_start) & (times < retrain_at)]
    later_traffic = world[times >= retrain_at]

    say(f"The world changes on {drift_at:%Y-%m-%d}; training on the {len(history)} rows before it")
    local = _workspace_config(folder, source=_write(folder, "history", history))
    first = train_model(local, show_progress=False)
    _record_training(report, "train on the history", first)
    say(first.summary())
    if not first.promoted:
        reason = first.promotion.reason if first.promotion else "no verdict"
        raise LoopError(f"the first model is not the champion ({reason}); nothing can serve")

    weak = train_model(_with_params(local, WEAK_PARAMS), show_progress=False)
    _record_training(report, "a worse candidate (its trees cannot split)", weak)
    say(weak.summary())

    _score_traffic(local, folder, "traffic_1", first_traffic, report, say)
    _check_drift(local, report, say)
    _record_timeline(local, report, "quality once the first labels are back", say)

    say(f"Retraining on the newest {RETRAIN_WINDOW_DAYS} days before {retrain_at:%Y-%m-%d}")
    recent = world[times < retrain_at]
    local = _workspace_config(
        folder, source=_write(folder, "history_2", recent), window_days=RETRAIN_WINDOW_DAYS
    )
    retrained = train_model(local, show_progress=False)
    _record_training(report, f"retrain on the newest {RETRAIN_WINDOW_DAYS} days", retrained)
    say(retrained.summary())

    _score_traffic(local, folder, "traffic_2", later_traffic, report, say)
    _record_timeline(local, report, "quality after retraining", say)

    decay = measure_decay(local)
    write_decay_reports(local, decay)
    report.add(
        "decay",
        versions=[
            {"version": v.version, "age_days": v.age_days, "value": v.value} for v in decay.versions
        ],
        change_per_month=decay.change_per_month,
        suggested_retrain_days=decay.suggested_retrain_days,
    )
    cadence = decay.suggested_retrain_days
    say(f"Decay: {decay.change_per_month} per 30 days; retrain every {cadence} days")
    path = local.reports_dir / "loop.json"
    path.write_text(json.dumps(report.to_json(), indent=2, default=str) + "\n", encoding="utf-8")
    return report


def _fresh_workspace(folder: Path, config: ProjectConfig) -> Path:
    """An empty workspace with a copy of the project's configs; clears only a marked one."""
    if folder.exists():
        if not (folder / MARKER).is_file():
            raise LoopError(
                f"{folder} exists and is not a loop workspace (no {MARKER} file); "
                "choose another --workspace, nothing was changed"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("Made by `loop`; the next `loop` run replaces this folder.\n")
    shutil.copytree(config.root / "configs", folder / "configs")
    return folder


def _workspace_config(
    folder: Path, *, source: Path, window_days: int | None = None
) -> ProjectConfig:
    """The workspace's config reading `source`, with every path inside the workspace."""
    project_file = folder / "configs" / "project.yaml"
    settings = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    settings["data"]["source"] = str(source.relative_to(folder))
    settings["data"]["train_window_days"] = window_days
    settings["paths"] = {**settings.get("paths", {}), "prediction_log": "data/predictions"}
    project_file.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    try:
        return load_config(project_file)
    except ConfigError as error:
        raise LoopError(f"the workspace's configs do not load: {error}") from None


def _with_params(config: ProjectConfig, params: dict[str, Any]) -> ProjectConfig:
    model = config.model.model_copy(update={"params": {**config.model.params, **params}})
    return config.model_copy(update={"model": model})


def _write(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    path = folder / "data" / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.reset_index(drop=True).to_parquet(path, index=False)
    return path


def _record_training(report: LoopReport, step: str, result: TrainResult) -> None:
    decision = result.promotion
    report.add(
        step,
        version=result.version,
        promoted=result.promoted,
        reason=decision.reason if decision else "",
        test_value=decision.value if decision else None,
        champion=decision.champion if decision else None,
        champion_value=decision.champion_value if decision else None,
    )


def _score_traffic(
    config: ProjectConfig,
    folder: Path,
    name: str,
    rows: pd.DataFrame,
    report: LoopReport,
    say: Say,
) -> None:
    """Score `rows` without their label like a day of batch traffic, then send the labels back."""
    label = config.feature_schema.label.name
    rows = rows.reset_index(drop=True)
    source = _write(folder, name, rows.drop(columns=[label]))
    result = engine_for(config).score_file(source, folder / "data" / f"{name}_scored.parquet")
    scored = pd.read_parquet(result.output_path, columns=["prediction_id"])
    numbers = scored["prediction_id"].str.rsplit("-", n=1).str[1].astype(int)
    outcomes = pd.DataFrame(
        {"prediction_id": scored["prediction_id"], label: rows[label].to_numpy()[numbers]}
    )
    labels_file = _write(folder, f"{name}_labels", outcomes)
    ingested = ingest_labels(config, labels_file)
    report.add(
        f"score {name} and send its labels back",
        model_version=result.model_version,
        rows_scored=result.rows_scored,
        labels=ingested.counts,
    )
    version, counts = result.model_version, ingested.counts
    say(f"{name}: {result.rows_scored} rows scored by {version}; labels {counts}")


def _check_drift(config: ProjectConfig, report: LoopReport, say: Say) -> None:
    try:
        drift = run_drift_check(config)
    except DriftCheckError as error:
        report.add("drift", judged=False, reason=str(error))
        say(f"Drift could not be judged: {error}")
        return
    drifted = sorted(column.name for column in drift.columns if column.drifted)
    report.add("drift", judged=True, alarm=drift.alert, drifted_columns=drifted)
    say(drift.summary())


def _record_timeline(config: ProjectConfig, report: LoopReport, step: str, say: Say) -> Timeline:
    timeline = check_performance(config, as_of=datetime.now(UTC))
    write_performance_reports(timeline, config.reports_dir)
    windows = [
        {
            "start": w.start.date().isoformat(),
            "model_version": w.model_version,
            "n": w.n,
            "value": w.value,
            "status": w.status,
        }
        for w in timeline.windows
    ]
    report.add(step, alarm=timeline.alarm, reason=timeline.reason, windows=windows)
    say(f"{step}: {'ALARM' if timeline.alarm else 'no alarm'}: {timeline.reason}")
    return timeline
