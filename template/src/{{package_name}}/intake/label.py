"""The label of an inferred schema: does the column fit the problem type, and how is it written?

Each label kind (the problem type's `label_kind`) has its own reader, which
either returns the schema's `label:` entry with the encoded values, or
raises `InferenceError` with a sentence a person can act on: a binary
project given five values, a label with one class, text where a number is
needed, two values without an obvious positive.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..schema import canonical_text
from .columns import InferenceError, margin_range

# More distinct values than this is not a set of classes.
MAX_CLASSES = 50
# LightGBM's lambdarank gains cover grades 0..30.
MAX_RELEVANCE = 30
# Pairs of values whose positive is obvious (compared in lower case): (negative, positive).
OBVIOUS_PAIRS = (
    ("0", "1"),
    ("false", "true"),
    ("no", "yes"),
    ("n", "y"),
    ("f", "t"),
    ("negative", "positive"),
    ("-1", "1"),
)


@dataclass(frozen=True)
class LabelDecision:
    """The schema's `label:` entry, the encoded label per row, and what to tell the user."""

    spec: dict[str, Any]
    codes: np.ndarray  # class ids (binary, multiclass) or the numbers, per row
    reason: str
    n_classes: int | None = None  # multiclass: for problem.n_classes


def decide_label(
    column: pd.Series,
    *,
    label_kind: str,
    problem: str,
    positive: str | None,
    partial: bool = False,
) -> LabelDecision:
    """The label decision for `column` under a problem type that needs `label_kind`.

    `partial`: the problem type lives with unlabelled rows (anomaly detection),
    so missing labels are allowed and the label is written `nullable`.
    """
    name = str(column.name)
    missing = int(column.isna().sum())
    if partial:
        return _partial(column, label_kind=label_kind, problem=problem, positive=positive)
    if missing:
        raise InferenceError(
            f"the label '{name}' is missing in {missing} of {len(column)} rows; remove those "
            "rows (a model cannot learn from them, and `data check` can then score them)"
        )
    if positive is not None and label_kind != "binary":
        raise InferenceError(f"--positive is for binary labels; {problem} has none")
    reader = _READERS.get(label_kind)
    if reader is None:
        raise InferenceError(f"{problem}: label kind '{label_kind}' cannot be inferred yet")
    # canonical text once per distinct value: a label column can have millions of rows
    texts = column.map({value: canonical_text(value) for value in column.unique()})
    return reader(column, texts, problem, positive)


def unlabelled(name: str, rows: int) -> LabelDecision:
    """The label of a table that has none yet: a nullable binary column, empty in every row."""
    return LabelDecision(
        spec={"name": name, "kind": "binary", "nullable": True},
        codes=np.full(rows, np.nan),
        reason="no labels yet: every row is unlabelled (the learner must not need labels)",
    )


def _partial(
    column: pd.Series, *, label_kind: str, problem: str, positive: str | None
) -> LabelDecision:
    """A binary label that most rows lack: decided on the labelled rows, NaN for the rest."""
    known = column.notna().to_numpy()
    if not known.any():
        return unlabelled(str(column.name), len(column))
    texts = column[known].map({value: canonical_text(value) for value in column[known].unique()})
    values = _distinct(texts)
    if len(values) == 1 and values[0] in ("0", "1"):
        decided = LabelDecision({"name": str(column.name), "kind": label_kind}, np.array([]), "")
        codes = texts.to_numpy(dtype=float)
    else:
        decided = _binary(column[known], texts, problem, positive)
        codes = decided.codes
    every = np.full(len(column), np.nan)
    every[known] = codes
    share = known.mean()
    return replace(
        decided,
        spec={**decided.spec, "nullable": True},
        codes=every,
        reason=f"{decided.reason or 'binary label (0/1)'}; {share:.1%} of rows labelled, the rest "
        "unlabelled (nullable)",
    )


def _binary(
    column: pd.Series, texts: pd.Series, problem: str, positive: str | None
) -> LabelDecision:
    name, values = str(column.name), _distinct(texts)
    if len(values) == 1:
        raise InferenceError(
            f"the label '{name}' has one value ('{values[0]}') in all {len(column)} rows; "
            f"{problem} needs rows of both classes"
        )
    if len(values) != 2:
        raise InferenceError(
            f"{problem} needs a label with two values, but '{name}' has {len(values)} "
            f"({_preview(values)}); pick the right --label, or generate the project for "
            "multiclass_classification or regression"
        )
    chosen = _positive(values, positive, name)
    negative = values[1 - values.index(chosen)]
    how = "given by --positive" if positive is not None else "the obvious positive"
    # 0/1 with 1 positive are the class ids already: no classes to map (every tier reads them).
    ids = (negative, chosen) == ("0", "1")
    return LabelDecision(
        spec={"name": name, "kind": "binary"}
        if ids
        else {"name": name, "kind": "binary", "classes": [negative, chosen]},
        codes=(texts == chosen).to_numpy(dtype=float),
        reason=f"binary label: '{chosen}' is the positive class ({how}), '{negative}' the negative",
    )


