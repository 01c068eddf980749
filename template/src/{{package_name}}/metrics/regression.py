"""Regression metrics, each one per-row statistics plus a finish step (numpy only).

The point value finishes the sums over all rows; the bootstrap finishes the
weighted sums of each resample, so both read the one definition here.
"""

from __future__ import annotations

import numpy as np

from ._base import Decomposable, MetricMath, Rows, check_pair, mean, undefined


def root_mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """sqrt(mean((y - y_hat)**2)), in the label's unit."""
    return RMSE.value(y_true, y_pred)


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean(|y - y_hat|), in the label's unit."""
    return MAE.value(y_true, y_pred)


def mean_absolute_percentage_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean(|y - y_hat| / |y|) as a fraction (0.1 is 10%); |y| is floored at machine epsilon."""
    return MAPE.value(y_true, y_pred)


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of the label's variance explained (1 is perfect, 0 is the mean).

    `r2_score([1, 2, 3], [1, 2, 4]) == 0.5`: squared error 1, variance sum 2.
    """
    y_true, y_pred = _check_regression(y_true, y_pred)
    if len(y_true) < 2 or np.ptp(y_true) == 0:
        return undefined("r2 needs at least two different labels")
    return R2.value(y_true, y_pred)


def _squared_error_rows(y_true: np.ndarray, y_pred: np.ndarray) -> Rows:
    y, p = _check_regression(y_true, y_pred)
    return Rows(((p - y) ** 2)[:, None])


def _absolute_error_rows(y_true: np.ndarray, y_pred: np.ndarray) -> Rows:
    y, p = _check_regression(y_true, y_pred)
    return Rows(np.abs(p - y)[:, None])


def _percentage_error_rows(y_true: np.ndarray, y_pred: np.ndarray) -> Rows:
    y, p = _check_regression(y_true, y_pred)
    return Rows((np.abs(p - y) / np.maximum(np.abs(y), np.finfo(np.float64).eps))[:, None])


def _r2_rows(y_true: np.ndarray, y_pred: np.ndarray) -> Rows:
    # The labels are centred first: the variance is the same, and the sums of
    # squares lose no precision to a large mean.
    y, p = _check_regression(y_true, y_pred)
    centred = y - y.mean()
    squared = (p - y) ** 2
    return Rows(
        np.column_stack([centred, centred**2, squared]), keys=np.column_stack([centred, squared])
    )


def _root_mean(sums: np.ndarray, total: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.sqrt(mean(sums, total))
    return result


def _r2_finish(sums: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        total_ss = sums[:, 1] - sums[:, 0] ** 2 / total
        result: np.ndarray = 1 - sums[:, 2] / total_ss
        return result


RMSE = Decomposable(_squared_error_rows, _root_mean)
MAE = Decomposable(_absolute_error_rows, mean)
MAPE = Decomposable(_percentage_error_rows, mean)
R2 = Decomposable(_r2_rows, _r2_finish)
# For the registry: each metric's point value and how the bootstrap resamples it.
REGRESSION_MATH: dict[str, MetricMath] = {
    "rmse": (root_mean_squared_error, RMSE),
    "mae": (mean_absolute_error, MAE),
    "mape": (mean_absolute_percentage_error, MAPE),
    "r2": (r2_score, R2),
}


def _check_regression(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return check_pair(y_true, y_pred, "y_pred")
