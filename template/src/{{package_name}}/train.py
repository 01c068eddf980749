"""Training: the engine fits, then one shared step scores, registers and judges.

Every engine (engines/) returns a `FittedModel`; `finish_training` turns it
into the registered artifact the same way for all of them: validation metrics
of the model and the baseline, the drift reference (training rows with the
model's predictions), the metadata and the registry entry. The model sees data
only through `features.encode_frame`, the function serving calls too, and
training is deterministic (fixed seed, thread count, LightGBM's deterministic
mode). The new version is registered as a candidate, and the promotion policy
(promotion.py) decides whether it replaces the champion.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .config import ProjectConfig
from .engines import engine_for
from .features import encode_frame
from .promotion import PromotionDecision, decide_promotion
from .recipe import REFERENCE_ROWS, FittedModel, TrainingError
from .registry import ModelRegistry

__all__ = ["TrainResult", "TrainingError", "finish_training", "train_model"]


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
    promotion: PromotionDecision | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def promoted(self) -> bool:
        return self.promotion is not None and self.promotion.promoted

    def summary(self) -> str:
        value, base = self.validation[self.metric], self.baseline_validation[self.metric]
        text = (
            f"Trained {self.version} ({self.problem_type}) on {self.rows['train']} rows "
            f"in {self.train_seconds:.1f}s, {self.best_iteration} trees; validation "
            f"{self.metric} = {value:.4f} vs baseline {base:.4f} ({self.baseline})"
        )
        return text if self.promotion is None else f"{text}\n{self.promotion.summary()}"


def train_model(config: ProjectConfig, *, show_progress: bool = True) -> TrainResult:
    """Fit with the project's engine, register the candidate, apply the promotion policy."""
    fitted = engine_for(config).fit(show_progress=show_progress)
    return finish_training(config, fitted)


def finish_training(config: ProjectConfig, fitted: FittedModel) -> TrainResult:
    """Validation metrics, drift reference, metadata and registration, for every engine."""
    problem = config.problem_type
    names = [config.metric.primary, *config.metric.secondary]

    def scores(outputs: np.ndarray) -> dict[str, float]:
        labels, groups = fitted.validation_labels, fitted.validation_groups
        return {name: problem.score(name, labels, outputs, groups) for name in names}

    validation = scores(fitted.validation_outputs)
    baseline_validation = scores(fitted.validation_baseline)
    best = int(fitted.booster.best_iteration or fitted.booster.current_iteration())
    metadata = {
        "data_fingerprint": fitted.fingerprint,
        "rows": fitted.rows,
        "time_range": fitted.time_range,
        "params": fitted.params,
        "num_threads": config.model.num_threads,
        "best_iteration": best,
        "train_seconds": round(fitted.seconds, 3),
        "baseline": fitted.baseline,
        "baseline_rows": len(fitted.train_sample),
        "engine": fitted.engine,
        "metrics": {
            "primary_name": config.metric.primary,
            "validation": {**validation, "primary": validation[config.metric.primary]},
            "baseline_validation": baseline_validation,
        },
        "n_classes": problem.output_width if problem.output_width > 1 else None,
        # Settings the problem type fixes on validation data (anomaly detection's threshold).
        "decision": problem.decision(
            fitted.validation_outputs, fitted.validation_labels, fitted.validation_features
        ),
    }
    registry = ModelRegistry(config)
    version = registry.register(
        booster=fitted.booster, reference=drift_reference(config, fitted), metadata=metadata
    )
    decision = decide_promotion(config, version)
    result = TrainResult(
        version=version,
        problem_type=config.problem.type,
        metric=config.metric.primary,
        rows=fitted.rows,
        train_seconds=fitted.seconds,
        best_iteration=best,
        validation=validation,
        baseline_validation=baseline_validation,
        baseline=problem.describe_baseline(fitted.baseline),
        promotion=decision,
        extra=dict(fitted.engine),
    )
    _track(config, result, registry)
    return result


def drift_reference(config: ProjectConfig, fitted: FittedModel) -> pd.DataFrame:
    """Training rows (features, query id) with the model's prediction, for drift checks."""
    sample = fitted.train_sample
    reference = sample.sample(n=min(len(sample), REFERENCE_ROWS), random_state=config.model.seed)
    reference = reference.sort_index().reset_index(drop=True)
    outputs = np.asarray(
        fitted.booster.predict(
            encode_frame(reference, config.feature_schema), num_threads=config.model.num_threads
        )
    )
    reference["prediction"] = config.problem_type.point_predictions(outputs)
    return reference


def _track(config: ProjectConfig, result: TrainResult, registry: ModelRegistry) -> None:
    """Log the run to MLflow when the project was generated with tracking."""
    module = f"{__package__}.tracking"
    if config.tracking.backend != "mlflow" or importlib.util.find_spec(module) is None:
        return
    importlib.import_module(module).log_training_run(config, result, registry.root / result.version)