def _positive(values: list[str], positive: str | None, name: str) -> str:
    """The positive one of two label values: `--positive`, or the obvious one of a known pair."""
    if positive is not None:
        for value in values:
            if value == positive or value.lower() == positive.strip().lower():
                return value
            if _same_number(value, positive):
                return value
        raise InferenceError(
            f"--positive {positive!r} is not a value of the label '{name}'; its values are "
            f"{_preview(values)}"
        )
    lowered = {value.lower(): value for value in values}
    for negative, chosen in OBVIOUS_PAIRS:
        if set(lowered) == {negative, chosen}:
            return lowered[chosen]
    raise InferenceError(
        f"the label '{name}' has the values '{values[0]}' and '{values[1]}', and which one is "
        f"the positive class is not obvious; say it with --positive (e.g. --positive "
        f"{values[1]})"
    )


def _multiclass(
    column: pd.Series, texts: pd.Series, problem: str, positive: str | None
) -> LabelDecision:
    name, values = str(column.name), _distinct(texts)
    if len(values) < 3:
        raise InferenceError(
            f"{problem} needs a label with 3 or more classes, but '{name}' has "
            f"{len(values)} ({_preview(values)}); for two classes, generate the project for "
            "binary_classification"
        )
    if len(values) > MAX_CLASSES:
        raise InferenceError(
            f"the label '{name}' has {len(values)} distinct values ({_preview(values)}): too "
            f"many for classes (at most {MAX_CLASSES}); is it a number (regression)?"
        )
    numbers = _as_numbers(values)
    n = len(values)
    if numbers is not None and sorted(numbers) == list(range(n)):
        codes = pd.to_numeric(column).to_numpy(dtype=float)
        return LabelDecision(
            spec={"name": name, "kind": "multiclass", "n_classes": n},
            codes=codes,
            reason=f"multiclass label: class ids 0..{n - 1}",
            n_classes=n,
        )
    ordered = [v for _, v in sorted(zip(numbers, values, strict=True))] if numbers else values
    lookup = {value: code for code, value in enumerate(ordered)}
    return LabelDecision(
        spec={"name": name, "kind": "multiclass", "classes": ordered},
        codes=texts.map(lookup).to_numpy(dtype=float),
        reason=f"multiclass label: {n} classes ({_preview(ordered)})",
        n_classes=n,
    )


def _numeric(
    column: pd.Series, texts: pd.Series, problem: str, positive: str | None
) -> LabelDecision:
    name = str(column.name)
    numbers = _numbers_or_fail(column, problem)
    distinct = np.unique(numbers)
    if len(distinct) < 3:
        raise InferenceError(
            f"{problem} needs a numeric label with many values, but '{name}' has "
            f"{len(distinct)} ({_preview([canonical_text(v) or '' for v in distinct])}); "
            "for classes, generate the project for a classification problem type"
        )
    low, high = margin_range(float(distinct[0]), float(distinct[-1]))
    return LabelDecision(
        spec={"name": name, "kind": "numeric", "min": low, "max": high},
        codes=numbers,
        reason=f"numeric label from {distinct[0]:g} to {distinct[-1]:g} (range kept: "
        f"{low:g} to {high:g})",
    )


def _relevance(
    column: pd.Series, texts: pd.Series, problem: str, positive: str | None
) -> LabelDecision:
    name = str(column.name)
    numbers = _numbers_or_fail(column, problem)
    if not np.all(numbers == np.round(numbers)):
        raise InferenceError(
            f"{problem} needs whole-number relevance grades (0 = not relevant), but '{name}' "
            "has fractions; round them to grades first"
        )
    low, high = int(numbers.min()), int(numbers.max())
    if low < 0 or high > MAX_RELEVANCE or low == high:
        raise InferenceError(
            f"relevance grades of '{name}' run from {low} to {high}; {problem} needs at least "
            f"two grades between 0 and {MAX_RELEVANCE}"
        )
    return LabelDecision(
        spec={"name": name, "kind": "relevance", "min": low, "max": high},
        codes=numbers,
        reason=f"relevance grades {low} to {high}",
    )


_READERS: dict[str, Callable[[pd.Series, pd.Series, str, str | None], LabelDecision]] = {
    "binary": _binary,
    "multiclass": _multiclass,
    "numeric": _numeric,
    "relevance": _relevance,
}


def _numbers_or_fail(column: pd.Series, problem: str) -> np.ndarray:
    numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers)
    if bad.any():
        examples = _preview(sorted({str(v) for v in column[bad].head(20)}))
        raise InferenceError(
            f"{problem} needs a numeric label, but '{column.name}' holds {int(bad.sum())} "
            f"value(s) that are not finite numbers ({examples})"
        )
    return numbers


def _distinct(texts: pd.Series) -> list[str]:
    """The distinct values, numbers in numeric order, else text order."""
    values = sorted({str(v) for v in texts.dropna().unique()})
    numbers = _as_numbers(values)
    if numbers is not None:
        return [v for _, v in sorted(zip(numbers, values, strict=True))]
    return values


def _as_numbers(values: list[str]) -> list[float] | None:
    try:
        return [float(v) for v in values]
    except ValueError:
        return None


def _same_number(value: str, other: str) -> bool:
    try:
        return math.isclose(float(value), float(other))
    except ValueError:
        return False


def _preview(values: list[str], limit: int = 6) -> str:
    shown = ", ".join(f"'{v}'" for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")
