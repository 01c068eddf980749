"""The sample world: daily (or hourly, weekly, monthly) demand of many related products.

It holds what breaks naive forecasting code: series levels a hundredfold
apart, trend, a shared seasonal shape with each series' own strength,
holiday spikes on the same dates for every series, promotions planned in
advance, noise, and a few series that start late or go quiet for a while.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .calendar import pandas_frequency

# The series' own character is drawn from this seed, whatever the sample's seed.
CATALOGUE_SEED = 20_250_101


def demand_world(
    rng: np.random.Generator,
    *,
    n_series: int,
    start: pd.Timestamp,
    periods: int,
    frequency: str,
    seasonal_period: int,
) -> pd.DataFrame:
    """Long table `series_id, timestamp, units_sold, promo, holiday`, one row per reported period.

    Multiplicative: level x trend x season x holiday x promo x noise, so the
    series differ mostly in level and a global model must work in scale units.
    The catalogue (each series' level, trend, season and holiday dates) is the
    same for every seed; `rng` draws the promotions, the noise and the gaps,
    so two seeds are two periods of one business, not two businesses.
    """
    catalogue = np.random.default_rng(CATALOGUE_SEED)
    times = pd.date_range(start, periods=periods, freq=pandas_frequency(frequency))
    position = np.arange(periods)
    holiday = _holidays(catalogue, times)
    shared_shape = _seasonal_shape(catalogue, seasonal_period)

    parts = []
    for index in range(n_series):
        level = catalogue.lognormal(mean=3.0, sigma=1.0)
        trend = np.exp(catalogue.normal(0.0, 0.15) * position / periods)
        shape = 0.7 * shared_shape + 0.3 * _seasonal_shape(catalogue, seasonal_period)
        season = 1.0 + catalogue.uniform(0.1, 0.6) * shape[position % seasonal_period]
        holiday_lift = 1.0 + catalogue.uniform(0.2, 0.6) * holiday
        promo = (rng.random(periods) < catalogue.uniform(0.02, 0.15)).astype(float)
        promo_lift = 1.0 + catalogue.uniform(0.2, 0.8) * promo
        noise = rng.lognormal(0.0, catalogue.uniform(0.08, 0.25), periods)
        units = np.round(level * trend * season * holiday_lift * promo_lift * noise, 1)
        reported = _reported(rng, periods, late=index % 5 == 1, gappy=index % 5 == 2)
        parts.append(
            pd.DataFrame(
                {
                    "series_id": f"s{index:03d}",
                    "timestamp": times[reported],
                    "units_sold": units[reported],
                    "promo": promo[reported],
                    "holiday": holiday[reported],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _holidays(rng: np.random.Generator, times: pd.DatetimeIndex) -> np.ndarray:
    """Every tenth day from a drawn first one is a holiday, for every series alike.

    Regular, so any few weeks hold about as many as any others: the spikes are
    part of the normal pattern, not a change in it.
    """
    days = (times.normalize() - times[0].normalize()).days.to_numpy()
    first = int(rng.integers(0, 10))
    return ((days - first) % 10 == 0).astype(float)


def _seasonal_shape(rng: np.random.Generator, seasonal_period: int) -> np.ndarray:
    """A profile over one season with mean 0 and values in [-1, 1]."""
    raw = rng.normal(size=seasonal_period)
    raw -= raw.mean()
    return np.asarray(raw / max(float(np.abs(raw).max()), 1e-9))


def _reported(rng: np.random.Generator, periods: int, *, late: bool, gappy: bool) -> np.ndarray:
    """Which periods a series reports: one in five starts late, one in five has gaps."""
    keep = np.ones(periods, dtype=bool)
    if late:
        keep[: int(rng.uniform(0.2, 0.4) * periods)] = False
    if gappy:
        keep[rng.random(periods) < 0.05] = False
        quiet = int(rng.integers(0, max(periods - 5, 1)))
        keep[quiet : quiet + 5] = False
    return keep
