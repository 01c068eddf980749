"""Actuals are labels: the values that came in, matched to every forecast made for them.

A forecast names its series and target time; the value observed later for
that series and period is the outcome of every forecast that targeted it
(one per origin that reached it, up to a horizon of them). This module turns
a table of actuals in the long table's layout into label rows keyed by the
forecasts' prediction ids, scaled by each forecast's own scale (its logged
`log_scale`), and hands them to `labels.ingest_label_frame`. From there the
labels machinery stores them and `monitor performance` tracks MASE over time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import ProjectConfig
from ..labels import PREDICTION_ID, IngestResult, LabelFileError, ingest_label_frame
from ..predlog import read_prediction_log
from ..series.examples import ORIGIN, SERIES, TARGET_TIME, TIME_TEXT, period_starts
from ..tables import DataError, read_table
from .history import forecasting_problem


@dataclass(frozen=True)
class ActualsResult:
    """How many actuals came in, how many forecasts they labelled, and the ingest's outcome."""

    actuals: int
    matched: int
    unmatched: int
    ingest: IngestResult | None


def is_actuals_table(frame: pd.DataFrame, config: ProjectConfig) -> bool:
    """Whether `frame` is laid out like the long table (series, timestamp, value)."""
    layout = forecasting_problem(config).layout
    needed = {layout.series_column, layout.time_column, layout.target_column}
    return needed <= set(map(str, frame.columns)) and PREDICTION_ID not in frame.columns


def ingest_actuals(config: ProjectConfig, source: Path) -> ActualsResult:
    """Label every logged forecast whose series and target time the file has a value for."""
    layout = forecasting_problem(config).layout
    try:
        frame = read_table(Path(source))
    except DataError as error:
        raise LabelFileError(str(error)) from None
    if not is_actuals_table(frame, config):
        raise LabelFileError(
            f"actuals need the columns {layout.series_column}, {layout.time_column} and "
            f"{layout.target_column} (the long table's layout)"
        )
    values = pd.to_numeric(frame[layout.target_column], errors="coerce")
    try:
        periods = period_starts(frame[layout.time_column], layout)
    except ValueError as error:
        raise LabelFileError(str(error)) from None
    actuals = pd.DataFrame(
        {
            SERIES: frame[layout.series_column].astype(str).to_numpy(),
            TARGET_TIME: periods.strftime(TIME_TEXT),
            "value": values.to_numpy(dtype=float),
        }
    ).dropna(subset=["value"])
    log = read_prediction_log(config)
    needed = [PREDICTION_ID, SERIES, TARGET_TIME, "log_scale"]
    if log.empty or not set(needed) <= set(log.columns):
        return ActualsResult(len(actuals), 0, len(actuals), None)
    forecasts = log[needed].dropna(subset=[SERIES, TARGET_TIME])
    forecasts = forecasts.assign(**{SERIES: forecasts[SERIES].astype(str)})
    joined = forecasts.merge(actuals, on=[SERIES, TARGET_TIME], how="inner")
    label = config.feature_schema.label.name
    labels = pd.DataFrame(
        {
            PREDICTION_ID: joined[PREDICTION_ID].to_numpy(),
            label: joined["value"].to_numpy() / np.exp(joined["log_scale"].to_numpy(dtype=float)),
            # When the outcome happened: the target time (after every forecast of it).
            ORIGIN: joined[TARGET_TIME].to_numpy(),
        }
    )
    matched = int(actuals.merge(forecasts[[SERIES, TARGET_TIME]].drop_duplicates()).shape[0])
    result = ingest_label_frame(config, labels, source=Path(source)) if len(labels) else None
    return ActualsResult(len(actuals), len(labels), len(actuals) - matched, result)
