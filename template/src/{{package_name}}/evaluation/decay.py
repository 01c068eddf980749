"""Staleness (ML Test Score M4): how fast a model loses quality as it ages.

Every registered version but the rejected ones (never served, so they never
aged in production) is scored on the same newest test window. A version's
age is the window's start minus the end of the data it was fitted on (early
stopping included), so models of the same data differ only by age. The
least-squares slope of the primary metric against age, per 30 days, is the
decay; the suggested retraining cadence is the age at which the fitted line
has lost `monitoring.performance_tolerance` of the newest version's value.
Results go to reports/decay.json (stable keys) and reports/decay.html.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config import ProjectConfig
from ..engines import engine_for
from ..metrics import get_metric
from ..registry import ModelRegistry, RegistryError
from .harness import score_outputs
from .plots import MODEL_COLOR, render_png

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DAYS_PER_MONTH = 30.0
NOT_ENOUGH = "not enough versions: the fit needs models of at least 2 different ages"


@dataclass(frozen=True)
class VersionAge:
    version: str
    age_days: float
    value: float


@dataclass(frozen=True)
class DecayResult:
    """What `evaluate --decay` measured; `to_json` is reports/decay.json."""

    metric: str
    direction: str
    test_start: str
    versions: list[VersionAge]
    change_per_month: float | None
    suggested_retrain_days: float | None
    note: str = ""
    # Versions fitted on rows of the test window (age below 0): not comparable.
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "direction": self.direction,
            "test_start": self.test_start,
            "versions": [asdict(v) for v in self.versions],
            "n_versions": len(self.versions),
            "change_per_month": self.change_per_month,
            "suggested_retrain_days": self.suggested_retrain_days,
            "note": self.note,
            "skipped": self.skipped,
        }

    def summary(self) -> str:
        head = f"Decay of {self.metric} over {len(self.versions)} versions"
        if self.change_per_month is None:
            return f"{head}: {self.note}"
        cadence = (
            f"retrain about every {self.suggested_retrain_days:.0f} days"
            if self.suggested_retrain_days is not None
            else "no retraining cadence follows (the metric does not get worse with age)"
        )
        return f"{head}: {self.change_per_month:+.4f} per 30 days of age; {cadence}"


def fit_decay(
    ages: np.ndarray, values: np.ndarray, *, direction: str, tolerance: float
) -> tuple[float | None, float | None]:
    """(metric change per 30 days, age at which the line loses `tolerance` of the newest value).

    Both None with fewer than 2 distinct ages; the age is None when the
    metric does not get worse with age. `values[argmin(ages)]` is the newest.
    >>> fit_decay(np.array([0.0, 30.0]), np.array([0.8, 0.7]), direction="higher", tolerance=0.1)
    (-0.1, 24.0)
    """
    ages, values = np.asarray(ages, dtype=float), np.asarray(values, dtype=float)
    known = np.isfinite(values)
    ages, values = ages[known], values[known]
    if len(np.unique(ages)) < 2:
        return None, None
    slope = float(np.polyfit(ages, values, 1)[0])
    loss_per_day = -slope if direction == "higher" else slope
    newest = float(values[np.argmin(ages)])
    suggested = None
    if loss_per_day > 0:
        suggested = round(tolerance * abs(newest) / loss_per_day, 1)
    return round(slope * DAYS_PER_MONTH, 6), suggested


def measure_decay(config: ProjectConfig) -> DecayResult:
    """Score every registered version on the newest test window; fit value against age."""
    time = config.feature_schema.time_column
    if not time:
        raise RegistryError("evaluate --decay needs a time column: a model's age is time")
    registry = ModelRegistry(config)
    entries = registry.list_versions()
    if not entries:
        raise RegistryError(f"no model is registered in {registry.root}; run `train` first")
    # A rejected candidate never served: its score says nothing about ageing in production.
    versions = [entry.version for entry in entries if entry.status != "rejected"]
    if not versions:
        raise RegistryError("every registered version was rejected; none has served to age")
    metric = get_metric(config.metric.primary, config.problem.type)
    engine = engine_for(config)
    points, start = [], None
    skipped = [entry.version for entry in entries if entry.status == "rejected"]
    with engine.session():
        for version in versions:
            model = registry.load(version)
            test = engine.score_test_split(model)
            if start is None:
                start = pd.Timestamp(test.frame[time].min())
            end = _data_end(model.metadata)
            if end is None or end > start:
                skipped.append(version)
                continue
            value = score_outputs(
                config, metric.name, test.labels, test.predictions, test.groups, quiet=True
            )
            age = round((start - end) / pd.Timedelta(days=1), 3)
            points.append(VersionAge(version, age, float(value)))
    change, suggested = fit_decay(
        np.array([p.age_days for p in points]),
        np.array([p.value for p in points]),
        direction=metric.direction,
        tolerance=config.monitoring.performance_tolerance,
    )
    return DecayResult(
        metric=metric.name,
        direction=metric.direction,
        test_start=str(start),
        versions=points,
        change_per_month=change,
        suggested_retrain_days=suggested,
        note=NOT_ENOUGH if change is None else "",
        skipped=skipped,
    )


def write_decay_reports(config: ProjectConfig, result: DecayResult) -> tuple[Path, Path]:
    """reports/decay.json and reports/decay.html (the metric against model age)."""
    folder = config.reports_dir
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "decay.json", folder / "decay.html"
    json_path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    png = render_png(_draw, result)
    cells = "</td><td>"
    rows = "".join(
        f"<tr><td>{html.escape(p.version)}{cells}{p.age_days:.1f}{cells}{p.value:.4f}</td></tr>"
        for p in result.versions
    )
    html_path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>Model decay</title></head>"
        f"<body><h1>Model decay: {html.escape(result.metric)} against age</h1>"
        f"<p>{html.escape(result.summary())}</p>"
        f"<p>Test window from {html.escape(result.test_start)}.</p>"
        f"<table><tr><th>version</th><th>age (days)</th><th>value</th></tr>{rows}</table>"
        f"<img alt='metric against model age' src='data:image/png;base64,{png}'>"
        f"</body></html>\n",
        encoding="utf-8",
    )
    return json_path, html_path


def _data_end(metadata: dict[str, Any]) -> pd.Timestamp | None:
    """The newest time the version was fitted on (validation included), or None."""
    times = metadata.get("time_range") or {}
    value = times.get("validation_end") or times.get("train_end")
    return pd.Timestamp(value) if value else None


def _draw(axes: Axes, result: DecayResult) -> None:
    ages = np.array([p.age_days for p in result.versions])
    values = np.array([p.value for p in result.versions])
    known = np.isfinite(values)
    ages, values = ages[known], values[known]
    axes.scatter(ages, values, color=MODEL_COLOR, label="registered versions")
    if result.change_per_month is not None and len(np.unique(ages)) > 1:
        line = np.polyfit(ages, values, 1)
        grid = np.linspace(0.0, max(float(ages.max()), 1.0), 50)
        axes.plot(grid, np.polyval(line, grid), color="#c62828", label="least-squares fit")
    axes.set_xlabel("model age at the test window (days)")
    axes.set_ylabel(result.metric)
    axes.legend(loc="best")
