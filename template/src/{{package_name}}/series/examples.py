"""Leak-free examples for direct multi-horizon forecasting: one row per (series, origin, step).

Every feature built from the target reads only values at or before the
origin; only covariates known in advance (a planned promotion, a holiday)
are read at the target time. So a model trained on these rows never sees the
future it is asked about, and changing any value after the origin leaves an
example unchanged (the generated test `test_series.py` proves it).

Values are divided by the series' *scale* at the origin: the mean absolute
seasonal difference of its history, which is what the seasonal naive
forecast gets wrong on average. One global model then serves series of every
level, the label is in units of that error, and the mean absolute error of
the label is exactly MASE.

Lag k is the k-th most recent period ending at the origin: lag 1 is the value
at the origin itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calendar import calendar_features, calendar_names, grid

SERIES, ORIGIN, TARGET_TIME, SCALE, STEP = "series_id", "origin", "target_time", "scale", "step"
# How stored examples and the prediction log write times (UTC, ISO 8601).
TIME_TEXT = "%Y-%m-%dT%H:%M:%SZ"
# A scale is never below this, so dividing by it is safe for a series of zeros.
MIN_SCALE = 1e-3
# The scale looks back this many seasons (8 weeks of daily data).
SCALE_SEASONS = 8
# A scale below this share of the series' level is not trusted (see _running_scale).
MIN_SHARE_OF_LEVEL = 0.01


@dataclass(frozen=True)
class Layout:
    """How a long table is laid out and what to forecast from it.

    `covariates` are columns known in advance for every period (read at the
    target time); the target's own history is the only other input.
    """

    horizon: int
    frequency: str
    seasonal_period: int
    series_column: str = "series_id"
    time_column: str = "timestamp"
    target_column: str = "target"
    covariates: tuple[str, ...] = ()
    time_format: str | None = None  # how text timestamps are written (None: ISO)

    @property
    def lags(self) -> tuple[int, ...]:
        """The last three periods, and the origin's value one and two seasons back."""
        m = self.seasonal_period
        return tuple(sorted({1, 2, 3, m, 2 * m}))

    @property
    def windows(self) -> tuple[int, ...]:
        """Rolling windows: the last three periods and the last season."""
        return tuple(sorted({3, self.seasonal_period}))

    @property
    def history_periods(self) -> int:
        """Periods of history an origin needs for every feature and its scale."""
        scale_window = (SCALE_SEASONS + 1) * self.seasonal_period
        return max(*self.lags, *self.windows, scale_window) + 1

    def feature_names(self) -> list[str]:
        """The model's features, in the order the examples table holds them."""
        names = [STEP, *(f"lag_{k}" for k in self.lags), "last_value", "seasonal_lag"]
        for window in self.windows:
            names += [f"roll_mean_{window}", f"roll_std_{window}"]
        names += [*calendar_names(self.frequency), *self.covariates, "log_scale"]
        return names


