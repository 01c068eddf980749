"""Deciding a feature schema from a team's table, column by column, with a reason for each.

`data infer` calls `infer_schema` on the table a team brings. The label is
read for the project's problem type (its `label_kind`), the time and query
columns are checked, and every other column becomes a numeric or
categorical feature, an id, or is left out with a one-line reason
(columns.py). Features that give the label away are dropped as
leakage suspects (leakage.py). Guesses a person should check are collected
for review, and a release threshold is proposed when the metric is in the
label's unit (threshold.py). Nothing here writes a file: adopt.py does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ..schema import FeatureSchema
from .columns import ColumnDecision, InferenceError, decide_column
from .dates import detect_date_format
from .label import decide_label, unlabelled
from .leakage import leakage_reason
from .threshold import ThresholdProposal, propose_threshold

if TYPE_CHECKING:
    from ..problems import ProblemType

__all__ = ["ColumnDecision", "Inference", "InferenceError", "ThresholdProposal", "infer_schema"]

# Distinct counts, uniqueness and leakage are judged on at most this many rows
# (drawn with a fixed seed); ranges, missing values and categories use every row.
PROFILE_ROWS = 200_000
PROFILE_SEED = 0
# The label column a table without labels gets in the schema (filled as labels arrive).
UNLABELLED_NAME = "anomaly"


@dataclass(frozen=True)
class Inference:
    """The inferred schema (a plain dict `FeatureSchema` accepts) and how it was decided."""

    schema: dict[str, Any]
    columns: tuple[ColumnDecision, ...]
    review: tuple[str, ...]
    threshold: ThresholdProposal | None
    n_classes: int | None  # multiclass: the class count, for problem.n_classes
    rows: int
    profiled_rows: int
    labelled_rows: int = 0  # rows whose label is known

    @property
    def dropped(self) -> tuple[ColumnDecision, ...]:
        return tuple(column for column in self.columns if not column.kept)

    def decision(self, name: str) -> ColumnDecision:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


def infer_schema(
    frame: pd.DataFrame,
    *,
    problem_type: ProblemType,
    label: str | None,
    time: str | None = None,
    query: str | None = None,
    ids: Sequence[str] = (),
    positive: str | None = None,
    metric: str | None = None,
    profile_rows: int = PROFILE_ROWS,
) -> Inference:
    """Decide the schema of `frame` for `problem_type` (the project's `config.problem_type`).

    `metric` is the primary metric; when its value is in the label's unit,
    a threshold is proposed from the baseline. Raises `InferenceError` with
    a sentence when the table cannot become a valid schema. `label` None:
    a table without labels, for a problem type that learns without them.
    """
    _check_columns(frame, label=label, time=time, query=query, ids=ids, problem_type=problem_type)
    positions = _profile_positions(len(frame), profile_rows)
    sample = frame.iloc[positions]
    decided: dict[str, ColumnDecision] = {}
    if label is None:
        target = unlabelled(_free_name(UNLABELLED_NAME, frame), len(frame))
    else:
        target = decide_label(
            frame[label],
            label_kind=problem_type.label_kind,
            problem=problem_type.name,
            positive=positive,
            partial=problem_type.labels_optional,
        )
        decided[label] = ColumnDecision(label, "label", target.reason)
    schema: dict[str, Any] = {"time_column": time}
    if time:
        decided[time], schema["time_format"] = _time_column(frame[time])
    if query:
        decided[query] = _query_column(frame, query, time)
        schema["group_column"] = query
    for name in ids:
        decided[name] = ColumnDecision(name, "id", "identifier (given with --id)")
    sample_codes = target.codes[positions]
    for name in frame.columns:
        if name not in decided:
            decision = decide_column(frame[name], sample[name])
            decided[name] = _unless_leaking(decision, sample[name], sample_codes, problem_type)
    if query:
        decided.update(_query_level(frame, query, decided))
    columns = tuple(decided[name] for name in frame.columns)
    schema |= {
        "id_columns": [c.name for c in columns if c.decision == "id"],
        "label": target.spec,
        "features": [c.feature for c in columns if c.feature is not None],
    }
    validated = _validated(schema, columns)
    proposal = None
    if metric:
        proposal = propose_threshold(
            frame, validated, problem_type, metric=metric, labels=target.codes
        )
    return Inference(
        schema=schema,
        columns=columns,
        review=_review(columns, time, proposal),
        threshold=proposal,
        n_classes=target.n_classes,
        rows=len(frame),
        profiled_rows=len(positions),
        labelled_rows=int(np.count_nonzero(~np.isnan(np.asarray(target.codes, dtype=float)))),
    )


def _free_name(name: str, frame: pd.DataFrame) -> str:
    """`name`, or `name_1`, `name_2`...: the first that is not a column of `frame`."""
    taken, candidate, n = {str(c) for c in frame.columns}, name, 0
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def _check_columns(
    frame: pd.DataFrame,
    *,
    label: str | None,
    time: str | None,
    query: str | None,
    ids: Sequence[str],
    problem_type: ProblemType,
) -> None:
    """Every named column exists, none is named twice, and the query fits the problem type."""
    if label is None and not problem_type.labels_optional:
        raise InferenceError(f"{problem_type.name} needs --label COLUMN: the column to predict")
    names = [str(name) for name in frame.columns]
    if names != list(frame.columns) or len(set(names)) != len(names):
        raise InferenceError("the table's column names must be distinct text")
    roles: dict[str, list[str | None]] = {
        "--label": [label],
        "--time": [time],
        "--query": [query],
        "--id": list(ids),
    }
    for option, given in roles.items():
        for name in given:
            if name is not None and name not in frame.columns:
                raise InferenceError(
                    f"{option} {name!r} is not a column of the table; its columns are {names[:20]}"
                )
    chosen = [name for given in roles.values() for name in given if name is not None]
    twice = sorted({name for name in chosen if chosen.count(name) > 1})
    if twice:
        raise InferenceError(f"column(s) {twice} given for two roles (label, time, query, id)")
    if problem_type.grouped and not query:
        raise InferenceError(
            f"{problem_type.name} needs --query COLUMN: the column that says which rows are "
            "the candidates of one request"
        )
    if query and not problem_type.grouped:
        raise InferenceError(f"--query is for ranking; {problem_type.name} has no query groups")


def _profile_positions(rows: int, limit: int) -> np.ndarray:
    """Row positions to profile: all rows, or `limit` of them drawn with a fixed seed."""
    if rows <= limit:
        return np.arange(rows)
    return np.sort(np.random.default_rng(PROFILE_SEED).choice(rows, size=limit, replace=False))


def _time_column(column: pd.Series) -> tuple[ColumnDecision, str | None]:
    """The time column's decision and `time_format`; its values must all read as dates."""
    name = str(column.name)
    missing = int(column.isna().sum())
    if missing:
        raise InferenceError(
            f"the time column '{name}' is missing in {missing} of {len(column)} rows; every "
            "row needs a time (or leave out --time for a random split)"
        )
    found = detect_date_format(column)
    if found is None:
        examples = ", ".join(repr(str(v)) for v in column.head(3))
        raise InferenceError(
            f"cannot read the --time column '{name}' as dates (values such as {examples}); "
            "accepted are ISO 8601 (2024-01-31, 2024-01-31T08:00:00), day or month first "
            "(31/01/2024, 01/31/2024, 31.01.2024) and year first, each with an optional time"
        )
    times = pd.to_datetime(column, utc=True, format=found.format)
    written = found.format or "ISO 8601"
    reason = f"time column ({written}) from {times.min():%Y-%m-%d} to {times.max():%Y-%m-%d}"
    note = found.note
    if not note and found.format and found.format.startswith("%d"):
        note = f"day-first dates ('{found.format}'): values with a day above 12 appear"
    review = f"'{name}': {note}" if note else None
    return ColumnDecision(name, "time", reason, review=review), found.format


def _query_column(frame: pd.DataFrame, query: str, time: str | None) -> ColumnDecision:
    column = frame[query]
    if column.isna().any():
        raise InferenceError(f"the query column '{query}' is missing in some rows")
    if time and (frame.groupby(query, sort=False)[time].nunique() > 1).any():
        raise InferenceError(
            f"the time column '{time}' varies within a query of '{query}'; the candidates of "
            "one request share its time: give every row of a query the request's time"
        )
    sizes = column.value_counts()
    return ColumnDecision(
        query, "query", f"query id: {len(sizes):,} queries, {sizes.mean():.1f} rows each"
    )


def _unless_leaking(
    decision: ColumnDecision, sample: pd.Series, codes: np.ndarray, problem_type: ProblemType
) -> ColumnDecision:
    """The decision, or 'leakage suspect' when the feature alone gives the label away."""
    labelled = ~np.isnan(codes) if codes.dtype.kind == "f" else np.ones(len(codes), bool)
    if decision.feature is None or labelled.sum() < 2:
        return decision
    sample, codes = sample[labelled], codes[labelled]
    categorical = decision.feature["kind"] == "categorical"
    values = sample.map(_category_or_missing) if categorical else sample
    why = leakage_reason(values, codes, label_kind=problem_type.label_kind, categorical=categorical)
    if why is None:
        return decision
    review = (
        f"LEAKAGE SUSPECT '{decision.name}': {why}. Dropped; if it is truly known when a "
        "prediction is made, add it back to configs/schema.yaml"
    )
    return ColumnDecision(decision.name, "leakage suspect", why, review=review)


def _category_or_missing(value: Any) -> Any:
    return None if pd.isna(value) else str(value)


def _query_level(
    frame: pd.DataFrame, query: str, decided: dict[str, ColumnDecision]
) -> dict[str, ColumnDecision]:
    """Features that never vary within a query get `level: query` (drift counts them once)."""
    if frame[query].value_counts().max() < 2:
        return {}
    groups = frame.groupby(query, sort=False)
    shared: dict[str, ColumnDecision] = {}
    for name, decision in decided.items():
        if decision.feature is None:
            continue
        if int(groups[name].nunique(dropna=False).max()) == 1:
            feature = {**decision.feature, "level": "query"}
            reason = f"{decision.reason}; the same within every query"
            shared[name] = replace(decision, feature=feature, reason=reason)
    return shared


def _validated(schema: dict[str, Any], columns: tuple[ColumnDecision, ...]) -> FeatureSchema:
    if not schema["features"]:
        left_out = ", ".join(f"{c.name} ({c.decision})" for c in columns if not c.kept)
        raise InferenceError(f"no column can be a feature; left out: {left_out or 'none'}")
    try:
        return FeatureSchema.model_validate(schema)
    except ValidationError as error:
        raise InferenceError(f"the inferred schema does not validate: {error}") from None


def _review(
    columns: tuple[ColumnDecision, ...], time: str | None, proposal: ThresholdProposal | None
) -> tuple[str, ...]:
    """What a person should check before training, the loudest first."""
    notes = [c.review for c in columns if c.review and c.decision == "leakage suspect"]
    notes += [c.review for c in columns if c.review and c.decision != "leakage suspect"]
    if not time:
        dates = [c.name for c in columns if c.decision == "date"]
        hint = f"; '{dates[0]}' looks like one: pass --time {dates[0]}" if dates else ""
        notes.append(
            "no --time: rows are split at random (seeded), so the test split is not the "
            f"future{hint}"
        )
    left_out = [c for c in columns if not c.kept and c.decision != "leakage suspect"]
    if left_out:
        listed = ", ".join(f"'{c.name}' ({c.decision})" for c in left_out)
        notes.append(f"left out of the features: {listed}")
    if proposal:
        notes.append(
            f"metric.threshold set to {proposal.value:g} ({proposal.metric}): {proposal.reason}"
        )
    return tuple(notes)
