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
import pandas as pd
from pandas.api.types import is_numeric_dtype

from ..config import ProjectConfig
from ..engines import engine_for
from ..metrics import (
    Direction,
    UndefinedMetricWarning,
    bootstrap_interval,
    clustered_interval,
    get_metric,
    is_better,
)
from ..metrics.paired import paired_gain
from ..registry import LoadedModel, ModelRegistry
from .fairness import group_gap_failures, group_gaps
from .model_card import write_model_card
from .report import write_html
from .results import EvaluationResult, TestSet, finite_or_none, release_gate
from .slice_gates import slice_gate_failures

MISSING_SLICE = "(missing)"
NUMERIC_SLICE_VALUES = 10
# A binary label's slice is scored only with this many rows of each class: with
# one fault among a hundred readings, PR AUC is that one row's rank, and no
# resampling of the slice says how sure it is.
MIN_SLICE_CLASS_ROWS = 5


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
        slices=slice_results(config, test),
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
    failures, fairness = gate_failures(
        config, test, result.slices, value=value, direction=primary.direction
    )
    passed = passed and (unjudged or not failures)
    result = replace(
        result, gate_passed=passed, unjudged=unjudged, slice_failures=failures, fairness=fairness
    )
    if write_reports:
        result = write_evaluation_reports(config, result, test, model)
    return result


def slice_results(config: ProjectConfig, test: TestSet) -> dict[str, dict[str, dict[str, Any]]]:
    """Primary metric of model and baseline per category of each sliced feature.

    Ranking slices only by features that are constant within a query (a query
    cannot be split), and counts queries rather than rows.
    """
    # The current schema's tags: marking a column protected needs no retraining.
    names = config.metric.slice_columns(config.feature_schema)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for name in names:
        if name not in test.frame.columns:
            raise KeyError(
                f"'{name}' is sliced (metric.slices, or tagged protected in the schema) but "
                "is not a column of the data"
            )
        values = slice_labels(test.frame[name])
        if test.groups is not None and values.groupby(test.groups).nunique().max() > 1:
            continue
        per_category: dict[str, dict[str, Any]] = {}
        for category in sorted(values.unique()):
            mask = (values == category).to_numpy()
            groups = test.groups[mask] if test.groups is not None else None
            size = len(np.unique(groups)) if groups is not None else int(mask.sum())
            entry: dict[str, Any] = {"n": size, "value": None, "baseline": None}
            judged = size
            if config.feature_schema.label.nullable:  # only labelled rows say anything
                judged = int(_labelled(config, test, mask).sum())
                entry["labelled"] = judged
            scoreable = judged >= config.metric.min_slice_rows
            if config.feature_schema.label.kind == "binary":
                classes = np.asarray(test.labels[mask], dtype=float)
                entry["positives"] = int((classes == 1).sum())
                entry["negatives"] = int((classes == 0).sum())
                fewest = min(entry["positives"], entry["negatives"])
                scoreable = scoreable and fewest >= MIN_SLICE_CLASS_ROWS
            if scoreable:
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
            if _worse(entry, config.metric.direction):
                entry["gain_vs_baseline"] = _paired_gain(config, test, mask)
            per_category[category] = entry
        results[name] = per_category
    return results


def _worse(entry: dict[str, Any], direction: Direction) -> bool:
    value, baseline = entry["value"], entry["baseline"]
    return (
        value is not None
        and baseline is not None
        and is_better(baseline, value, direction=direction)
    )