def build_examples(
    frame: pd.DataFrame,
    layout: Layout,
    *,
    origins: Sequence[pd.Timestamp] | pd.DatetimeIndex | None = None,
    label: str | None = None,
) -> pd.DataFrame:
    """Examples for every series with history at each origin, steps 1..horizon.

    `frame` is long: one row per series and period. `origins` default to every
    period of the data. With `label`, the value at the target time divided by
    the scale becomes column `label` and rows whose target time has no value
    are left out (nothing to learn from); without it the rows are for
    forecasting and hold no label.
    """
    times = period_starts(frame[layout.time_column], layout)
    end = times.max() + layout.horizon * _step(times, layout)
    periods = grid(times.min(), end, layout.frequency)
    target = _wide(frame, layout, layout.target_column, periods, times)
    values = target.to_numpy(dtype=float)
    origin_rows = _origin_rows(periods, origins, int(periods.get_indexer([times.max()])[0]))

    # (origin, series) pairs with some history, each repeated once per step.
    first_seen = _first_observed(values)
    pair_origin, pair_series = np.nonzero(origin_rows[:, None] >= first_seen[None, :])
    row = np.repeat(origin_rows[pair_origin], layout.horizon)
    col = np.repeat(pair_series, layout.horizon)
    step = np.tile(np.arange(1, layout.horizon + 1), len(pair_origin))
    when = row + step

    scale = _take(_running_scale(target, layout.seasonal_period), row, col)
    columns: dict[str, object] = {
        SERIES: target.columns.to_numpy()[col],
        ORIGIN: periods[row],
        TARGET_TIME: periods[when],
        STEP: step.astype(float),
    }
    for lag in layout.lags:
        columns[f"lag_{lag}"] = _take(values, row - lag + 1, col) / scale
    columns["last_value"] = _take(target.ffill().to_numpy(dtype=float), row, col) / scale
    # The same season phase as the target, at or before the origin (a gap falls back a season).
    m = layout.seasonal_period
    seasonal_row = when - m * np.ceil(step / m).astype(int)
    columns["seasonal_lag"] = _take(_seasonal_ffill(values, m), seasonal_row, col) / scale
    for window in layout.windows:
        rolling = target.rolling(window, min_periods=max(1, window // 2))
        columns[f"roll_mean_{window}"] = _take(rolling.mean().to_numpy(), row, col) / scale
        columns[f"roll_std_{window}"] = _take(rolling.std().to_numpy(), row, col) / scale
    columns.update(calendar_features(periods[when], layout.frequency))
    for name in layout.covariates:
        known = _wide(frame, layout, name, periods, times).to_numpy(dtype=float)
        columns[name] = _take(known, when, col)
    columns["log_scale"] = np.log(scale)
    columns[SCALE] = scale
    examples = pd.DataFrame(columns)
    if label is None:
        return examples
    examples[label] = _take(values, when, col) / scale
    return examples[examples[label].notna()].reset_index(drop=True)


def period_starts(values: pd.Series, layout: Layout) -> pd.DatetimeIndex:
    """Each timestamp as the start of its period: the hour, the day, the Monday, the 1st.

    A daily table stamped at noon, or a weekly one dated on Sundays, lands on
    the grid; two rows of one series in one period are then a duplicate.
    """
    try:
        times = pd.DatetimeIndex(pd.to_datetime(values, utc=True, format=layout.time_format))
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"column '{layout.time_column}' cannot be read as timestamps ({error}); set "
            "problem.timestamp_format (e.g. '%d/%m/%Y')"
        ) from None
    if times.isna().any():
        raise ValueError(f"column '{layout.time_column}' has empty timestamps")
    if layout.frequency == "hour":
        return times.floor("h")
    if layout.frequency == "day":
        return times.floor("D")
    naive = times.tz_convert(None)
    period = "W-SUN" if layout.frequency == "week" else "M"
    return pd.DatetimeIndex(naive.to_period(period).start_time).tz_localize("UTC")


def examples_schema(layout: Layout, label: str) -> dict[str, object]:
    """The feature schema of the examples `build_examples` writes (configs/schema.yaml).

    Calendar features and the step are left out of drift checks, as is each
    series' level: they move with the calendar and the catalogue, not the data.
    """
    calendar_top = {"hour": 23, "day_of_week": 6, "day_of_month": 31, "month": 12}
    features: list[dict[str, object]] = [
        {
            "name": STEP,
            "kind": "numeric",
            "min": 1,
            "max": layout.horizon,
            "nullable": False,
            "drift": False,
        },
    ]
    features += [{"name": f"lag_{k}", "kind": "numeric", "nullable": True} for k in layout.lags]
    features += [
        {"name": "last_value", "kind": "numeric", "nullable": False},
        {"name": "seasonal_lag", "kind": "numeric", "nullable": True},
    ]
    for window in layout.windows:
        features += [
            {"name": f"roll_mean_{window}", "kind": "numeric", "nullable": True},
            {"name": f"roll_std_{window}", "kind": "numeric", "nullable": True},
        ]
    for name in calendar_names(layout.frequency):
        low = 0 if name in ("hour", "day_of_week") else 1
        top = calendar_top.get(name, 53)
        features.append(
            {
                "name": name,
                "kind": "numeric",
                "min": low,
                "max": top,
                "nullable": False,
                "drift": False,
            }
        )
    features += [{"name": name, "kind": "numeric", "nullable": True} for name in layout.covariates]
    # protected: evaluate checks that small series are forecast as well as large ones.
    features.append(
        {
            "name": "log_scale",
            "kind": "numeric",
            "nullable": False,
            "drift": False,
            "tags": ["protected"],
        }
    )
    return {
        "time_column": ORIGIN,
        "id_columns": [SERIES, TARGET_TIME],
        "label": {"name": label, "kind": "numeric"},
        "features": features,
    }


def as_stored(examples: pd.DataFrame) -> pd.DataFrame:
    """Examples as a project stores them: the target time as text, without the raw scale.

    The scale stays available as the `log_scale` feature.
    """
    stored = examples.drop(columns=[SCALE])
    stored[TARGET_TIME] = stored[TARGET_TIME].dt.strftime(TIME_TEXT)
    return stored


def naive_forecasts(examples: pd.DataFrame) -> np.ndarray:
    """Seasonal naive forecast of each example, in scale units (its `seasonal_lag`)."""
    return examples["seasonal_lag"].to_numpy(dtype=float)


def _step(times: pd.DatetimeIndex, layout: Layout) -> pd.Timedelta:
    """A generous length of one period, only to extend the grid past the last timestamp."""
    return pd.Timedelta(days={"hour": 1 / 24, "day": 1, "week": 7, "month": 31}[layout.frequency])


def _origin_rows(
    periods: pd.DatetimeIndex,
    origins: Sequence[pd.Timestamp] | pd.DatetimeIndex | None,
    last_row: int,
) -> np.ndarray:
    if origins is None:
        return np.arange(0, last_row + 1)
    wanted = pd.DatetimeIndex(pd.to_datetime(list(origins), utc=True))
    rows = periods.get_indexer(wanted)
    if (rows < 0).any():
        off = wanted[rows < 0][0]
        raise ValueError(f"origin {off} is not a period of the series' grid")
    return rows


def _wide(
    frame: pd.DataFrame,
    layout: Layout,
    column: str,
    periods: pd.DatetimeIndex,
    times: pd.DatetimeIndex,
) -> pd.DataFrame:
    """Periods by series; a period a series did not report is NaN."""
    long = pd.DataFrame(
        {
            "series": frame[layout.series_column].astype(str).to_numpy(),
            "time": times,
            "value": pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float),
        }
    )
    if long.duplicated(["series", "time"]).any():
        raise ValueError(f"a series has two rows for one {layout.frequency}; keep one per period")
    wide = long.pivot(index="time", columns="series", values="value")
    return wide.reindex(periods).astype(float)


