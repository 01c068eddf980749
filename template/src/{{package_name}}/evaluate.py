"""Evaluation harness: test-split metrics, confidence interval, baseline, slices, gate.

The release gate passes only when the primary metric reaches the threshold
from the answers AND beats the baseline, so a model that merely clears a
stale threshold on an easy test set cannot ship. Results go to
reports/evaluation.json (stable keys, read by CI and the design doc),
reports/evaluation.html (plots) and docs/model_card.md.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import ProjectConfig
from .data import load_dataset, scale_engine, time_split
from .features import encode_frame
from .metrics import (
    UndefinedMetricWarning,
    bootstrap_interval,
    compute,
    get_metric,
    is_better,
    passes,
)
from .registry import LoadedModel, ModelRegistry

MISSING_SLICE = "(missing)"


@dataclass(frozen=True)
class TestSet:
    """The test split, scored by the model and by the baseline."""

    frame: pd.DataFrame
    labels: np.ndarray
    predictions: np.ndarray
    baseline: np.ndarray
    groups: np.ndarray | None


@dataclass(frozen=True)
class EvaluationResult:
    """The gate's verdict and everything behind it."""

    version: str
    metric: str
    direction: str
    value: float
    ci_low: float
    ci_high: float
    baseline: float
    threshold: float
    gate_passed: bool
    secondary: dict[str, float]
    slices: dict[str, dict[str, dict[str, Any]]]
    rows: int
    baseline_secondary: dict[str, float] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)

    @property
    def reaches_threshold(self) -> bool:
        return passes(self.value, self.threshold, direction=self.direction)

    @property
    def beats_baseline(self) -> bool:
        if not math.isfinite(self.baseline):
            return True
        return is_better(self.value, self.baseline, direction=self.direction)

    @property
    def lift(self) -> float:
        """Relative improvement over the baseline (positive is better, either direction)."""
        if not self.baseline or not math.isfinite(self.baseline):
            return math.nan
        change = (self.value - self.baseline) / abs(self.baseline)
        return change if self.direction == "higher" else -change

    def to_json(self) -> dict[str, Any]:
        """The stable keys of reports/evaluation.json."""
        return {
            "metric": self.metric,
            "direction": self.direction,
            "value": _finite(self.value),
            "ci_low": _finite(self.ci_low),
            "ci_high": _finite(self.ci_high),
            "baseline": _finite(self.baseline),
            "threshold": self.threshold,
            "gate_passed": self.gate_passed,
            "secondary": {k: _finite(v) for k, v in self.secondary.items()},
            "slices": self.slices,
        }

    def summary(self) -> str:
        verdict = "PASSED" if self.gate_passed else "FAILED"
        sign = ">=" if self.direction == "higher" else "<="
        lines = [
            f"Model {self.version} on {self.rows} test rows:",
            f"  {self.metric} = {self.value:.4f} (95% CI {self.ci_low:.4f} to {self.ci_high:.4f})",
            f"  baseline {self.baseline:.4f}, lift {self.lift:+.1%}",
            f"  gate: {self.metric} {sign} {self.threshold}: "
            f"{'yes' if self.reaches_threshold else 'NO'}; beats the baseline: "
            f"{'yes' if self.beats_baseline else 'NO'} -> {verdict}",
        ]
        lines += [f"  {name} = {value:.4f}" for name, value in self.secondary.items()]
        return "\n".join(lines)


def evaluate_model(
    config: ProjectConfig, *, version: str | None = None, write_reports: bool = True
) -> EvaluationResult:
    """Score the test split with `version` (default: promoted) and apply the gate."""
    model = ModelRegistry(config).load(version)
    test = score_test_split(config, model)
    primary = get_metric(config.metric.primary, config.problem.type)
    value = _score(config, primary.name, test.labels, test.predictions, test.groups)
    baseline = _score(config, primary.name, test.labels, test.baseline, test.groups)
    ci_low, ci_high = bootstrap_interval(
        primary.name,
        config.problem.type,
        test.labels,
        test.predictions,
        groups=test.groups,
        k=config.problem.ranking_k or 10,
        resamples=config.metric.bootstrap_resamples,
        level=config.metric.confidence_level,
        seed=config.model.seed,
    )
    secondary_names = [m for m in config.metric.secondary if m != primary.name]
    result = EvaluationResult(
        version=model.version,
        metric=primary.name,
        direction=primary.direction,
        value=value,
        ci_low=ci_low,
        ci_high=ci_high,
        baseline=baseline,
        threshold=config.metric.threshold,
        gate_passed=False,
        secondary={
            n: _score(config, n, test.labels, test.predictions, test.groups)
            for n in secondary_names
        },
        baseline_secondary={
            n: _score(config, n, test.labels, test.baseline, test.groups) for n in secondary_names
        },
        slices=slice_results(config, test, model),
        rows=len(test.frame),
    )
    passed = release_gate(
        value, baseline=baseline, threshold=config.metric.threshold, direction=primary.direction
    )
    result = replace(result, gate_passed=passed)
    if write_reports:
        result = write_evaluation_reports(config, result, test, model)
    return result


