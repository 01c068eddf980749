"""Anomaly detection metrics: the binary ranking metrics, on the rows someone labelled.

Most rows of an anomaly detector's data are never inspected, so their label
is missing (NaN). A metric here first keeps the labelled rows, then is the
binary metric of the same name: PR AUC (the primary: anomalies are rare, and
ROC AUC looks good on rare positives even when the alerts are mostly wrong)
and ROC AUC. The operating point (precision and recall at the alert budget)
depends on the threshold, not on the scores alone: `operating_point` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._base import MetricMath, ScoreOrdered, undefined
from .classification import (
    _average_precision_from_counts,
    _roc_auc_from_counts,
    pr_auc_score,
    roc_auc_score,
    score_counts,
)


def labelled_rows(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows whose label is known (not NaN), as float arrays."""
    y_true, y_score = np.asarray(y_true, dtype=float), np.asarray(y_score, dtype=float)
    if y_true.shape != y_score.shape or y_true.ndim != 1:
        raise ValueError(
            f"expected y_true and y_score as 1-d arrays of one length, got shapes "
            f"{y_true.shape} and {y_score.shape}"
        )
    known = ~np.isnan(y_true)
    return y_true[known], y_score[known]


def anomaly_pr_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Average precision over the labelled rows (1 = confirmed anomaly)."""
    y_true, y_score = labelled_rows(y_true, y_score)
    if len(y_true) == 0:
        return undefined("pr_auc needs labelled rows; every label is missing")
    return pr_auc_score(y_true, y_score)


def anomaly_roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """ROC AUC over the labelled rows."""
    y_true, y_score = labelled_rows(y_true, y_score)
    if len(y_true) == 0:
        return undefined("roc_auc needs labelled rows; every label is missing")
    return roc_auc_score(y_true, y_score)


def labelled_counts(
    y_true: np.ndarray, y_score: np.ndarray, *, max_bins: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`score_counts` of the labelled rows (the bootstrap resamples these); none: empty."""
    y_true, y_score = labelled_rows(y_true, y_score)
    if len(y_true) == 0:  # no labelled row: every resample is undefined
        return np.zeros(0), np.zeros(0)
    return score_counts(y_true, y_score, max_bins=max_bins)


@dataclass(frozen=True)
class OperatingPoint:
    """What the alert threshold does on one data set."""

    threshold: float
    rows: int
    alerts: int
    labelled_alerts: int
    precision: float  # confirmed anomalies among the labelled alerts
    recall: float  # labelled anomalies that were alerted

    @property
    def alert_rate(self) -> float:
        return self.alerts / self.rows if self.rows else float("nan")


def operating_point(y_true: np.ndarray, y_score: np.ndarray, threshold: float) -> OperatingPoint:
    """Alerts (score >= threshold) and their precision and recall on the labelled rows.

    Precision counts only alerts someone labelled; recall is over labelled
    anomalies. Both are NaN when nothing they need is labelled.
    """
    y_true, y_score = np.asarray(y_true, dtype=float), np.asarray(y_score, dtype=float)
    alerted = y_score >= threshold
    known = ~np.isnan(y_true)
    positive = known & (y_true == 1)
    labelled_alerts = int((alerted & known).sum())
    hits = int((alerted & positive).sum())
    precision = hits / labelled_alerts if labelled_alerts else float("nan")
    recall = hits / int(positive.sum()) if positive.any() else float("nan")
    return OperatingPoint(
        threshold=float(threshold),
        rows=len(y_score),
        alerts=int(alerted.sum()),
        labelled_alerts=labelled_alerts,
        precision=precision,
        recall=recall,
    )


def budget_threshold(scores: np.ndarray, alert_share: float) -> float:
    """The score above which `alert_share` of these rows lie (at least one row alerts)."""
    scores = np.sort(np.asarray(scores, dtype=float)[np.isfinite(scores)])
    if len(scores) == 0:
        raise ValueError("no finite scores to set an alert threshold on")
    alerts = min(max(round(alert_share * len(scores)), 1), len(scores))
    return float(scores[len(scores) - alerts])


