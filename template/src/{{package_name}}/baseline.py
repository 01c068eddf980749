"""The natural baseline for each problem type: what a model has to beat.

binary: the training prior P(label=1) for everyone; multiclass: the class
priors (so the majority class wins every row); regression: the training mean;
ranking: category popularity (the mean training relevance of the candidate's
categories). A baseline is a few numbers, stored as JSON inside the model's
metadata, so it needs no pickle and is covered by the artifact's hashes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .schema import FeatureSchema

Baseline = dict[str, Any]


def fit_baseline(
    matrix: np.ndarray, labels: np.ndarray, *, problem_type: str, schema: FeatureSchema
) -> Baseline:
    """Fit the baseline on the training matrix (encoded features) and labels."""
    labels = np.asarray(labels, dtype=float)
    if problem_type == "binary_classification":
        return {"kind": "prior", "positive_rate": float(labels.mean())}
    if problem_type == "multiclass_classification":
        n_classes = schema.label.n_classes or int(labels.max()) + 1
        counts = np.bincount(labels.astype(int), minlength=n_classes)
        return {"kind": "majority", "class_priors": (counts / counts.sum()).tolist()}
    if problem_type == "regression":
        return {"kind": "mean", "mean": float(labels.mean())}
    overall = float(labels.mean())
    tables: dict[str, list[float]] = {}
    for index, spec in enumerate(schema.features):
        if spec.kind != "categorical":
            continue
        codes = matrix[:, index]
        known = ~np.isnan(codes)
        sums = np.bincount(codes[known].astype(int), labels[known], len(spec.categories))
        counts = np.bincount(codes[known].astype(int), minlength=len(spec.categories))
        # Shrink rare categories towards the overall mean.
        tables[str(index)] = ((sums + 10 * overall) / (counts + 10)).tolist()
    return {"kind": "popularity", "overall": overall, "tables": tables}


def predict_baseline(baseline: Baseline, matrix: np.ndarray) -> np.ndarray:
    """Baseline output in the same shape as the model's `predict`."""
    n = len(matrix)
    kind = baseline["kind"]
    if kind == "prior":
        return np.full(n, baseline["positive_rate"])
    if kind == "majority":
        return np.tile(np.asarray(baseline["class_priors"], dtype=float), (n, 1))
    if kind == "mean":
        return np.full(n, baseline["mean"])
    if kind == "popularity":
        overall = baseline["overall"]
        score = np.zeros(n)
        for index, table in baseline["tables"].items():
            values = np.asarray([*table, overall], dtype=float)
            codes = matrix[:, int(index)]
            lookup = np.where(np.isnan(codes), len(table), codes).astype(int)
            score += values[np.clip(lookup, 0, len(table))] - overall
        return score
    raise ValueError(f"unknown baseline kind '{kind}'")


def describe_baseline(baseline: Baseline) -> str:
    """One line for reports and the model card."""
    kind = baseline["kind"]
    if kind == "prior":
        return f"constant prior P(label=1) = {baseline['positive_rate']:.3f}"
    if kind == "majority":
        priors = baseline["class_priors"]
        return f"majority class {int(np.argmax(priors))} (class priors as probabilities)"
    if kind == "mean":
        return f"constant training mean {baseline['mean']:.3f}"
    return "category popularity (mean training relevance of the candidate's categories)"
