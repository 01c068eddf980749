"""The project's long table (series, timestamp, value): where forecasts start from.

`problem.history_source` names a team's table; without one, the sample's
history is drawn again from the seed, so every command continues the sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import ProjectConfig
from ..problems.forecasting import Forecasting
from ..series.examples import as_stored, build_examples
from ..tables import read_table


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
    return as_stored(build_examples(history, problem.layout, label=label))


def forecasting_problem(config: ProjectConfig) -> Forecasting:
    problem = config.problem_type
    if not isinstance(problem, Forecasting):
        raise ValueError(f"{config.problem.type} projects do not forecast series")
    return problem