# The alert-rate monitor: alarm outside these multiples of the budget's share,
# once the window is big enough to expect this many alerts.
ALERT_RATE_LOW, ALERT_RATE_HIGH = 0.25, 2.0
MIN_EXPECTED_ALERTS = 20


def budget_report(
    labels: np.ndarray,
    outputs: np.ndarray,
    baseline_outputs: np.ndarray,
    *,
    budget: int,
    rows_per_day: int,
    threshold: float | None,
) -> dict[str, Any]:
    """The evaluation's `operating_point`: the alert budget on the test rows.

    Like for like: model and baseline each flag the budget's share of these
    rows. Then the model's own threshold, set on validation rows, says how
    many alerts a day it would really raise.
    """
    share = budget / rows_per_day
    model = operating_point(labels, outputs, budget_threshold(outputs, share))
    base = operating_point(labels, baseline_outputs, budget_threshold(baseline_outputs, share))
    report: dict[str, Any] = {
        "alert_budget_per_day": budget,
        "rows_per_day": rows_per_day,
        "alerts_at_budget": model.alerts,
        "precision_at_budget": _number(model.precision),
        "recall_at_budget": _number(model.recall),
        "baseline_precision_at_budget": _number(base.precision),
        "baseline_recall_at_budget": _number(base.recall),
    }
    lines = [
        f"at the alert budget ({model.alerts} of {model.rows} rows): precision "
        f"{model.precision:.3f} (baseline {base.precision:.3f}), recall {model.recall:.3f} "
        f"(baseline {base.recall:.3f}), on the labelled rows"
    ]
    if threshold is not None:
        served = operating_point(labels, outputs, threshold)
        per_day = served.alert_rate * rows_per_day
        report.update(
            alert_threshold=threshold, alert_rate=served.alert_rate, alerts_per_day=per_day
        )
        lines.append(
            f"threshold {threshold:.4f} (set on validation rows): alert rate "
            f"{served.alert_rate:.4%}, about {per_day:,.0f} alerts a day vs a budget of {budget:,}"
        )
    return {**report, "summary": lines}


def alert_rate_verdict(scores: np.ndarray, threshold: float, share: float) -> dict[str, Any]:
    """The monitor's verdict on logged scores: alerts against the budget's `share` of rows.

    Drifted when the rate is over ALERT_RATE_HIGH times the share or under
    ALERT_RATE_LOW times it, once the window holds enough rows to expect
    MIN_EXPECTED_ALERTS alerts.
    """
    rate = float(np.mean(np.asarray(scores, dtype=float) >= threshold))
    ratio = rate / share
    judged = len(scores) * share >= MIN_EXPECTED_ALERTS
    drifted = judged and not (ALERT_RATE_LOW <= ratio <= ALERT_RATE_HIGH)
    verdict = "DRIFT" if drifted else ("ok" if judged else "too few rows to judge")
    return {
        "rate": rate,
        "budget_share": share,
        "ratio": ratio,
        "rows": len(scores),
        "drifted": drifted,
        "summary": (
            f"Alert rate: {rate:.4%} of {len(scores)} logged rows, {ratio:.2f}x the budget's "
            f"{share:.4%} (alarm outside {ALERT_RATE_LOW}x to {ALERT_RATE_HIGH}x): {verdict}"
        ),
    }


def _number(value: float) -> float | None:
    """JSON has no NaN: an undefined rate is null."""
    return float(value) if np.isfinite(value) else None


ANOMALY_MATH: dict[str, MetricMath] = {
    "pr_auc": (anomaly_pr_auc, ScoreOrdered(labelled_counts, _average_precision_from_counts)),
    "roc_auc": (anomaly_roc_auc, ScoreOrdered(labelled_counts, _roc_auc_from_counts)),
}