def release_gate(value: float, *, baseline: float, threshold: float, direction: str) -> bool:
    """Pass only when `value` reaches `threshold` AND is strictly better than `baseline`.

    An undefined value (NaN) never passes; an undefined baseline does not block.
    """
    if not math.isfinite(value):
        return False
    return passes(value, threshold, direction=direction) and (
        not math.isfinite(baseline) or is_better(value, baseline, direction=direction)
    )


def score_test_split(config: ProjectConfig, model: LoadedModel) -> TestSet:
    """The test split with labels, model predictions and baseline predictions."""
    if config.data.engine != "pandas":  # out_of_core / cluster tier: scored in chunks
        scored: TestSet = scale_engine(config).score_test_split(config, model)
        return scored
    frame = time_split(load_dataset(config), config).test
    matrix = encode_frame(frame, model.schema)
    labels = frame[model.schema.label.name].to_numpy()
    groups = frame[model.schema.group_column].to_numpy() if model.schema.group_column else None
    return TestSet(frame, labels, model.predict(matrix), model.predict_baseline(matrix), groups)


def slice_results(
    config: ProjectConfig, test: TestSet, model: LoadedModel
) -> dict[str, dict[str, dict[str, Any]]]:
    """Primary metric of model and baseline per category of each sliced feature.

    Ranking slices only by features that are constant within a query (a query
    cannot be split), and counts queries rather than rows.
    """
    schema = model.schema
    names = config.metric.slices or [f.name for f in schema.categorical_features]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for name in names:
        if name not in test.frame.columns:
            raise KeyError(f"metric.slices names '{name}', which is not a column of the data")
        values = test.frame[name].astype("object").where(test.frame[name].notna(), MISSING_SLICE)
        values = values.astype(str)
        if test.groups is not None and values.groupby(test.groups).nunique().max() > 1:
            continue
        per_category: dict[str, dict[str, Any]] = {}
        for category in sorted(values.unique()):
            mask = (values == category).to_numpy()
            groups = test.groups[mask] if test.groups is not None else None
            size = len(np.unique(groups)) if groups is not None else int(mask.sum())
            entry: dict[str, Any] = {"n": size, "value": None, "baseline": None}
            if size >= config.metric.min_slice_rows:
                entry["value"] = _finite(
                    _score(
                        config,
                        config.metric.primary,
                        test.labels[mask],
                        test.predictions[mask],
                        groups,
                        quiet=True,
                    )
                )
                entry["baseline"] = _finite(
                    _score(
                        config,
                        config.metric.primary,
                        test.labels[mask],
                        test.baseline[mask],
                        groups,
                        quiet=True,
                    )
                )
            per_category[category] = entry
        results[name] = per_category
    return results


def write_evaluation_reports(
    config: ProjectConfig, result: EvaluationResult, test: TestSet, model: LoadedModel
) -> EvaluationResult:
    """Write evaluation.json, evaluation.html and the model card; return with their paths."""
    from .evaluation_report import write_html
    from .model_card import write_model_card

    config.reports_dir.mkdir(parents=True, exist_ok=True)
    json_path = config.reports_dir / "evaluation.json"
    json_path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    html_path = write_html(config, result, test, config.reports_dir / "evaluation.html")
    card_path = write_model_card(config, result, model, config.path(Path("docs/model_card.md")))
    reports = {"json": str(json_path), "html": str(html_path), "model_card": str(card_path)}
    return replace(result, reports=reports)


def _score(
    config: ProjectConfig,
    name: str,
    labels: np.ndarray,
    predictions: np.ndarray,
    groups: np.ndarray | None,
    *,
    quiet: bool = False,
) -> float:
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", UndefinedMetricWarning)
        return compute(
            name,
            config.problem.type,
            labels,
            predictions,
            groups=groups,
            k=config.problem.ranking_k or 10,
        )


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None
