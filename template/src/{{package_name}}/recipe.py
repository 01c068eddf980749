"""The training recipe every engine follows: LightGBM's parameters, boosting, the fit's result.

An engine (memory, out of core, cluster) decides where the data lives and how
LightGBM reads it; the parameters, the early stopping, the progress bar and
what a fit hands back (`FittedModel`) are the same for all of them, so a model
trained on any tier is the same artifact. `train.finish_training` takes a
`FittedModel` from any engine and registers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .config import ProjectConfig
from .problems import ProblemType
from .problems.base import Baseline

# Rows of the training data kept as the drift reference (features + prediction).
REFERENCE_ROWS = 50_000
# LightGBM callbacks `boost` runs besides its own: set around a fit by a caller
# that watches the rounds (tuning.py prunes poor trials); none for a plain fit.
_EXTRA_CALLBACKS: ContextVar[tuple[Callable[[Any], None], ...]] = ContextVar(
    "extra_boost_callbacks", default=()
)


class TrainingError(RuntimeError):
    """The data cannot train a model of the configured type."""


@dataclass(frozen=True)
class FittedModel:
    """What an engine's `fit` returns: the model, its baseline and their validation output.

    `train_sample` holds raw training rows (features, query id), at most a few
    hundred thousand: the drift reference is drawn from it. Validation arrays
    are row-aligned: labels, query ids (ranking), model and baseline output.
    """

    booster: lgb.Booster
    baseline: Baseline
    train_sample: pd.DataFrame
    validation_labels: np.ndarray
    validation_groups: np.ndarray | None
    validation_outputs: np.ndarray
    validation_baseline: np.ndarray
    rows: dict[str, int]
    time_range: dict[str, str]
    fingerprint: str
    seconds: float
    params: dict[str, Any]
    engine: dict[str, Any]
    # The validation rows' `problem.decision_features` columns (a forecast's step), row-aligned.
    validation_features: pd.DataFrame | None = None


def lightgbm_params(config: ProjectConfig) -> tuple[dict[str, Any], int]:
    """`lightgbm.train` parameters (model.params, model.tuned over them, the objective), rounds.

    Deterministic for a given thread count: the same data and config give the
    same model.
    """
    params: dict[str, Any] = config.model.effective_params()
    rounds = int(params.pop("n_estimators", 100))
    params.update(config.problem_type.lightgbm_params())
    params.update(
        seed=config.model.seed,
        num_threads=config.model.num_threads,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    return params, rounds


def labels_of(frame: pd.DataFrame, config: ProjectConfig) -> np.ndarray:
    """The label column, encoded the way the problem type trains on it."""
    return config.problem_type.encode_labels(frame[config.feature_schema.label.name].to_numpy())


def usable_labels(problem: ProblemType, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Labels LightGBM can read, and row weights that leave out the rows a fit may not use.

    Anomaly detection's supervised learner trains on the labelled rows only:
    an unlabelled row gets weight 0 (and a placeholder label), so every engine
    keeps its row order and only the weights differ. None: every row counts.
    """
    keep = problem.trainable_rows(labels)
    if keep is None:
        return labels, None
    return np.where(keep, labels, 0.0), keep.astype(np.float64)


def own_model(
    problem: ProblemType, matrix: np.ndarray, config: ProjectConfig
) -> lgb.Booster | None:
    """The model a problem type fits itself (the Isolation Forest), as a booster; else None."""
    text = problem.fit_own_model(
        matrix, config.feature_schema.feature_names, seed=config.model.seed
    )
    if text is None:
        return None
    booster = lgb.Booster(model_str=text)
    booster.best_iteration = booster.num_trees()
    return booster


def group_sizes(groups: np.ndarray) -> np.ndarray:
    """Run lengths of a query id column; every query must be one contiguous run."""
    change = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1], True])
    sizes = np.diff(change)
    if len(sizes) != len(np.unique(groups)):
        raise TrainingError("rows of a query must be contiguous (sort by time, then query id)")
    return sizes


def boost(
    config: ProjectConfig,
    train_set: lgb.Dataset,
    validation_set: lgb.Dataset,
    *,
    show_progress: bool,
    description: str = "Training LightGBM",
) -> lgb.Booster:
    """Boost with early stopping on the validation set; the booster is cut to its best round."""
    params, rounds = lightgbm_params(config)
    with _progress(show_progress) as progress:
        task = progress.add_task(description, total=rounds)
        booster = lgb.train(
            params,
            train_set,
            num_boost_round=rounds,
            valid_sets=[validation_set],
            callbacks=[
                lgb.early_stopping(config.model.early_stopping_rounds, verbose=False),
                _advance(progress, task),
                *_EXTRA_CALLBACKS.get(),
            ],
        )
        progress.update(task, completed=rounds)
    return best_rounds_only(booster)


@contextmanager
def boost_callbacks(*callbacks: Callable[[Any], None]) -> Iterator[None]:
    """Run `callbacks` in every `boost` of this thread until the block ends.

    Only boosting in this process sees them: the cluster engine boosts inside
    Ray workers, which never do.
    """
    token = _EXTRA_CALLBACKS.set(callbacks)
    try:
        yield
    finally:
        _EXTRA_CALLBACKS.reset(token)


def best_rounds_only(booster: lgb.Booster) -> lgb.Booster:
    """The booster without the rounds after its best validation score."""
    best = int(booster.best_iteration or booster.current_iteration())
    if best < booster.current_iteration():
        trimmed = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        trimmed.best_iteration = best
        return trimmed
    booster.best_iteration = best
    return booster


def _progress(show: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} trees"),
        TimeElapsedColumn(),
        disable=not show,
        transient=True,
    )


def _advance(progress: Progress, task: Any) -> Callable[[Any], None]:
    def callback(env: Any) -> None:
        progress.update(task, completed=env.iteration + 1)

    return callback
