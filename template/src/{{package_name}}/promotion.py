"""The promotion policy: a new version serves only once it has earned it.

`train` registers a candidate, and this module decides. The candidate must
pass the release gate (the threshold from the answers, and the baseline) on
the test split, the newest rows. When a champion exists it must also beat it
on those same rows: both are scored on every row, a paired bootstrap
resamples the rows (ranking: the queries) once for both, and the candidate
wins only when the whole interval of its gain lies above `promotion.min_gain`
(by default: better, significant at `promotion.confidence_level`). Otherwise
it stays registered as `rejected`, with the numbers behind the verdict, and
the champion keeps serving. `models promote VERSION --force --reason TEXT`
overrides the policy and records who did it and why.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .config import ProjectConfig
from .engines import engine_for
from .evaluation.harness import gate_failures, score_outputs, slice_results
from .evaluation.results import TestSet, finite_or_none, release_gate
from .metrics import get_metric
from .metrics.paired import PairedGain, paired_gain
from .registry import ModelRegistry
from .schema import SchemaError

REPORT_FILE = "promotion.json"


@dataclass(frozen=True)
class PromotionDecision:
    """The verdict on one candidate, and the numbers behind it."""

    version: str
    promoted: bool
    reason: str
    metric: str
    direction: str
    rows: int
    value: float
    baseline: float
    threshold: float
    gate_passed: bool
    champion: str | None = None
    champion_value: float | None = None
    comparison: PairedGain | None = None
    slice_failures: list[str] = field(default_factory=list)  # metric.slice_gates, max_group_gap

    def summary(self) -> str:
        verdict = "promoted to champion" if self.promoted else "not promoted"
        return f"{self.version} {verdict}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        """The stable keys of reports/promotion.json (also kept in the registry)."""
        compared = self.comparison
        return {
            "version": self.version,
            "promoted": self.promoted,
            "reason": self.reason,
            "metric": self.metric,
            "direction": self.direction,
            "rows": self.rows,
            "candidate": {
                "version": self.version,
                "value": finite_or_none(self.value),
                "baseline": finite_or_none(self.baseline),
                "threshold": self.threshold,
                "gate_passed": self.gate_passed,
                "slice_failures": self.slice_failures,
            },
            "champion": None
            if self.champion is None
            else {"version": self.champion, "value": finite_or_none(self.champion_value)},
            "gain": None
            if compared is None
            else {
                "value": finite_or_none(compared.gain),
                "ci_low": finite_or_none(compared.low),
                "ci_high": finite_or_none(compared.high),
                "level": compared.level,
                "resamples": compared.resamples,
            },
        }


def decide_promotion(config: ProjectConfig, version: str) -> PromotionDecision:
    """Apply the policy to `version`: promote it or record why not; writes promotion.json."""
    decision = judge_candidate(config, version)
    registry = ModelRegistry(config)
    evidence = decision.to_json()
    if decision.promoted:
        registry.promote(version, reason=decision.reason, evidence=evidence)
    elif registry.promoted_version() != version:
        registry.reject(version, reason=decision.reason, evidence=evidence)
    write_promotion_report(config, decision)
    return decision


def judge_candidate(config: ProjectConfig, version: str) -> PromotionDecision:
    """The policy's verdict on `version`, without recording it."""
    registry = ModelRegistry(config)
    engine = engine_for(config)
    candidate = registry.load(version)
    test = engine.score_test_split(candidate)
    metric = get_metric(config.metric.primary, config.problem.type)
    value = _score(config, test, test.predictions)
    baseline = _score(config, test, test.baseline)
    passed = release_gate(
        value, baseline=baseline, threshold=config.metric.threshold, direction=metric.direction
    )
    slice_failures, _ = gate_failures(
        config, test, slice_results(config, test), value=value, direction=metric.direction
    )
    base = PromotionDecision(
        version=version,
        promoted=False,
        reason="",
        metric=metric.name,
        direction=metric.direction,
        rows=len(test.labels),
        value=value,
        baseline=baseline,
        threshold=config.metric.threshold,
        gate_passed=passed and not slice_failures,
        slice_failures=slice_failures,
    )
    champion_version = registry.promoted_version()
    if candidate.problem.without_labels(test.labels):
        return _unlabelled(base, champion_version)
    if not base.gate_passed:
        return _with(base, reason=_gate_reason(base))
    if champion_version is None:
        return _with(base, promoted=True, reason="the first version that passes the release gate")
    if champion_version == version:
        return _with(base, promoted=True, reason="already the champion", champion=version)
    champion = registry.load(champion_version)
    try:
        reference = engine.score_test_split(champion)
    except (SchemaError, KeyError, ValueError) as error:
        return _with(
            base,
            promoted=True,
            champion=champion_version,
            reason=f"passes the gate; champion {champion_version} cannot score today's data "
            f"({error})",
        )
    if not pd.Series(reference.labels).equals(pd.Series(test.labels)):  # NaN: unlabelled
        raise RuntimeError("the champion and the candidate were not scored on the same rows")
    champion_value = _score(config, test, reference.predictions)
    comparison = paired_gain(
        metric.name,
        config.problem.type,
        test.labels,
        test.predictions,
        reference.predictions,
        groups=test.groups,
        k=config.problem_type.k,
        resamples=config.promotion.resamples,
        level=config.promotion.confidence_level,
        seed=config.model.seed,
    )
    judged = _with(base, champion=champion_version, champion_value=champion_value)
    judged = _with(judged, comparison=comparison)
    interval = (
        f"{metric.name} gain {comparison.gain:+.4f} over {champion_version} "
        f"({comparison.level:.0%} interval {comparison.low:+.4f} to {comparison.high:+.4f}, "
        f"{judged.rows} test rows)"
    )
    if comparison.significant(config.promotion.min_gain):
        return _with(judged, promoted=True, reason=f"beats the champion: {interval}")
    floor = config.promotion.min_gain
    need = "above 0" if floor == 0 else f"above promotion.min_gain = {floor:g}"
    return _with(
        judged,
        reason=f"does not beat the champion: {interval}; the interval must lie wholly {need}",
    )


