"""Training: the baseline and LightGBM on the time split, saved as a new version.

The model sees data only through `features.encode_frame`, the function
serving calls too. Training is deterministic (fixed seed, thread count and
LightGBM's `deterministic` mode), so the same data and config give the same
predictions. The new version is registered and promoted; `models rollback`
undoes that.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from . import data as data_module
from .baseline import describe_baseline, fit_baseline, predict_baseline
from .config import ProjectConfig
from .features import categorical_indices, encode_frame
from .metrics import compute
from .registry import ModelRegistry

REFERENCE_ROWS = 50_000


class TrainingError(RuntimeError):
    """The data cannot train a model of the configured type."""


@dataclass(frozen=True)
class TrainResult:
    """What `train` did, for the CLI and the pipeline."""

    version: str
    problem_type: str
    metric: str
    rows: dict[str, int]
    train_seconds: float
    best_iteration: int
    validation: dict[str, float]
    baseline_validation: dict[str, float]
    baseline: str
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        value, base = self.validation[self.metric], self.baseline_validation[self.metric]
        return (
            f"Trained {self.version} ({self.problem_type}) on {self.rows['train']} rows "
            f"in {self.train_seconds:.1f}s, {self.best_iteration} trees; validation "
            f"{self.metric} = {value:.4f} vs baseline {base:.4f} ({self.baseline})"
        )


def train_model(config: ProjectConfig, *, show_progress: bool = True) -> TrainResult:
    """Load and split the data, fit baseline and model, register and promote it."""
    if config.data.engine != "pandas":  # out_of_core / cluster tier: same result, other engine
        result: TrainResult = data_module.scale_engine(config).train_model(
            config, show_progress=show_progress
        )
        return result
    schema = config.feature_schema
    splits = data_module.time_split(data_module.load_dataset(config), config)
    x_train, y_train = encode_frame(splits.train, schema), _labels(splits.train, config)
    x_valid, y_valid = encode_frame(splits.validation, schema), _labels(splits.validation, config)
    _check_classes(y_train, config)
    baseline = fit_baseline(x_train, y_train, problem_type=config.problem.type, schema=schema)

    started = time.perf_counter()
    estimator = _estimator(config)
    with _progress(show_progress) as progress:
        task = progress.add_task("Training LightGBM", total=estimator.n_estimators)
        callbacks = [
            lgb.early_stopping(config.model.early_stopping_rounds, verbose=False),
            _advance(progress, task),
        ]
        fit_args: dict[str, Any] = {
            "eval_X": (x_valid,),
            "eval_y": (y_valid,),
            "categorical_feature": categorical_indices(schema),
            "feature_name": schema.feature_names,
            "callbacks": callbacks,
        }
        if config.problem.type == "ranking":
            fit_args["group"] = _group_sizes(splits.train, config)
            fit_args["eval_group"] = [_group_sizes(splits.validation, config)]
            fit_args["eval_at"] = [config.problem.ranking_k or 10]
        estimator.fit(x_train, y_train, **fit_args)
        progress.update(task, completed=estimator.n_estimators)
    seconds = time.perf_counter() - started
    booster = estimator.booster_
    best = int(booster.best_iteration or booster.current_iteration())
    if best < booster.current_iteration():
        booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))

    def scores(predictions: np.ndarray) -> dict[str, float]:
        return _metric_values(config, splits.validation, y_valid, predictions)

    validation = scores(_predict(booster, x_valid, config))
    baseline_validation = scores(predict_baseline(baseline, x_valid))
    reference = _reference(splits.train, x_train, booster, config)
    metadata = {
        "data_fingerprint": data_module.fingerprint(splits.train),
        "rows": {"train": len(splits.train), "validation": len(splits.validation)},
        "time_range": {
            "train_end": _iso(splits.train[schema.time_column].max()),
            "validation_end": _iso(splits.validation[schema.time_column].max()),
        },
        "params": estimator.get_params(),
        "num_threads": config.model.num_threads,
        "best_iteration": best,
        "train_seconds": round(seconds, 3),
        "baseline": baseline,
        "metrics": {
            "primary_name": config.metric.primary,
            "validation": {**validation, "primary": validation[config.metric.primary]},
            "baseline_validation": baseline_validation,
        },
        "n_classes": schema.label.n_classes or config.problem.n_classes,
    }
    registry = ModelRegistry(config)
    version = registry.register(booster=booster, reference=reference, metadata=metadata)
    registry.promote(version)
    result = TrainResult(
        version=version,
        problem_type=config.problem.type,
        metric=config.metric.primary,
        rows={"train": len(splits.train), "validation": len(splits.validation)},
        train_seconds=seconds,
        best_iteration=best,
        validation=validation,
        baseline_validation=baseline_validation,
        baseline=describe_baseline(baseline),
    )
    _track(config, result, registry)
    return result


def _estimator(config: ProjectConfig) -> lgb.LGBMModel:
    params: dict[str, Any] = {
        **config.model.params,
        "random_state": config.model.seed,
        "n_jobs": config.model.num_threads,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }
    problem = config.problem.type
    if problem == "binary_classification":
        return lgb.LGBMClassifier(objective="binary", **params)
    if problem == "multiclass_classification":
        return lgb.LGBMClassifier(objective="multiclass", **params)
    if problem == "regression":
        return lgb.LGBMRegressor(objective="regression", **params)
    return lgb.LGBMRanker(objective="lambdarank", **params)


def _predict(booster: lgb.Booster, matrix: np.ndarray, config: ProjectConfig) -> np.ndarray:
    return np.asarray(booster.predict(matrix, num_threads=config.model.num_threads))


def _labels(frame: pd.DataFrame, config: ProjectConfig) -> np.ndarray:
    values = frame[config.feature_schema.label.name].to_numpy(dtype=float)
    return values if config.problem.type == "regression" else values.astype(int)


def _check_classes(labels: np.ndarray, config: ProjectConfig) -> None:
    if config.problem.type == "binary_classification":
        expected = 2
    elif config.problem.type == "multiclass_classification":
        expected = config.problem.n_classes or config.feature_schema.label.n_classes or 3
    else:
        return
    absent = sorted(set(range(expected)) - set(np.unique(labels).tolist()))
    if absent:
        raise TrainingError(
            f"class(es) {absent} never appear in the training split; every one of the "
            f"{expected} classes needs training examples"
        )


def _group_sizes(frame: pd.DataFrame, config: ProjectConfig) -> np.ndarray:
    groups = frame[config.feature_schema.group_column or ""].to_numpy()
    change = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1], True])
    sizes = np.diff(change)
    if len(sizes) != len(np.unique(groups)):
        raise TrainingError("rows of a query must be contiguous (sort by time, then query id)")
    return sizes


def _metric_values(
    config: ProjectConfig, frame: pd.DataFrame, labels: np.ndarray, predictions: np.ndarray
) -> dict[str, float]:
    groups = None
    if config.feature_schema.group_column:
        groups = frame[config.feature_schema.group_column].to_numpy()
    names = [config.metric.primary, *config.metric.secondary]
    return {
        name: compute(
            name,
            config.problem.type,
            labels,
            predictions,
            groups=groups,
            k=config.problem.ranking_k or 10,
        )
        for name in names
    }


def _reference(
    frame: pd.DataFrame, matrix: np.ndarray, booster: lgb.Booster, config: ProjectConfig
) -> pd.DataFrame:
    """Training rows (features + the model's prediction) that drift checks compare against."""
    rows = np.arange(len(frame))
    if len(rows) > REFERENCE_ROWS:
        rows = np.sort(np.random.default_rng(config.model.seed).choice(rows, REFERENCE_ROWS, False))
    schema = config.feature_schema
    kept = [*schema.feature_names, *schema.group_columns]  # the query id: query-level drift
    reference = frame.iloc[rows][kept].reset_index(drop=True)
    predictions = _predict(booster, matrix[rows], config)
    if predictions.ndim == 2:
        predictions = predictions.argmax(axis=1).astype(float)
    reference["prediction"] = predictions
    return reference


def _iso(value: Any) -> str:
    return pd.Timestamp(value).isoformat(timespec="seconds")


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


def _track(config: ProjectConfig, result: TrainResult, registry: ModelRegistry) -> None:
    """Log the run to MLflow when the project was generated with tracking."""
    module = f"{__package__}.tracking"
    if config.tracking.backend != "mlflow" or importlib.util.find_spec(module) is None:
        return
    importlib.import_module(module).log_training_run(config, result, registry.root / result.version)