def _paired_gain(config: ProjectConfig, test: TestSet, mask: np.ndarray) -> dict[str, float | None]:
    """The model's gain over the baseline on one slice, with its paired bootstrap interval.

    Computed only where the model scores below the baseline, so a slice gate can
    tell a real loss (the whole interval below 0) from the noise of a small slice.
    """
    mask = _labelled(config, test, mask)
    groups = test.groups[mask] if test.groups is not None else None
    result = paired_gain(
        config.metric.primary,
        config.problem.type,
        np.asarray(test.labels[mask], dtype=float),
        test.predictions[mask],
        test.baseline[mask],
        groups=groups,
        k=config.problem_type.k,
        resamples=config.promotion.resamples,
        level=config.metric.confidence_level,
        seed=config.model.seed,
    )
    return {
        "value": finite_or_none(result.gain),
        "ci_low": finite_or_none(result.low),
        "ci_high": finite_or_none(result.high),
    }


def _labelled(config: ProjectConfig, test: TestSet, mask: np.ndarray) -> np.ndarray:
    """`mask` without the rows that have no label (a label the schema lets be empty)."""
    if not config.feature_schema.label.nullable:
        return mask
    return mask & np.asarray(pd.notna(test.labels))


def slice_labels(column: pd.Series) -> pd.Series:
    """Each row's slice name: its category, or for a many-valued number its third.

    A number with more than `NUMERIC_SLICE_VALUES` distinct values (a series'
    scale, an age) is cut into thirds by quantile, named by their range.
    """
    if is_numeric_dtype(column) and column.nunique() > NUMERIC_SLICE_VALUES:
        thirds = pd.qcut(column, 3, duplicates="drop")
        names = {
            b: f"{i + 1}/3 ({b.left:.4g} to {b.right:.4g})"
            for i, b in enumerate(thirds.cat.categories)
        }
        return thirds.map(names).astype("object").where(column.notna(), MISSING_SLICE).astype(str)
    return column.astype("object").where(column.notna(), MISSING_SLICE).astype(str)


def gate_failures(
    config: ProjectConfig,
    test: TestSet,
    slices: dict[str, dict[str, dict[str, Any]]],
    *,
    value: float,
    direction: Direction,
) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """What the slices and the protected groups miss, and the protected groups' report.

    The release gate in `evaluate` and the promotion policy both apply it, so a
    model that fails a slice is neither reported as passing nor promoted.
    """
    failures = slice_gate_failures(config.metric, slices, overall=value, direction=direction)
    binary = config.problem.type == "binary_classification"
    fairness = {}
    for column in config.feature_schema.tagged("protected"):
        if column not in slices:
            continue
        names = slice_labels(test.frame[column]).to_numpy()
        parity: dict[str, Any] = {}
        if binary:
            parity = {"labels": test.labels, "scores": test.predictions, "groups": names}
        report = group_gaps(slices[column], direction=direction, **parity)
        if report["worst"] is not None:
            for end in ("best", "worst"):
                report[f"{end}_ci"] = _interval(config, test, names == report[end])
        fairness[column] = report
    failures += group_gap_failures(fairness, max_relative_gap=config.metric.max_group_gap)
    return failures, fairness


def _interval(config: ProjectConfig, test: TestSet, mask: np.ndarray) -> list[float | None]:
    """The bootstrap interval of the primary metric on the rows of `mask` (labelled ones)."""
    mask = _labelled(config, test, mask)
    groups = test.groups[mask] if test.groups is not None else None
    unit = config.problem_type.resampling_unit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        if unit is not None and unit in test.frame.columns:
            low, high = clustered_interval(
                config.metric.primary,
                config.problem.type,
                np.asarray(test.labels[mask], dtype=float),
                test.predictions[mask],
                test.frame[unit].to_numpy()[mask],
                resamples=config.promotion.resamples,
                level=config.metric.confidence_level,
                seed=config.model.seed,
            )
            return [finite_or_none(low), finite_or_none(high)]
        low, high = bootstrap_interval(
            config.metric.primary,
            config.problem.type,
            np.asarray(test.labels[mask], dtype=float),
            test.predictions[mask],
            groups=groups,
            k=config.problem_type.k,
            resamples=config.promotion.resamples,
            level=config.metric.confidence_level,
            seed=config.model.seed,
        )
    return [finite_or_none(low), finite_or_none(high)]


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