def _unlabelled(base: PromotionDecision, champion: str | None) -> PromotionDecision:
    """No labelled test row: nothing to judge; the first model serves, later ones by hand."""
    if champion is None:
        return _with(
            base,
            promoted=True,
            gate_passed=True,
            reason="the first model, promoted unjudged: the test split has no labelled row",
        )
    return _with(
        base,
        champion=champion,
        reason=f"not compared with champion {champion}: the test split has no labelled row; "
        "label some alerts (labels ingest), or promote it by hand (models promote)",
    )


def write_promotion_report(config: ProjectConfig, decision: PromotionDecision) -> None:
    config.reports_dir.mkdir(parents=True, exist_ok=True)
    path = config.reports_dir / REPORT_FILE
    path.write_text(json.dumps(decision.to_json(), indent=2) + "\n", encoding="utf-8")


def _gate_reason(decision: PromotionDecision) -> str:
    if not math.isfinite(decision.value):
        return f"fails the release gate: {decision.metric} is undefined on the test split"
    if decision.slice_failures:
        return f"fails the release gate on a slice: {decision.slice_failures[0]}"
    sign = ">=" if decision.direction == "higher" else "<="
    return (
        f"fails the release gate: {decision.metric} = {decision.value:.4f} on the test split, "
        f"the gate needs {sign} {decision.threshold:g} and better than the baseline "
        f"{decision.baseline:.4f}"
    )


def _with(decision: PromotionDecision, **changes: Any) -> PromotionDecision:
    return replace(decision, **changes)


def _score(config: ProjectConfig, test: TestSet, outputs: np.ndarray) -> float:
    """The primary metric of `outputs` on the test split (NaN, quietly, when undefined)."""
    name = config.metric.primary
    return score_outputs(config, name, test.labels, outputs, test.groups, quiet=True)
