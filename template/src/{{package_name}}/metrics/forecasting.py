"""Forecast accuracy, on labels and forecasts in units of each series' scale.

A forecasting project's label is the target divided by its series' scale at
the forecast origin, the mean absolute seasonal difference of the history
(series/examples.py). On such values the mean absolute error *is* MASE:
below 1, the forecast beats the in-sample seasonal naive forecast. sMAPE is
the same on scaled and raw values (the scale cancels in each row). RMSSE is
the root mean squared error in scale units, so large series do not drown
the rest as they would in raw RMSE.
"""

from __future__ import annotations

import numpy as np

from ._base import Decomposable, MetricMath, Rows, check_pair, mean


def mean_absolute_scaled_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean(|y - y_hat|) on scaled values: `mean_absolute_scaled_error([1, 2], [1, 3]) == 0.5`."""
    return MASE.value(y_true, y_pred)


def symmetric_mean_absolute_percentage_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean(2|y - y_hat| / (|y| + |y_hat|)), from 0 to 2; a row where both are 0 counts 0."""
    return SMAPE.value(y_true, y_pred)


def root_mean_squared_scaled_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """sqrt(mean((y - y_hat)**2)) on scaled values."""
    return RMSSE.value(y_true, y_pred)


def pinball_loss(y_true: np.ndarray, q_pred: np.ndarray, alpha: float) -> float:
    """Mean quantile loss of a forecast of the `alpha` quantile (alpha 0.5: half the MAE).

    Forecasting too low costs `alpha` per unit, too high `1 - alpha`.
    """
    y, q = _check(y_true, q_pred)
    difference = y - q
    return float(np.mean(np.maximum(alpha * difference, (alpha - 1) * difference)))


def interval_coverage(y_true: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of actuals inside [low, high]; a P10-P90 interval should hold about 0.8."""
    y, lower = _check(y_true, low)
    _, upper = _check(y_true, high)
    return float(np.mean((y >= lower) & (y <= upper)))


def by_step(y_true: np.ndarray, y_pred: np.ndarray, steps: np.ndarray) -> dict[str, float]:
    """MASE at each step ahead: error grows with the step, and this shows how fast."""
    y, p = _check(y_true, y_pred)
    steps = np.asarray(steps).astype(int)
    return {
        str(step): float(np.mean(np.abs(y[steps == step] - p[steps == step])))
        for step in np.unique(steps)
    }


def _absolute_rows(y_true: np.ndarray, y_pred: np.ndarray) -> Rows:
    y, p = _check(y_true, y_pred)
    return Rows(np.abs(p - y)[:, None])


def _squared_rows(y_true: np.ndarray, y_pred: np.ndarray) -> Rows:
    y, p = _check(y_true, y_pred)
    return Rows(((p - y) ** 2)[:, None])


def _symmetric_rows(y_true: np.ndarray, y_pred: np.ndarray) -> Rows:
    y, p = _check(y_true, y_pred)
    both = np.abs(y) + np.abs(p)
    error = 2 * np.abs(p - y)
    ratio = np.divide(error, both, out=np.zeros_like(error), where=both > 0)
    return Rows(ratio[:, None])


def _root_mean(sums: np.ndarray, total: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.sqrt(mean(sums, total))
    return result


MASE = Decomposable(_absolute_rows, mean)
SMAPE = Decomposable(_symmetric_rows, mean)
RMSSE = Decomposable(_squared_rows, _root_mean)
# For the registry: each metric's point value and how the bootstrap resamples it.
FORECASTING_MATH: dict[str, MetricMath] = {
    "mase": (mean_absolute_scaled_error, MASE),
    "smape": (symmetric_mean_absolute_percentage_error, SMAPE),
    "rmsse": (root_mean_squared_scaled_error, RMSSE),
}


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return check_pair(y_true, y_pred, "y_pred")
