"""Performance over time: the primary metric per window of labelled predictions.

Logged predictions that have their label back are bucketed by event time into
days or weeks (`monitoring.performance_window`; weeks start on Monday, UTC)
and split by model version. Each bucket gets its row count, the metric, a
bootstrap interval and a status: "ok", "drop" (worse than the champion's
value on its test split when it was promoted, by more than
`monitoring.performance_tolerance`),
"insufficient" (fewer than `monitoring.min_rows` labelled rows, never "ok")
or "unavailable" (the metric cannot be computed from the log, or there is no
champion to compare with). A window is mature once its end plus
`problem.label_delay_days` has passed; before that its labels are still
arriving, so it is shown but cannot raise the alarm.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ..config import ProjectConfig
from ..labels import labelled_predictions
from ..metrics import bootstrap_interval
from ..registry import LoadedModel, ModelRegistry
from .performance import dropped, metric_value, reference_value

WINDOW_DAYS = {"day": 1, "week": 7}
JUDGED = ("ok", "drop")


@dataclass(frozen=True)
class Window:
    """One window of one model version."""

    start: pd.Timestamp
    end: pd.Timestamp
    model_version: str
    n: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    status: str
    mature: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "n": self.n,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "model_version": self.model_version,
            "status": self.status,
            "mature": self.mature,
        }


@dataclass(frozen=True)
class Timeline:
    """The windows, the value they are judged against and the verdict."""

    metric: str
    direction: str
    windows: list[Window]
    reference_value: float | None
    alarm: bool
    pending_labels: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "direction": self.direction,
            "windows": [window.to_json() for window in self.windows],
            "reference_value": self.reference_value,
            "alarm": self.alarm,
            "pending_labels": self.pending_labels,
            "reason": self.reason,
        }


def window_starts(times: pd.Series, size: str) -> pd.Series:
    """The start (UTC midnight; weeks: Monday) of the window each timestamp falls in."""
    days = pd.to_datetime(times, utc=True).dt.floor("D")
    if size == "day":
        return days
    return days - pd.to_timedelta(days.dt.day_of_week, unit="D")


def check_performance(
    config: ProjectConfig, *, as_of: datetime, sources: Collection[str] | None = None
) -> Timeline:
    """The timeline of the logged predictions whose labels came back, judged for the champion.

    Raises `RegistryError` when no champion exists: there is nothing to compare with.
    """
    registry = ModelRegistry(config)
    champion = registry.load()
    return performance_timeline(
        config,
        labelled_predictions(config, sources=sources),
        reference=champion_reference(registry, champion),
        champion=champion.version,
        as_of=as_of,
    )


def champion_reference(registry: ModelRegistry, champion: LoadedModel) -> float | None:
    """The champion's value on its test split, measured when it was promoted.

    Validation chose the number of trees, so its value is optimistic; a model
    promoted by force has no test value recorded, and validation is what there is.
    """
    tested = registry.decision(champion.version).get("evidence", {}).get("candidate", {})
    value = tested.get("value")
    return float(value) if value is not None else reference_value(champion)


def performance_timeline(
    config: ProjectConfig,
    log: pd.DataFrame,
    *,
    reference: float | None,
    champion: str | None,
    as_of: datetime,
) -> Timeline:
    """Judge the labelled rows of `log` (`labels.labelled_predictions`) window by window."""
    label = config.feature_schema.label.name
    now = pd.Timestamp(as_of)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    delay = pd.Timedelta(days=config.problem.label_delay_days)
    width = pd.Timedelta(days=WINDOW_DAYS[config.monitoring.performance_window])
    has_label = log[label].notna() & log["prediction"].notna()
    pending = int((~has_label & (log["event_time"] + delay > now)).sum())
    labelled = log[has_label].assign(
        _start=window_starts(log.loc[has_label, "event_time"], config.monitoring.performance_window)
    )
    windows = [
        _window(config, rows, start, str(version), width, now - delay, reference)
        for (start, version), rows in labelled.groupby(["_start", "model_version"], sort=True)
    ]
    alarm, reason = _verdict(config, windows, reference, champion)
    return Timeline(
        metric=config.metric.primary,
        direction=config.metric.direction,
        windows=windows,
        reference_value=reference,
        alarm=alarm,
        pending_labels=pending,
        reason=reason,
    )


def _window(
    config: ProjectConfig,
    rows: pd.DataFrame,
    start: Any,
    version: str,
    width: pd.Timedelta,
    matured_by: pd.Timestamp,
    reference: float | None,
) -> Window:
    begin = pd.Timestamp(start)
    end = begin + width
    n = len(rows)
    value = _finite(metric_value(rows, config)) if n >= 2 else None
    low = high = None
    if value is not None and n >= config.monitoring.min_rows:
        low, high = _interval(config, rows)
    if n < config.monitoring.min_rows:
        status = "insufficient"
    elif value is None or reference is None:
        status = "unavailable"
    else:
        status = "drop" if dropped(value, reference, config) else "ok"
    return Window(begin, end, version, n, value, low, high, status, end <= matured_by)


def _interval(config: ProjectConfig, rows: pd.DataFrame) -> tuple[float | None, float | None]:
    problem = config.problem_type
    schema = config.feature_schema
    group = schema.group_column
    groups = rows[group].to_numpy() if problem.grouped and group else None
    outputs = problem.logged_outputs(rows["prediction"].to_numpy(dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            low, high = bootstrap_interval(
                config.metric.primary,
                problem.name,
                rows[schema.label.name].to_numpy(dtype=float),
                outputs,
                groups=groups,
                k=problem.k,
                resamples=config.metric.bootstrap_resamples,
                level=config.metric.confidence_level,
                seed=config.model.seed,
            )
        except ValueError:
            return None, None
    return _finite(low), _finite(high)


def _verdict(
    config: ProjectConfig, windows: list[Window], reference: float | None, champion: str | None
) -> tuple[bool, str]:
    """The alarm and why: the latest mature window with enough labelled rows decides.

    When that window holds several versions, the champion's rows decide (else
    the version with the most rows).
    """
    metric = config.metric.primary
    if reference is None:
        return False, "no champion with a saved validation value to compare with"
    judged = [w for w in windows if w.mature and w.status in JUDGED]
    if not judged:
        if any(w.status == "unavailable" for w in windows):
            return False, (
                f"{metric} cannot be computed from the prediction log (it keeps one number "
                "per row: multiclass keeps the class, not the probabilities)"
            )
        return False, (
            f"no mature window with at least {config.monitoring.min_rows} labelled rows yet "
            f"(a window matures {config.problem.label_delay_days} day(s) after it ends)"
        )
    latest = max(w.start for w in judged)
    rows = [w for w in judged if w.start == latest]
    chosen = next((w for w in rows if w.model_version == champion), max(rows, key=lambda w: w.n))
    tolerance = config.monitoring.performance_tolerance
    told = (
        f"{metric} {chosen.value:.4g} in the window from {chosen.start:%Y-%m-%d} "
        f"(model {chosen.model_version}, {chosen.n} rows) vs {reference:.4g} at promotion, "
        f"{config.metric.direction} is better, tolerance {tolerance:.0%}"
    )
    if chosen.status == "drop":
        return True, f"dropped beyond tolerance: {told}"
    return False, f"within tolerance: {told}"


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(float(value)):
        return None
    return float(np.float64(value))
