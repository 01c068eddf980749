"""Column profiles: what the drift statistics need from a table, computed once.

A numeric profile keeps the sorted finite values (the statistics then never
sort the reference again); a categorical profile keeps counts per category.
Both count missing and infinite values separately, because a feature that
stops arriving is drift too. Column kinds come from the feature schema, or are
inferred from the data for arbitrary tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Kind = Literal["numeric", "categorical"]
OTHER = "(other)"


@dataclass(frozen=True)
class NumericProfile:
    """Sorted finite values of a numeric column, plus its row and invalid counts."""

    name: str
    values: np.ndarray
    n_rows: int
    n_invalid: int
    kind: Kind = "numeric"

    @property
    def n_valid(self) -> int:
        return int(self.values.size)

    @property
    def invalid_share(self) -> float:
        return self.n_invalid / self.n_rows if self.n_rows else 0.0


@dataclass(frozen=True)
class CategoricalProfile:
    """Counts per category (as text) of a categorical column, plus missing values."""

    name: str
    counts: dict[str, int]
    n_rows: int
    n_invalid: int
    kind: Kind = "categorical"

    @property
    def n_valid(self) -> int:
        return int(sum(self.counts.values()))

    @property
    def invalid_share(self) -> float:
        return self.n_invalid / self.n_rows if self.n_rows else 0.0


ColumnProfile = NumericProfile | CategoricalProfile


def infer_kind(column: pd.Series) -> Kind | None:
    """numeric for number columns, categorical for text, booleans and categories.

    None for columns no drift statistic applies to (dates and times, which
    always move forward, and nested values).
    """
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return None
    sample = column.dropna().head(1000)
    if any(isinstance(value, dict | list | tuple | np.ndarray) for value in sample):
        return None
    return "categorical"


def infer_kinds(
    reference: pd.DataFrame, current: pd.DataFrame
) -> tuple[dict[str, Kind], dict[str, Kind], dict[str, str]]:
    """Kinds of two arbitrary tables, per side; columns no statistic suits go to `ignored`.

    A column empty on one side takes the other side's kind; dates and
    identifier-like text columns are ignored with the reason.
    """
    ref_kinds: dict[str, Kind] = {}
    cur_kinds: dict[str, Kind] = {}
    ignored: dict[str, str] = {}
    names = [*map(str, reference.columns)]
    names += [str(c) for c in current.columns if str(c) not in names]
    for name in names:
        ref_col = reference[name] if name in reference.columns else None
        cur_col = current[name] if name in current.columns else None
        present = [c for c in (ref_col, cur_col) if c is not None and c.notna().any()]
        found = [infer_kind(c) for c in present]
        kinds = sorted(kind for kind in found if kind is not None)
        if len(kinds) < len(found):
            ignored[name] = "dates, times or nested values: no drift statistic applies"
            continue
        if any(_looks_like_identifier(c) for c in present):
            ignored[name] = "looks like an identifier (almost every value is unique)"
            continue
        fallback: Kind = kinds[0] if kinds else "numeric"
        for column, target in ((ref_col, ref_kinds), (cur_col, cur_kinds)):
            if column is not None:
                own = infer_kind(column) if column.notna().any() else None
                target[name] = own or fallback
    return ref_kinds, cur_kinds, ignored


def _looks_like_identifier(column: pd.Series) -> bool:
    if infer_kind(column) != "categorical":
        return False
    values = column.dropna()
    return len(values) >= 50 and values.nunique() > 0.9 * len(values)


def profile_column(column: pd.Series, kind: Kind) -> ColumnProfile:
    """The profile of one column read as `kind` (text in a numeric column is invalid)."""
    name = str(column.name)
    if kind == "numeric":
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        finite.sort()
        return NumericProfile(name, finite, len(values), int(len(values) - finite.size))
    counts: dict[str, int] = {}
    for value, count in column.value_counts(dropna=True, sort=False).items():
        label = category_label(value)
        counts[label] = counts.get(label, 0) + int(count)
    n_valid = sum(counts.values())
    return CategoricalProfile(name, counts, len(column), len(column) - n_valid)


def category_label(value: object) -> str:
    """A category as text; 1, 1.0 and "1" are the same category."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def profile_frame(
    frame: pd.DataFrame, kinds: Mapping[str, Kind], *, threads: int | None = None
) -> dict[str, ColumnProfile]:
    """Profiles of the columns named in `kinds` that `frame` has, computed in parallel.

    Sorting releases the GIL, so columns profile side by side on `threads`
    threads (default: the CPU count).
    """
    names = [name for name in kinds if name in frame.columns]
    workers = max(1, min(len(names), threads or _cpu_count()))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        profiles = pool.map(lambda name: profile_column(frame[name], kinds[name]), names)
        return dict(zip(names, profiles, strict=True))


def aligned_counts(
    reference: CategoricalProfile, current: CategoricalProfile, *, max_categories: int
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Counts of both profiles on one list of categories.

    Categories are ordered by reference count; beyond `max_categories` the
    rarest are pooled into "(other)" (an id-like column stays cheap to test).
    """
    names = sorted(
        set(reference.counts) | set(current.counts),
        key=lambda c: (-reference.counts.get(c, 0), -current.counts.get(c, 0), c),
    )
    ref = np.array([reference.counts.get(c, 0) for c in names], dtype=float)
    cur = np.array([current.counts.get(c, 0) for c in names], dtype=float)
    if len(names) > max_categories:
        keep = max_categories - 1
        names = [*names[:keep], OTHER]
        ref = np.append(ref[:keep], ref[keep:].sum())
        cur = np.append(cur[:keep], cur[keep:].sum())
    return names, ref, cur


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