def _take(matrix: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """matrix[rows, cols], NaN where a row falls outside the grid (no wrap-around)."""
    inside = (rows >= 0) & (rows < matrix.shape[0])
    out = np.full(rows.shape, np.nan)
    out[inside] = matrix[rows[inside], cols[inside]]
    return out


def _first_observed(values: np.ndarray) -> np.ndarray:
    """Row of each series' first value (past the end when it has none)."""
    seen = ~np.isnan(values)
    return np.where(seen.any(axis=0), seen.argmax(axis=0), values.shape[0])


def _seasonal_ffill(values: np.ndarray, seasonal_period: int) -> np.ndarray:
    """Each value carried forward to the same phase of later seasons, over gaps."""
    filled = values.copy()
    for phase in range(seasonal_period):
        filled[phase::seasonal_period] = pd.DataFrame(values[phase::seasonal_period]).ffill()
    return filled


def _running_scale(target: pd.DataFrame, seasonal_period: int) -> np.ndarray:
    """Mean absolute seasonal difference over the last SCALE_SEASONS seasons up to each period.

    This is the MASE denominator at that origin. A trailing window rather than
    the whole history keeps scaled values comparable while a series grows or
    shrinks. When it is missing or below a hundredth of the series' level (a
    short history, a series that repeats its season exactly), the first
    difference stands in, then the level itself; the result is at least MIN_SCALE.
    """
    window = SCALE_SEASONS * seasonal_period
    level = target.abs().rolling(window, min_periods=1).mean().to_numpy(dtype=float)
    scale = np.full(target.shape, np.nan)
    for differences in (target.diff(seasonal_period), target.diff(1), target):
        running = differences.abs().rolling(window, min_periods=1).mean().to_numpy(dtype=float)
        usable = running > MIN_SHARE_OF_LEVEL * level
        scale = np.where(np.isnan(scale) & usable, running, scale)
    return np.fmax(np.nan_to_num(scale, nan=MIN_SCALE), MIN_SCALE)
