"""Compare reference and current column profiles: one judged result per column.

Every column ends with a status a person can act on: "ok", "drift",
"insufficient data", "all missing", "missing in current", "not in reference",
"type mismatch" or "no reference data". `drifted` is None only when the data
cannot say (too few rows, nothing to compare with); it is never quietly False.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy import stats

from ..config import MonitoringSection
from . import drift
from .profile import CategoricalProfile, ColumnProfile, Kind, NumericProfile, aligned_counts


@dataclass(frozen=True)
class ColumnResult:
    """The judgement on one column; `score` is compared with `threshold`.

    For p-value methods `score` is the p-value after the correction across
    columns (`p_value` keeps the raw one); for distances it is the distance.
    """

    name: str
    kind: Kind | None
    status: str
    drifted: bool | None
    message: str
    method: str | None = None
    score: float | None = None
    threshold: float | None = None
    p_value: float | None = None
    n_reference: int = 0
    n_current: int = 0
    invalid_share_reference: float | None = None
    invalid_share_current: float | None = None
    unseen_categories: tuple[str, ...] = ()
    data_quality: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["unseen_categories"] = list(self.unseen_categories)
        return {key: _finite_or_none(value) for key, value in data.items()}


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def unusable(
    name: str, kind: Kind | None, status: str, message: str, *, drifted: bool | None
) -> ColumnResult:
    """A column that could not be tested, with the reason."""
    return ColumnResult(name=name, kind=kind, status=status, drifted=drifted, message=message)


def compare_column(
    reference: ColumnProfile, current: ColumnProfile, settings: MonitoringSection
) -> ColumnResult:
    """Test one column; p-value methods still need `correct_p_values` across columns."""
    base = ColumnResult(
        name=reference.name,
        kind=reference.kind,
        status="ok",
        drifted=False,
        message="",
        n_reference=reference.n_valid,
        n_current=current.n_valid,
        invalid_share_reference=reference.invalid_share,
        invalid_share_current=current.invalid_share,
    )
    if reference.kind != current.kind:
        return replace(
            base,
            status="type mismatch",
            drifted=True,
            message=(f"{reference.kind} in the reference but {current.kind} in the current window"),
        )
    if current.n_rows == 0:
        return replace(
            base,
            status="insufficient data",
            drifted=None,
            message="no current rows for this column",
        )
    if reference.n_valid == 0:
        return replace(
            base,
            status="no reference data",
            drifted=None,
            message="the reference has no usable values to compare with",
        )
    if current.n_valid == 0:
        return replace(
            base,
            status="all missing",
            drifted=True,
            message=(
                f"all {current.n_rows} current values are missing or infinite "
                f"(reference: {reference.invalid_share:.1%})"
            ),
        )
    invalid_alarm = _invalid_share_alarm(reference, current, settings)
    if min(reference.n_valid, current.n_valid) < settings.min_rows:
        message = (
            f"{min(reference.n_valid, current.n_valid)} usable values, fewer than "
            f"monitoring.min_rows = {settings.min_rows}"
        )
        if invalid_alarm:
            return replace(
                base,
                status="drift",
                drifted=True,
                message=invalid_alarm,
                data_quality=invalid_alarm,
            )
        return replace(base, status="insufficient data", drifted=None, message=message)
    requested = settings.column_methods.get(
        reference.name,
        settings.numeric_method if reference.kind == "numeric" else settings.categorical_method,
    )
    method = drift.choose_method(
        reference.kind,
        n_reference=reference.n_valid,
        n_current=current.n_valid,
        large_sample_rows=settings.large_sample_rows,
        requested=requested,
    )
    unseen: tuple[str, ...] = ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if isinstance(reference, NumericProfile) and isinstance(current, NumericProfile):
            score = _numeric_score(method, reference.values, current.values, settings)
        else:
            assert isinstance(reference, CategoricalProfile)
            assert isinstance(current, CategoricalProfile)
            score = _categorical_score(method, reference, current, settings)
            unseen = tuple(sorted(set(current.counts) - set(reference.counts)))
    threshold = _threshold(method, settings)
    result = replace(
        base,
        method=method,
        score=score,
        threshold=threshold,
        unseen_categories=unseen,
        p_value=score if method in drift.P_VALUE_METHODS else None,
    )
    if math.isnan(score):
        return replace(
            result,
            status="insufficient data",
            drifted=None,
            message=f"too few values per category for {method}",
        )
    return _judge(replace(result, data_quality=invalid_alarm))


def _numeric_score(
    method: str, ref: np.ndarray, cur: np.ndarray, settings: MonitoringSection
) -> float:
    if method == "ks":
        return drift.ks_p_value(ref, cur, assume_sorted=True)
    if method == "wasserstein":
        return drift.wasserstein_distance_norm(ref, cur, assume_sorted=True)
    return drift.psi_numeric(ref, cur, bins=settings.psi_bins, assume_sorted=True)


def _categorical_score(
    method: str, ref: CategoricalProfile, cur: CategoricalProfile, settings: MonitoringSection
) -> float:
    _, ref_counts, cur_counts = aligned_counts(ref, cur, max_categories=settings.max_categories)
    if method == "chi_square":
        return drift.chi_square_p_value(ref_counts, cur_counts)
    if method == "jensen_shannon":
        return drift.jensen_shannon_distance(ref_counts, cur_counts)
    return drift.psi_counts(ref_counts, cur_counts)


def _threshold(method: str, settings: MonitoringSection) -> float:
    return {
        "ks": settings.alpha,
        "chi_square": settings.alpha,
        "wasserstein": settings.wasserstein_threshold,
        "jensen_shannon": settings.jensen_shannon_threshold,
        "psi": settings.psi_threshold,
    }[method]


def _invalid_share_alarm(
    reference: ColumnProfile, current: ColumnProfile, settings: MonitoringSection
) -> str:
    """A message when missing/infinite values grew beyond the tolerance, beyond noise."""
    growth = current.invalid_share - reference.invalid_share
    if growth <= settings.invalid_share_tolerance:
        return ""
    p_value = stats.binom.sf(current.n_invalid - 1, current.n_rows, reference.invalid_share)
    if p_value >= settings.alpha:
        return ""
    return (
        f"missing or infinite values rose from {reference.invalid_share:.1%} to "
        f"{current.invalid_share:.1%}"
    )


def _judge(result: ColumnResult) -> ColumnResult:
    assert result.method is not None and result.score is not None
    assert result.threshold is not None
    moved = drift.is_drift(result.method, result.score, threshold=result.threshold)
    relation = (
        ("<" if moved else ">=")
        if result.method in drift.P_VALUE_METHODS
        else (">=" if moved else "<")
    )
    what = {"ks": "p-value", "chi_square": "p-value", "psi": "index"}.get(result.method, "distance")
    message = f"{result.method} {what} {result.score:.4g} {relation} {result.threshold:g}"
    if result.unseen_categories:
        shown = ", ".join(result.unseen_categories[:5])
        message += f"; categories not in the reference: {shown}"
    if result.data_quality:
        message += f"; {result.data_quality}"
    drifted = moved or bool(result.data_quality)
    return replace(result, drifted=drifted, status="drift" if drifted else "ok", message=message)


def correct_p_values(
    results: list[ColumnResult], settings: MonitoringSection
) -> list[ColumnResult]:
    """Apply the configured correction across the columns judged by p-values."""
    tested = [
        i
        for i, r in enumerate(results)
        if r.method in drift.P_VALUE_METHODS and r.p_value is not None and r.drifted is not None
    ]
    adjusted = drift.adjust_p_values(
        [float(results[i].p_value or 0.0) for i in tested],
        correction=settings.correction,
    )
    corrected = list(results)
    for index, p_value in zip(tested, adjusted, strict=True):
        corrected[index] = _judge(replace(corrected[index], score=float(p_value)))
    return corrected


def compare_profiles(
    reference: Mapping[str, ColumnProfile],
    current: Mapping[str, ColumnProfile],
    settings: MonitoringSection,
) -> list[ColumnResult]:
    """Judge every column of either side, corrected across columns, in reference order."""
    results = []
    for name, ref in reference.items():
        if name not in current:
            results.append(
                unusable(
                    name,
                    ref.kind,
                    "missing in current",
                    drifted=True,
                    message="the column is absent from the current window",
                )
            )
        else:
            results.append(compare_column(ref, current[name], settings))
    for name, cur in current.items():
        if name not in reference:
            results.append(
                unusable(
                    name,
                    cur.kind,
                    "not in reference",
                    drifted=None,
                    message="the column is absent from the reference; not tested",
                )
            )
    return correct_p_values(results, settings)


def share_drifted(results: list[ColumnResult]) -> float:
    """Share of drifted columns among those the data could judge (NaN when none)."""
    judged = [r for r in results if r.drifted is not None]
    return sum(bool(r.drifted) for r in judged) / len(judged) if judged else float("nan")
