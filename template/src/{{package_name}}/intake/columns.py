"""What one column of a team's table is: a numeric or categorical feature, an id, or dropped.

The rules are the ones a careful person applies when reading a table for
the first time, written down so every project applies them the same way:
few distinct values are categories (also when they are coded as numbers),
unique values with an id-like name are identifiers, long varied text is
free text, a date is not a feature by itself. Distinct counts come from a
bounded sample of rows; ranges, missing values and categories from every row.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..schema import canonical_text
from .dates import detect_date_format

# Text with at most this many distinct values (and well below the row count) is categorical.
MAX_CATEGORIES = 50
# A category needs about this many rows on average to be worth learning.
ROWS_PER_CATEGORY = 5
# Whole numbers with at most this many distinct values are coded categories (1 = male, ...).
MAX_CODES = 10
# Text longer than this on average is free text, not a category or an id.
FREE_TEXT_CHARACTERS = 30
# Short text this unique is an identifier even without an id-like name.
ID_UNIQUE_SHARE = 0.95
# Ranges are widened by this share of their span, so a slightly larger value is no error.
RANGE_MARGIN = 0.1
KEPT = frozenset({"numeric", "categorical", "time", "id", "label", "query"})
_ID_NAME = re.compile(
    r"(?i:^(id|uuid|guid|key|index)$|[_\s.-](id|uuid|guid|key)$|^id[_\s.-])|[a-z0-9](Id|ID)$"
    r"|^Unnamed: \d+$"
)


class InferenceError(ValueError):
    """The table cannot become a schema for this project; the message says why."""


@dataclass(frozen=True)
class ColumnDecision:
    """What a column is, in one word, and why, in one line.

    `decision` is what the schema does with it (numeric, categorical, time,
    id, label, query) or why it is left out (free text, constant, empty,
    date, leakage suspect, many categories, unusable).
    """

    name: str
    decision: str
    reason: str
    feature: dict[str, Any] | None = None  # the schema's `features:` entry
    review: str | None = None  # a sentence for the list of things to check

    @property
    def kept(self) -> bool:
        return self.decision in KEPT


def decide_column(column: pd.Series, sample: pd.Series) -> ColumnDecision:
    """The decision for a column that is not the label, time, query or a given id.

    `sample` is the same column on the profiled rows (all rows for small tables).
    """
    name = str(column.name)
    missing = int(column.isna().sum())
    if missing == len(column):
        return ColumnDecision(name, "empty", "every value is missing")
    if pd.api.types.is_bool_dtype(column) or _all_booleans(sample):
        return _categorical(column, "true/false values")
    if pd.api.types.is_datetime64_any_dtype(column):
        return _date(name)
    if pd.api.types.is_numeric_dtype(column):
        return _numeric(column, sample)
    return _text(column, sample)


def margin_range(low: float, high: float) -> tuple[float, float]:
    """`low`..`high` widened by `RANGE_MARGIN` of the span, rounded outwards.

    A range that does not cross zero in the data does not cross it after
    widening either: counts stay non-negative.

    >>> margin_range(3.0, 240.0)
    (0, 270)
    """
    pad = RANGE_MARGIN * (high - low) or RANGE_MARGIN * max(abs(low), 1.0)
    wide_low, wide_high = low - pad, high + pad
    if low >= 0:
        wide_low = max(wide_low, 0.0)
    if high <= 0:
        wide_high = min(wide_high, 0.0)
    step = 10.0 ** math.floor(math.log10(pad))
    digits = max(0, -math.floor(math.log10(step)))
    rounded = (
        round(math.floor(wide_low / step) * step, digits),
        round(math.ceil(wide_high / step) * step, digits),
    )
    return _tidy(rounded[0]), _tidy(rounded[1])


def is_id_name(name: str) -> bool:
    """`id`, `customer_id`, `customerId`, `uuid`, `Unnamed: 0` (a saved index) ..."""
    return bool(_ID_NAME.search(name))


def category_names(column: pd.Series) -> list[str]:
    """The distinct values as category text, numbers in numeric order."""
    texts = {canonical_text(v) for v in column.dropna().unique()}
    names = sorted(t for t in texts if t is not None)
    try:
        return sorted(names, key=float)
    except ValueError:
        return names


def _numeric(column: pd.Series, sample: pd.Series) -> ColumnDecision:
    name = str(column.name)
    values = column.to_numpy(dtype=float, na_value=np.nan)
    absent = np.isnan(values)
    infinite = int(np.isinf(values).sum())
    if infinite:
        return ColumnDecision(
            name, "unusable", f"{infinite} infinite value(s); replace them to use the column"
        )
    present = values[~absent]
    low, high = float(present.min()), float(present.max())
    if low == high:
        return _constant(name, canonical_text(low), int(absent.sum()))
    whole = bool(np.all(present == np.round(present)))
    distinct = int(sample.nunique())
    if whole and is_id_name(name) and not absent.any() and sample.is_unique:
        return _identifier(name, f"whole numbers, unique per row, and an id-like name '{name}'")
    if whole and distinct <= MAX_CODES:
        decision = _categorical(column, f"whole numbers with {distinct} distinct values")
        codes = ", ".join(decision.feature["categories"][:MAX_CODES]) if decision.feature else ""
        review = (
            f"'{name}' holds the codes {codes}, read as categories; if it is a count or a "
            "score whose size matters, make it `kind: numeric` with a min and max"
        )
        return ColumnDecision(name, decision.decision, decision.reason, decision.feature, review)
    wide_low, wide_high = margin_range(low, high)
    feature = {
        "name": name,
        "kind": "numeric",
        "min": wide_low,
        "max": wide_high,
        "nullable": bool(absent.any()),
    }
    reason = f"numbers from {low:g} to {high:g}{_missing_note(int(absent.sum()), len(values))}"
    return ColumnDecision(name, "numeric", reason, feature)


def _text(column: pd.Series, sample: pd.Series) -> ColumnDecision:
    name = str(column.name)
    present = sample.dropna()
    texts = present.map(canonical_text).astype(str)
    distinct = int(texts.nunique())
    if distinct <= 1 and column.dropna().map(canonical_text).nunique() <= 1:
        return _constant(name, texts.iloc[0] if len(texts) else None, int(column.isna().sum()))
    if detect_date_format(present) is not None:
        return _date(name)
    unique = distinct == len(texts)
    if is_id_name(name) and unique and not column.isna().any():
        return _identifier(name, f"unique per row, and an id-like name '{name}'")
    if distinct <= MAX_CATEGORIES and distinct * ROWS_PER_CATEGORY <= max(len(texts), 10):
        return _categorical(column, f"text with {distinct} distinct values")
    mean_length = float(texts.str.len().mean())
    if mean_length > FREE_TEXT_CHARACTERS:
        return ColumnDecision(
            name,
            "free text",
            f"{distinct:,} distinct values, {mean_length:.0f} characters on average: turn it "
            "into features yourself",
        )
    if distinct >= ID_UNIQUE_SHARE * len(texts):
        return _identifier(name, f"short text, {distinct / len(texts):.0%} of the values unique")
    numbers = pd.to_numeric(present, errors="coerce")
    if numbers.notna().mean() >= 0.9:
        odd = sorted({str(v) for v in present[numbers.isna()].head(50)})[:3]
        return ColumnDecision(
            name,
            "unusable",
            f"numbers written with text among them ({', '.join(map(repr, odd))}); make those "
            "blank to use the column as a number",
        )
    return ColumnDecision(
        name,
        "many categories",
        f"text with {distinct:,} distinct values: too many for a category (at most "
        f"{MAX_CATEGORIES}); group rare values yourself to use it",
    )


def _categorical(column: pd.Series, what: str) -> ColumnDecision:
    name = str(column.name)
    categories = category_names(column)
    missing = int(column.isna().sum())
    feature = {
        "name": name,
        "kind": "categorical",
        "categories": categories,
        "nullable": bool(missing),
    }
    reason = f"{what}: {len(categories)} categories{_missing_note(missing, len(column))}"
    return ColumnDecision(name, "categorical", reason, feature)


def _identifier(name: str, why: str) -> ColumnDecision:
    review = f"'{name}' looks like an identifier ({why}): kept as an id column, not a feature"
    return ColumnDecision(name, "id", f"identifier: {why}", review=review)


def _constant(name: str, value: str | None, missing: int) -> ColumnDecision:
    blanks = f", blank in {missing} row(s)" if missing else ""
    return ColumnDecision(name, "constant", f"one value ({value!r}) in every row{blanks}")


def _date(name: str) -> ColumnDecision:
    return ColumnDecision(name, "date", "a date (not a feature; derive features from it yourself)")


def _all_booleans(sample: pd.Series) -> bool:
    present = sample.dropna()
    return (
        pd.api.types.is_object_dtype(sample)
        and len(present) > 0
        and all(isinstance(v, bool | np.bool_) for v in present)
    )


def _missing_note(missing: int, rows: int) -> str:
    return f", missing in {missing / rows:.1%} of rows" if missing else ""


def _tidy(value: float) -> float | int:
    """Whole numbers as ints, so the schema reads `max: 270`, not `max: 270.0`."""
    return int(value) if float(value).is_integer() else value
