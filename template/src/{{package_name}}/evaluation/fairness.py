"""Group gaps for protected columns (ML Test Score M7: considerations of inclusion).

A column tagged `protected` in configs/schema.yaml (a feature, or a column kept
in the data only for this check) names groups the model must serve equally
well. For each, the report gives every group's size and primary metric, the
gap between the best and the worst group, and for a binary classifier the
rates behind the usual parity measures at the 0.5 cut: selection rate, true
positive rate and false positive rate per group, and their largest
differences (demographic parity and equalized odds). With
`metric.max_group_gap` set, the release gate fails when the model puts the
worst group further behind the best than the baseline does, by more than that
share of the best group's value, beyond the noise of a small group.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics import Direction, gain

CUT = 0.5  # a binary classifier's score -> positive decision, for the parity rates


def selection_rate(decisions: np.ndarray) -> float:
    """Share of rows decided positive."""
    return float(np.mean(decisions)) if len(decisions) else float("nan")


def true_positive_rate(labels: np.ndarray, decisions: np.ndarray) -> float:
    """Share of the positives decided positive (NaN without a positive)."""
    positives = labels == 1
    return float(np.mean(decisions[positives])) if positives.any() else float("nan")


def false_positive_rate(labels: np.ndarray, decisions: np.ndarray) -> float:
    """Share of the negatives decided positive (NaN without a negative)."""
    negatives = labels == 0
    return float(np.mean(decisions[negatives])) if negatives.any() else float("nan")


def largest_difference(values: list[float]) -> float | None:
    """Max minus min of the defined values; None with fewer than two."""
    defined = [v for v in values if np.isfinite(v)]
    return float(max(defined) - min(defined)) if len(defined) >= 2 else None


def group_gaps(
    slices: dict[str, dict[str, Any]],
    *,
    direction: Direction,
    labels: np.ndarray | None = None,
    scores: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """The report for one protected column from its slice entries.

    `labels`, `scores` and `groups` (row-aligned) are given for a binary
    classifier only: they add the parity rates.
    """
    judged = {name: e for name, e in slices.items() if e.get("value") is not None}
    report: dict[str, Any] = {
        "direction": direction,
        "groups": {
            name: {"n": e["n"], "value": e.get("value"), "baseline": e.get("baseline")}
            for name, e in slices.items()
        },
        "best": None,
        "worst": None,
        "gap": None,
        "relative_gap": None,
        "baseline_relative_gap": None,
    }
    if len(judged) >= 2:
        ranked = sorted(judged, key=lambda n: judged[n]["value"], reverse=direction == "higher")
        best, worst = judged[ranked[0]]["value"], judged[ranked[-1]]["value"]
        gap = gain(best, worst, direction=direction)
        report.update(
            best=ranked[0],
            worst=ranked[-1],
            gap=gap,
            relative_gap=gap / abs(best) if best else None,
            baseline_relative_gap=_baseline_gap(judged[ranked[0]], judged[ranked[-1]], direction),
        )
    if labels is not None and scores is not None and groups is not None:
        report["parity"] = _parity(labels, scores, groups, report["groups"])
    return report


def _parity(
    labels: np.ndarray, scores: np.ndarray, groups: np.ndarray, entries: dict[str, Any]
) -> dict[str, Any]:
    decisions = (np.asarray(scores, dtype=float) >= CUT).astype(float)
    rates: dict[str, list[float]] = {"selection": [], "tpr": [], "fpr": []}
    for name, entry in entries.items():
        mask = groups == name
        group_labels, group_decisions = labels[mask], decisions[mask]
        entry["selection_rate"] = selection_rate(group_decisions)
        entry["true_positive_rate"] = true_positive_rate(group_labels, group_decisions)
        entry["false_positive_rate"] = false_positive_rate(group_labels, group_decisions)
        rates["selection"].append(entry["selection_rate"])
        rates["tpr"].append(entry["true_positive_rate"])
        rates["fpr"].append(entry["false_positive_rate"])
        for key in ("selection_rate", "true_positive_rate", "false_positive_rate"):
            entry[key] = entry[key] if np.isfinite(entry[key]) else None
    tpr_gap, fpr_gap = largest_difference(rates["tpr"]), largest_difference(rates["fpr"])
    odds = [gap for gap in (tpr_gap, fpr_gap) if gap is not None]
    return {
        "cut": CUT,
        "demographic_parity_difference": largest_difference(rates["selection"]),
        "equalized_odds_difference": max(odds) if odds else None,
    }


def group_gap_failures(
    fairness: dict[str, dict[str, Any]], *, max_relative_gap: float | None
) -> list[str]:
    """One sentence per protected column whose groups are further apart than allowed.

    Only the gap the model adds counts: the baseline's own gap between the same
    two groups (a group with more positives has a higher Brier score for any
    model) is taken off. And only beyond noise: the favourable end of the worst
    group's bootstrap interval (`worst_ci`) against the unfavourable end of the
    best group's (`best_ci`); both groups may be small.
    """
    if max_relative_gap is None:
        return []
    failures = []
    for column, r in fairness.items():
        if r["relative_gap"] is None or r["relative_gap"] <= max_relative_gap:
            continue
        inherent = max(r.get("baseline_relative_gap") or 0.0, 0.0)
        if r["relative_gap"] - inherent <= max_relative_gap:
            continue  # the data sets the groups this far apart, not the model
        higher = r["direction"] == "higher"
        best = _end(r.get("best_ci"), low=higher) or r["groups"][r["best"]]["value"]
        worst = _end(r.get("worst_ci"), low=not higher)
        beyond_noise = _share_behind(best, worst, r) if worst is not None and best else None
        if beyond_noise is not None and beyond_noise - inherent <= max_relative_gap:
            continue  # the groups may be this far apart by chance
        failures.append(
            f"protected column {column}: group {r['worst']} is {r['relative_gap']:.0%} behind "
            f"group {r['best']}, the baseline {inherent:.0%} (metric.max_group_gap "
            f"{max_relative_gap:.0%} more than the baseline's)"
        )
    return failures


def _baseline_gap(
    best: dict[str, Any], worst: dict[str, Any], direction: Direction
) -> float | None:
    """How far the baseline puts the model's worst group behind its best, as a share."""
    if best.get("baseline") is None or worst.get("baseline") is None or not best["baseline"]:
        return None
    return float(gain(best["baseline"], worst["baseline"], direction=direction)) / abs(
        best["baseline"]
    )


def _share_behind(best: float, other: float, report: dict[str, Any]) -> float:
    return gain(best, other, direction=report["direction"]) / abs(best)


def _end(interval: list[float | None] | None, *, low: bool) -> float | None:
    """The low or high end of a [low, high] interval; None when it is unknown."""
    if not interval:
        return None
    return interval[0] if low else interval[1]
