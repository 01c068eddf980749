"""Column profiles: what the drift statistics need from a table, computed once.

A numeric profile keeps the sorted finite values (the statistics then never
sort the reference again); a categorical profile keeps counts per category.
Both count missing and infinite values separately, because a feature that
stops arriving is drift too. Column kinds come from the feature schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..schema import canonical_text

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
    """A category as text, in the schema's one form (`schema.canonical_text`): 1 and 1.0 are "1"."""
    return canonical_text(value) or ""


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
