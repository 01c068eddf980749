"""Leakage suspects: columns that give the label away on their own.

A column that is the label in disguise (a copy, a recoding, a status written
after the outcome) makes a model look perfect offline and fail in production,
where the column is not known yet at prediction time. Real features almost
never predict a label this well alone, so `data infer` drops such columns and
asks a person to look.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Alone, a column this predictive of the label is a suspect.
MAX_ROC_AUC = 0.99
MAX_CORRELATION = 0.99
MAX_PURITY = 0.99
# Fewer rows with both values present than this: no judgement.
MIN_ROWS = 50
# A purity test means little when the majority class alone nearly reaches it.
MAX_MAJORITY_SHARE = 0.9
NUMERIC_BINS = 20


def leakage_reason(
    values: pd.Series, label: np.ndarray, *, label_kind: str, categorical: bool
) -> str | None:
    """Why `values` looks like the label in disguise; None when it does not.

    `label` holds the encoded label of the same rows (class ids for binary
    and multiclass, the numbers otherwise).
    """
    present = values.notna().to_numpy() & np.isfinite(label)
    if present.sum() < MIN_ROWS:
        return None
    feature, target = values[present].reset_index(drop=True), label[present]
    relabelled = _one_to_one(feature, target)
    if relabelled:
        return relabelled
    if label_kind == "binary":
        return _separates(feature, target, categorical=categorical)
    if label_kind == "multiclass":
        return _names_the_class(feature, target, categorical=categorical)
    return _tracks(feature, target, categorical=categorical)


def _one_to_one(feature: pd.Series, target: np.ndarray) -> str | None:
    """Each value of the column goes with one label value and back (when label values repeat)."""
    label_values = len(np.unique(target))
    if label_values * 2 > len(target):
        return None  # an almost-unique label pairs one-to-one with any unique column
    pairs = pd.DataFrame({"feature": feature.astype(str).to_numpy(), "label": target})
    distinct = len(pairs.drop_duplicates())
    if distinct == pairs["feature"].nunique() == label_values:
        return "the label in disguise: each of its values goes with exactly one label value"
    return None


def _separates(feature: pd.Series, target: np.ndarray, *, categorical: bool) -> str | None:
    if len(np.unique(target)) < 2:
        return None
    score = _class_rate(feature, target) if categorical else feature.to_numpy(dtype=float)
    auc = _roc_auc(score, target)
    auc = max(auc, 1.0 - auc)
    if auc > MAX_ROC_AUC:
        return f"alone it separates the two classes almost perfectly (ROC AUC {auc:.3f})"
    return None


def _names_the_class(feature: pd.Series, target: np.ndarray, *, categorical: bool) -> str | None:
    majority = np.bincount(target.astype(int)).max() / len(target)
    if majority > MAX_MAJORITY_SHARE:
        return None
    groups = feature.astype(str) if categorical else _bins(feature)
    table = pd.crosstab(groups.to_numpy(), target)
    purity = float(table.max(axis=1).sum() / len(target))
    if purity > MAX_PURITY:
        return f"alone it names the class of {purity:.1%} of the rows"
    return None


def _tracks(feature: pd.Series, target: np.ndarray, *, categorical: bool) -> str | None:
    if np.std(target) == 0:
        return None
    if categorical:
        means = pd.Series(target).groupby(feature.astype(str).to_numpy()).transform("mean")
        explained = 1.0 - np.var(target - means.to_numpy()) / np.var(target)
        correlation = float(np.sqrt(max(explained, 0.0)))
    else:
        numbers = feature.to_numpy(dtype=float)
        if np.std(numbers) == 0:
            return None
        correlation = abs(float(np.corrcoef(numbers, target)[0, 1]))
    if correlation > MAX_CORRELATION:
        return f"alone it tracks the label almost exactly (correlation {correlation:.3f})"
    return None


def _class_rate(feature: pd.Series, target: np.ndarray) -> np.ndarray:
    """Each row's share of positives among the rows with its category."""
    return pd.Series(target).groupby(feature.astype(str).to_numpy()).transform("mean").to_numpy()


def _bins(feature: pd.Series) -> pd.Series:
    """Numbers cut into equal-count bins, so purity can be measured as for categories."""
    ranks = feature.rank(method="first").to_numpy()
    return pd.Series(np.ceil(ranks / len(ranks) * NUMERIC_BINS).astype(int))


def _roc_auc(score: np.ndarray, target: np.ndarray) -> float:
    """ROC AUC from ranks (ties count half), without a model."""
    ranks = pd.Series(score).rank(method="average").to_numpy()
    positives = target == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
