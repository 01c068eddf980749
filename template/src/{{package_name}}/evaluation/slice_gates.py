"""Slice gates (ML Test Score M6): every important slice must be good enough too.

An overall metric can pass while one city, plan or product line is served
badly. `metric.slice_gates` in configs/project.yaml names what each slice must
reach; `evaluate` checks every slice with at least `metric.min_slice_rows`
rows and the release gate fails on any miss. Each miss is one sentence naming
the slice, its value and the rule.
"""

from __future__ import annotations

import math
from typing import Any

from ..config import MetricSection, SliceGate
from ..metrics import Direction, gain, passes


def slice_gate_failures(
    metric: MetricSection,
    slices: dict[str, dict[str, dict[str, Any]]],
    *,
    overall: float,
    direction: Direction,
) -> list[str]:
    """One sentence per slice that misses its rule; empty when every judged slice passes.

    A slice too small to score (value null) is not judged: its count is in the report.
    """
    failures = []
    for column, categories in slices.items():
        for category, entry in categories.items():
            rule = metric.gate_for(column, category)
            value = entry.get("value")
            if rule is None or value is None:
                continue
            name = f"{column}={category} ({entry['n']} rows)"
            failures += [
                f"{name}: {metric.primary} {value:.4f} {miss}"
                for miss in _misses(rule, entry, overall, direction)
            ]
    return failures


def _misses(
    rule: SliceGate, entry: dict[str, Any], overall: float, direction: Direction
) -> list[str]:
    """What the slice's value fails of `rule`, each as the end of a sentence."""
    value, baseline = entry["value"], entry.get("baseline")
    misses = []
    if rule.threshold is not None and not passes(value, rule.threshold, direction=direction):
        misses.append(f"misses the slice threshold {rule.threshold}")
    behind = gain(overall, value, direction=direction)  # > 0: the slice is worse
    if rule.max_gap is not None and behind > rule.max_gap:
        misses.append(f"is {behind:.4f} behind the overall {overall:.4f} (max_gap {rule.max_gap})")
    if rule.max_relative_gap is not None and math.isfinite(overall) and overall != 0:
        share = behind / abs(overall)
        if share > rule.max_relative_gap:
            misses.append(
                f"is {share:.0%} behind the overall {overall:.4f} "
                f"(max_relative_gap {rule.max_relative_gap:.0%})"
            )
    paired = entry.get("gain_vs_baseline") or {}
    high = paired.get("ci_high")
    if rule.at_least_baseline and baseline is not None and high is not None and high < 0:
        misses.append(
            f"is worse than the baseline's {baseline:.4f} on this slice, beyond noise "
            f"(gain interval {paired['ci_low']:+.4f} to {high:+.4f})"
        )
    return misses
