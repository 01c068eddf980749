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

from ..config import ProjectConfig
from ..features import encode_frame
from ..problems.forecasting import Forecasting
from ..registry import LoadedModel
from ..tables import read_table
from .examples import ORIGIN, SCALE, SERIES, STEP, TARGET_TIME, Layout, build_examples

FORECAST_COLUMNS = (SERIES, ORIGIN, TARGET_TIME, STEP, "p10", "p50", "p90", "model_version")


@dataclass(frozen=True)
class Forecast:
    """One origin's forecasts and where they came from."""

    table: pd.DataFrame
    origin: pd.Timestamp
    model_version: str

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
    """Forecast every series of `history` from `origin` (default: its newest timestamp).

    Only values at or before the origin are read, except the covariates, which
    must be present for the target times when the model uses them (a planned
    promotion is known ahead; a missing one is read as unknown).
    """
    times = pd.to_datetime(history[layout.time_column], utc=True)
    if history.empty or times.isna().all():
        raise ValueError("the history holds no timestamps to forecast from")
    origin = pd.Timestamp(times.max() if origin is None else origin)
    origin = origin.tz_localize("UTC") if origin.tzinfo is None else origin.tz_convert("UTC")
    examples = build_examples(history, layout, origins=[origin])
    matrix = encode_frame(examples, model.schema)
    p50 = np.asarray(model.predict(matrix), dtype=float)
    problem = model.problem
    if not isinstance(problem, Forecasting):
        raise ValueError(f"model {model.version} is not a forecasting model")
    low, high = problem.interval(p50, examples[STEP].to_numpy())
    scale = examples[SCALE].to_numpy(dtype=float)
    floor = 0.0 if (pd.to_numeric(history[layout.target_column]) >= 0).all() else -np.inf
    table = examples[[SERIES, ORIGIN, TARGET_TIME]].copy()
    table[STEP] = examples[STEP].astype(int)
    table["p10"] = np.maximum(low * scale, floor)
    table["p50"] = np.maximum(p50 * scale, floor)
    table["p90"] = np.maximum(high * scale, floor)
    table["model_version"] = model.version
    return Forecast(table[list(FORECAST_COLUMNS)], origin, model.version)


def read_history(config: ProjectConfig) -> pd.DataFrame:
    """The long table: `problem.history_source`, or the sample's history when it is null.

    The sample's history is drawn again from `model.seed`: the same draw that
    `data sample` turned into examples, so forecasts continue the sample.
    """
    problem = forecasting_problem(config)
    source = config.problem.history_source
    if source:
        return read_table(config.path(source))
    rng = np.random.default_rng(config.model.seed)
    history, _origins = problem.sample_history(rng, config.data.sample_rows)
    return history


def examples_from_history(config: ProjectConfig, history: pd.DataFrame) -> pd.DataFrame:
    """Training examples (with the schema's label) from a long table, every period an origin."""
    problem = forecasting_problem(config)
    label = config.feature_schema.label.name
    examples = build_examples(history, problem.layout, label=label)
    examples[TARGET_TIME] = examples[TARGET_TIME].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return examples.drop(columns=[SCALE])


def forecasting_problem(config: ProjectConfig) -> Forecasting:
    problem = config.problem_type
    if not isinstance(problem, Forecasting):
        raise ValueError(f"{config.problem.type} projects do not forecast series")
    return problem
