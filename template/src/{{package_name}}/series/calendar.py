"""The forecast frequencies: each one's grid step and the calendar features it needs."""

from __future__ import annotations

import numpy as np
import pandas as pd

# pandas frequency of each answer to `forecast_frequency`: weeks start on Monday,
# months on their first day, so every timestamp has one place on the grid.
FREQUENCIES: dict[str, str] = {"hour": "h", "day": "D", "week": "W-MON", "month": "MS"}
# The usual season length of each frequency (the `seasonal_period` default).
SEASONS: dict[str, int] = {"hour": 24, "day": 7, "week": 52, "month": 12}


def pandas_frequency(frequency: str) -> str:
    """The pandas alias for `frequency`; a ValueError names the choices otherwise."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}, got {frequency!r}")
    return FREQUENCIES[frequency]


def grid(start: pd.Timestamp, end: pd.Timestamp, frequency: str) -> pd.DatetimeIndex:
    """Every period from `start` to `end` (both on the grid) at `frequency`."""
    return pd.date_range(start, end, freq=pandas_frequency(frequency))


def calendar_names(frequency: str) -> tuple[str, ...]:
    """The calendar features of a target time at `frequency` (finer data needs more)."""
    return {
        "hour": ("hour", "day_of_week"),
        "day": ("day_of_week", "day_of_month", "month"),
        "week": ("week_of_year",),
        "month": ("month",),
    }[frequency]


def calendar_features(times: pd.DatetimeIndex, frequency: str) -> dict[str, np.ndarray]:
    """The calendar of each target time, as numbers."""
    every = {
        "hour": lambda: times.hour,
        "day_of_week": lambda: times.day_of_week,
        "day_of_month": lambda: times.day,
        "month": lambda: times.month,
        "week_of_year": lambda: times.isocalendar().week,
    }
    return {name: np.asarray(every[name](), dtype=float) for name in calendar_names(frequency)}
