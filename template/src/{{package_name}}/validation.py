"""The schema's row rules, written once and vectorised: what training, batch and serving accept.

`check_rows` applies every rule of `configs/schema.yaml` to a table (a pandas
frame, or columns as lists: serving's request rows) and returns the cleaned
feature columns plus, per row, the first rule it breaks. Each consumer decides
what a broken row means: training refuses the table (`validate_frame`, naming
the column, the count and the first row), batch scoring moves the row to a
rejects file, the service answers 422 naming the field.

Category values are compared in one canonical text form, so `1`, `1.0` and
`"1"` are the same category wherever they come from (`features.category_text`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .features import category_text
from .schema import FeatureSchema, FeatureSpec, LabelSpec, SchemaError, match_category

Column = Any  # a pandas Series, a numpy array or a list of values
MISSING_NOT_ALLOWED = "missing value, and the schema does not allow one"
# Rows shown per broken rule (`data check` prints them).
EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    """One rule broken in one column: how many rows break it, and the first few."""

    column: str
    problem: str
    rows: int
    examples: list[tuple[int, Any]]  # (row number from 0, value)


@dataclass(frozen=True)
class RowCheck:
    """The cleaned feature columns and each row's first problem (None when the row is fine).

    Numeric columns are float64 (NaN for missing), categorical columns hold the
    canonical category text (None for missing or unknown).
    """

    columns: dict[str, np.ndarray]
    problem_column: np.ndarray  # per row: the column of its first problem, or None
    problem: np.ndarray  # per row: what is wrong there, or None
    first_value: dict[str, tuple[int, Any, str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def good(self) -> np.ndarray:
        return np.asarray(pd.isna(self.problem), dtype=bool)

    @property
    def reasons(self) -> np.ndarray:
        """Per row: "column 'x': what is wrong", or None."""
        out = np.full(len(self.problem), None, dtype=object)
        bad = ~self.good
        out[bad] = [
            f"column '{c}': {p}"
            for c, p in zip(self.problem_column[bad], self.problem[bad], strict=True)
        ]
        return out


def check_rows(
    columns: Mapping[str, Column],
    schema: FeatureSchema,
    *,
    require_label: bool = False,
    require_time: bool = False,
) -> RowCheck:
    """Apply every feature rule (and the label's and time column's when asked) to each row."""
    needed = [*schema.feature_names]
    needed += [schema.label.name] if require_label else []
    needed += schema.time_columns if require_time else []
    missing = [name for name in needed if name not in columns]
    if missing:
        raise SchemaError(f"missing column(s) {missing}; the schema expects {needed}")
    rows = len(columns[schema.feature_names[0]])
    checker = _Checker(rows)
    passed = _numbers_that_pass(columns, schema)
    cleaned = {
        spec.name: passed[spec.name]
        if spec.name in passed
        else checker.feature(columns[spec.name], spec)
        for spec in schema.features
    }
    if require_label:
        checker.label(columns[schema.label.name], schema.label)
    if require_time and schema.time_column:
        checker.time(columns[schema.time_column], schema.time_column)
    return RowCheck(
        cleaned, checker.column, checker.problem, checker.first, checker.counts, checker.findings
    )


def validate_frame(frame: pd.DataFrame, schema: FeatureSchema, *, require_label: bool) -> None:
    """Raise `SchemaError` naming the first broken column, how many rows break it, and the first.

    Checks presence, type, missing values, ranges and categories of every
    feature, the time column and the group column, and the label when asked.
    """
    required = [*schema.input_columns, *([schema.label.name] if require_label else [])]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SchemaError(f"missing column(s) {missing}; the schema expects {required}")
    if frame.empty:
        raise SchemaError("the table has no rows")
    check = check_rows(frame, schema, require_label=require_label, require_time=True)
    if check.good.all():
        return
    name = next(iter(check.first_value))
    row, value, problem = check.first_value[name]
    raise SchemaError(
        f"column '{name}': {problem} in {check.counts[name]} row(s), the first at row {row} "
        f"(value {value!r})"
    )


def _numbers_that_pass(
    columns: Mapping[str, Column], schema: FeatureSchema
) -> dict[str, np.ndarray]:
    """The numeric columns that pass every numeric rule, checked all at once.

    The same rules as `_Checker.feature`, on a (features x rows) matrix: a
    one-row request costs a handful of numpy calls instead of a handful per
    feature. Columns that break a rule (or are not plain numbers) are left for
    `_Checker.feature`, which says which rule each row breaks.
    """
    names, low, high, required = _numeric_rules(schema)
    found = [_plain_numbers(columns[name]) for name in names]
    plain = {i: numbers[0] for i, numbers in enumerate(found) if numbers is not None}
    keep = list(plain)
    if not keep:
        return {}
    matrix = np.vstack([plain[i] for i in keep])
    with np.errstate(invalid="ignore"):
        bad = (matrix < low[keep, None]) | (matrix > high[keep, None]) | np.isinf(matrix)
    bad |= np.isnan(matrix) & required[keep, None]
    broken = bad.any(axis=1)
    return {names[i]: matrix[row] for row, i in enumerate(keep) if not broken[row]}


_RULES: dict[int, tuple[FeatureSchema, tuple[list[str], np.ndarray, np.ndarray, np.ndarray]]] = {}


def _numeric_rules(schema: FeatureSchema) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Per numeric feature: its name, lowest and highest value, whether a value is required.

    Built once per schema object (kept alive here, so its id is never reused).
    """
    cached = _RULES.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    if len(_RULES) > 64:  # tests load many configs; a service loads one
        _RULES.clear()
    specs = schema.numeric_features
    rules = (
        [s.name for s in specs],
        np.array([-np.inf if s.min is None else s.min for s in specs], dtype=np.float64),
        np.array([np.inf if s.max is None else s.max for s in specs], dtype=np.float64),
        np.array([not s.nullable for s in specs], dtype=bool),
    )
    _RULES[id(schema)] = (schema, rules)
    return rules


