"""Forecasts in the series' own units: every series, the next `forecast_horizon` periods.

The model predicts the median of each scaled example (P50 in scale units);
this module builds the examples for one origin from the long history, asks
the model, adds the stored per-step interval and multiplies back by each
series' scale. It is what `forecast` writes for the whole catalogue of series
on a schedule, the common way forecasts are consumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..batch import new_run_id
from ..config import ProjectConfig
from ..features import encode_frame
from ..predlog import open_prediction_log, prediction_ids
from ..problems.forecasting import Forecasting
from ..registry import LoadedModel
from ..series.examples import (
    ORIGIN,
    SCALE,
    SERIES,
    STEP,
    TARGET_TIME,
    TIME_TEXT,
    Layout,
    build_examples,
    period_starts,
)

FORECAST_COLUMNS = (SERIES, ORIGIN, TARGET_TIME, STEP, "p10", "p50", "p90", "model_version")


@dataclass(frozen=True)
class Forecast:
    """One origin's forecasts and where they came from (with the examples they were made from)."""

    table: pd.DataFrame
    origin: pd.Timestamp
    model_version: str
    examples: pd.DataFrame
    scaled_p50: np.ndarray

    def summary(self) -> str:
        series = self.table[SERIES].nunique()
        steps = int(self.table[STEP].max()) if len(self.table) else 0
        return (
            f"Forecast {series} series x {steps} steps from origin {self.origin} "
            f"with model {self.model_version} ({len(self.table)} rows, P10/P50/P90)"
        )


def forecast_from_history(
    history: pd.DataFrame,
    layout: Layout,
    model: LoadedModel,
    *,
    origin: pd.Timestamp | None = None,
) -> Forecast:
    """Forecast every series of `history` from `origin` (default: its newest value's period).

    Only values at or before the origin are read, except the covariates, which
    must be present for the target times when the model uses them (a planned
    promotion is known ahead; a missing one is read as unknown).
    """
    if history.empty:
        raise ValueError("the history holds no rows to forecast from")
    times = period_starts(history[layout.time_column], layout)
    observed = pd.to_numeric(history[layout.target_column], errors="coerce").notna().to_numpy()
    if origin is None and not observed.any():
        raise ValueError(f"column '{layout.target_column}' has no values to forecast from")
    # The newest period with a value; later rows carry only planned covariates.
    origin = pd.Timestamp(times[observed].max() if origin is None else origin)
    origin = origin.tz_localize("UTC") if origin.tzinfo is None else origin.tz_convert("UTC")
    examples = build_examples(history, layout, origins=[origin])
    matrix = encode_frame(examples, model.schema)
    p50 = np.asarray(model.predict(matrix), dtype=float)
    problem = model.problem
    if not isinstance(problem, Forecasting):
        raise ValueError(f"model {model.version} is not a forecasting model")
    table = in_units(problem, examples, p50, history[layout.target_column])
    table["model_version"] = model.version
    return Forecast(table[list(FORECAST_COLUMNS)], origin, model.version, examples, p50)


def in_units(
    problem: Forecasting, examples: pd.DataFrame, p50: np.ndarray, observed: pd.Series
) -> pd.DataFrame:
    """P10, P50 and P90 in the series' units, one row per example.

    The scaled median gets the step's stored interval, then each row's scale.
    When every observed value is at least 0 (demand), no bound goes below 0;
    rows still waiting for their value (planned periods) do not count.
    """
    low, high = problem.interval(p50, examples[STEP].to_numpy())
    scale = examples[SCALE].to_numpy(dtype=float)
    values = pd.to_numeric(observed, errors="coerce").dropna()
    floor = 0.0 if (values >= 0).all() else -np.inf
    table = examples[[SERIES, ORIGIN, TARGET_TIME]].copy()
    table[STEP] = examples[STEP].astype(int)
    table["p10"] = np.fmax(low * scale, floor)
    table["p50"] = np.fmax(p50 * scale, floor)
    table["p90"] = np.fmax(high * scale, floor)
    return table


def log_forecast(
    config: ProjectConfig, forecast: Forecast, model: LoadedModel, *, source: str = "batch"
) -> Forecast:
    """Write the forecast's rows to the prediction log (tagged `source`); ids in its table.

    Logged like any scored row: the features, the series and target time (the
    key actuals come back by) and the origin as the row's time, so drift
    checks see production inputs and `labels ingest` can label each forecast.
    """
    run_id = new_run_id()
    ids = prediction_ids(run_id, range(len(forecast.table)))
    examples = forecast.examples
    columns: dict[str, np.ndarray] = {
        name: examples[name].to_numpy() for name in model.schema.feature_names
    }
    columns[SERIES] = examples[SERIES].astype(str).to_numpy(dtype=object)
    columns[TARGET_TIME] = examples[TARGET_TIME].dt.strftime(TIME_TEXT).to_numpy(dtype=object)
    columns[ORIGIN] = examples[ORIGIN].dt.strftime(TIME_TEXT).to_numpy(dtype=object)
    with open_prediction_log(config, source=source, max_pending=4) as log:
        log.log(run_id, model.version, columns, forecast.scaled_p50, ids=ids, wait=True)
    table = forecast.table.assign(prediction_id=ids)
    return Forecast(table, forecast.origin, forecast.model_version, examples, forecast.scaled_p50)
