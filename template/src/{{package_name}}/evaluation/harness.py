"""Evaluation harness: test-split metrics, confidence interval, baseline, slices, gate.

The release gate passes only when the primary metric reaches the threshold
from the answers AND beats the baseline, so a model that merely clears a
stale threshold on an easy test set cannot ship. Results go to
reports/evaluation.json (stable keys, read by CI and the design doc),
reports/evaluation.html (plots) and docs/model_card.md.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ProjectConfig
from ..engines import engine_for
from ..metrics import UndefinedMetricWarning, bootstrap_interval, get_metric
from ..registry import LoadedModel, ModelRegistry
from .model_card import write_model_card
from .report import write_html
from .results import EvaluationResult, TestSet, finite_or_none, release_gate

MISSING_SLICE = "(missing)"


def evaluate_model(
    config: ProjectConfig, *, version: str | None = None, write_reports: bool = True
) -> EvaluationResult:
    """Score the test split with `version` and apply the gate.

    The default is the champion; before any version was promoted, the newest
    candidate, so a first model that fails the gate is reported, not hidden.
    """
    registry = ModelRegistry(config)
    model = registry.load(version or registry.promoted_version() or registry.newest_version())
    test = engine_for(config).score_test_split(model)
    primary = get_metric(config.metric.primary, config.problem.type)
    value = score_outputs(config, primary.name, test.labels, test.predictions, test.groups)
    baseline = score_outputs(config, primary.name, test.labels, test.baseline, test.groups)
    ci_low, ci_high = bootstrap_interval(
        primary.name,
        config.problem.type,
        test.labels,
        test.predictions,
        groups=test.groups,
        k=config.problem_type.k,
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
            n: score_outputs(config, n, test.labels, test.predictions, test.groups)
            for n in secondary_names
        },
        baseline_secondary={
            n: score_outputs(config, n, test.labels, test.baseline, test.groups)
            for n in secondary_names
        },
        slices=slice_results(config, test, model),
        rows=len(test.frame),
        operating_point=model.problem.operating_point(
            test.labels, test.predictions, test.baseline, test.frame
        ),
    )
    # Without a labelled test row there is nothing to judge: the gate passes unjudged.
    unjudged = model.problem.without_labels(test.labels)
    passed = unjudged or release_gate(
        value, baseline=baseline, threshold=config.metric.threshold, direction=primary.direction
    )
    result = replace(result, gate_passed=passed, unjudged=unjudged)
    if write_reports:
        result = write_evaluation_reports(config, result, test, model)
    return result


def slice_results(
    config: ProjectConfig, test: TestSet, model: LoadedModel
) -> dict[str, dict[str, dict[str, Any]]]:
    """Primary metric of model and baseline per category of each sliced feature.

    Ranking slices only by features that are constant within a query (a query
    cannot be split), and counts queries rather than rows.
    """
    schema = model.schema
    names = config.metric.slice_columns(schema)
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
                entry["value"] = finite_or_none(
                    score_outputs(
                        config,
                        config.metric.primary,
                        test.labels[mask],
                        test.predictions[mask],
                        groups,
                        quiet=True,
                    )
                )
                entry["baseline"] = finite_or_none(
                    score_outputs(
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
    config.reports_dir.mkdir(parents=True, exist_ok=True)
    json_path = config.reports_dir / "evaluation.json"
    json_path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    html_path = write_html(config, result, test, config.reports_dir / "evaluation.html")
    card_path = write_model_card(config, result, model, config.path(Path("docs/model_card.md")))
    reports = {"json": str(json_path), "html": str(html_path), "model_card": str(card_path)}
    return replace(result, reports=reports)


def score_outputs(
    config: ProjectConfig,
    name: str,
    labels: np.ndarray,
    predictions: np.ndarray,
    groups: np.ndarray | None,
    *,
    quiet: bool = False,
) -> float:
    """Metric `name` of `predictions`; `quiet`: an undefined value is NaN without a warning."""
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", UndefinedMetricWarning)
        return config.problem_type.score(name, labels, predictions, groups)