class _Checker:
    """Accumulates the first problem of each row, rule by rule."""

    def __init__(self, rows: int) -> None:
        self.column = np.full(rows, None, dtype=object)
        self.problem = np.full(rows, None, dtype=object)
        self.first: dict[str, tuple[int, Any, str]] = {}
        self.counts: dict[str, int] = {}
        self.findings: list[Finding] = []

    def flag(
        self, mask: np.ndarray, name: str, problem: str, values: Any, *, summary: str = ""
    ) -> None:
        """Mark rows in `mask` with `problem`; `summary` says it for the whole column."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        fresh = mask & pd.isna(self.problem)
        self.column[fresh], self.problem[fresh] = name, problem
        self.counts[name] = self.counts.get(name, 0) + int(mask.sum())
        rows = np.flatnonzero(mask)[:EXAMPLES]
        examples = [(int(row), _plain(_value_at(values, int(row)))) for row in rows]
        self.findings.append(Finding(name, summary or problem, int(mask.sum()), examples))
        if name not in self.first:
            row, value = examples[0]
            self.first[name] = (row, value, summary or problem)

    def feature(self, raw: Column, spec: FeatureSpec) -> np.ndarray:
        """The cleaned column; rows that break a rule are flagged, in the rules' order.

        Every rule is checked on the whole column at once, and the per-rule
        bookkeeping runs only when some row breaks one (a service request is
        usually one good row: this keeps its check to a few microseconds).
        """
        if spec.kind == "numeric":
            values, not_numbers, booleans = _numbers(raw)
            absent = np.isnan(values) & ~not_numbers & ~booleans
            infinite = np.isinf(values)
            below = values < spec.min if spec.min is not None else None
            above = values > spec.max if spec.max is not None else None
            bad = booleans | not_numbers | infinite
            for mask in (below, above, None if spec.nullable else absent):
                if mask is not None:
                    bad = bad | mask
            if bad.any():
                if not spec.nullable:
                    self.flag(absent, spec.name, MISSING_NOT_ALLOWED, raw)
                self.flag(booleans, spec.name, "expected a number, got a boolean", raw)
                self.flag(not_numbers, spec.name, "not a number", raw)
                self.flag(infinite, spec.name, "infinite value", raw)
                if below is not None:
                    self.flag(below, spec.name, f"below the minimum {spec.min:g}", raw)
                if above is not None:
                    self.flag(above, spec.name, f"above the maximum {spec.max:g}", raw)
                values = np.where(np.isfinite(values) & ~booleans, values, np.nan)
            return values
        given = _objects(raw)
        text = np.array([category_text(v, spec.categories) for v in given], dtype=object)
        absent = np.fromiter((_is_missing(v) for v in given), dtype=bool, count=len(given))
        unknown = np.fromiter((t is None for t in text), dtype=bool, count=len(text)) & ~absent
        if unknown.any() or (not spec.nullable and absent.any()):
            if not spec.nullable:
                self.flag(absent, spec.name, MISSING_NOT_ALLOWED, raw)
            allowed = f"allowed are {list(spec.categories)}"
            seen = sorted({str(_plain(v)) for v in np.asarray(given, dtype=object)[unknown]})
            summary = f"unknown categories {seen[:5]}; {allowed}"
            self.flag(unknown, spec.name, f"unknown category; {allowed}", raw, summary=summary)
        return text

    def label(self, raw: Column, label: LabelSpec) -> None:
        absent = _missing(raw)
        if not label.nullable:
            self.flag(absent, label.name, "missing label", raw)
        if label.classes:  # the data names the classes: check the names
            classes = set(label.classes)
            unknown = np.fromiter(
                (match_category(v, classes) is None for v in raw), dtype=bool, count=len(raw)
            )
            allowed = f"not one of the label classes {list(label.classes)}"
            self.flag(unknown & ~absent, label.name, allowed, raw)
            return
        values, not_numbers, _ = _numbers(raw)
        self.flag(not_numbers & ~absent, label.name, "the label is not a number", raw)
        low, high, whole = label.allowed_range()
        finite = np.isfinite(values)
        if low is not None:
            self.flag(finite & (values < low), label.name, f"below the minimum {low:g}", raw)
        if high is not None:
            self.flag(finite & (values > high), label.name, f"above the maximum {high:g}", raw)
        if whole:
            fractional = finite & (values != np.round(values))
            self.flag(fractional, label.name, "expected whole numbers", raw)

    def time(self, raw: Column, name: str) -> None:
        self.flag(_missing(raw), name, "the time column has missing values", raw)


def _value_at(values: Any, row: int) -> Any:
    return values.iloc[row] if isinstance(values, pd.Series) else values[row]


def _missing(raw: Column) -> np.ndarray:
    if isinstance(raw, pd.Series):
        return np.asarray(raw.isna(), dtype=bool)
    if isinstance(raw, np.ndarray) and raw.dtype.kind == "f":
        return np.isnan(raw)
    return np.fromiter((_is_missing(v) for v in raw), dtype=bool, count=len(raw))


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and value != value)


def _numbers(raw: Column) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Floats (NaN where missing or unreadable), the unreadable rows, the boolean rows.

    Lists of numbers and None (a service request) take a fast path without pandas.
    """
    if not isinstance(raw, pd.Series):
        fast = _plain_numbers(raw)
        if fast is not None:
            return fast
    series = raw if isinstance(raw, pd.Series) else pd.Series(list(raw), dtype="object")
    if pd.api.types.is_bool_dtype(series):
        return np.full(len(series), np.nan), np.zeros(len(series), bool), np.ones(len(series), bool)
    booleans = np.zeros(len(series), dtype=bool)
    if series.dtype == object:
        booleans = np.fromiter((isinstance(v, bool) for v in series), bool, len(series))
    numbers = pd.to_numeric(series, errors="coerce")
    values = np.array(numbers.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    values[booleans] = np.nan
    not_numbers = np.isnan(values) & ~np.asarray(series.isna(), dtype=bool) & ~booleans
    return values, not_numbers, booleans


def _plain_numbers(
    raw: Sequence[Any] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """`_numbers` for a list holding only numbers and None; None for anything else."""
    if isinstance(raw, np.ndarray) and raw.dtype.kind in "fiu":
        values = raw.astype(np.float64)
    else:
        if any(isinstance(v, bool | str) for v in raw):
            return None
        try:
            values = np.array([np.nan if v is None else v for v in raw], dtype=np.float64)
        except (TypeError, ValueError):
            return None
    nothing = np.zeros(len(values), dtype=bool)
    return values, nothing, nothing


def _objects(raw: Column) -> Sequence[Any] | np.ndarray:
    if isinstance(raw, pd.Series):
        return raw.astype("object").where(raw.notna(), None).to_numpy()
    return raw


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
