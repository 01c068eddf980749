"""`monitor drift`: the current window against the reference, judged and reported.

By default the reference is the promoted model's `reference.parquet` (training
rows and the model's predictions on them, saved with the model) and the
current window is the newest rows of the prediction log. `--reference` and
`--current` replace either; given both, any two tables with shared columns
can be compared, their column types inferred from the data.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import ProjectConfig
from .compare import ColumnResult, compare_profiles, share_drifted
from .performance import PerformanceResult, performance_drift
from .profile import Kind, infer_kinds, profile_column, profile_frame
from .results import PREDICTION, DriftReport

LOG_COLUMNS = ("model_version", "logged_at", "request_id")


class DriftCheckError(ValueError):
    """The check cannot run: no reference, an empty window, nothing comparable."""


def run_drift_check(
    config: ProjectConfig,
    *,
    reference: Path | None = None,
    current: Path | None = None,
    write: bool = True,
) -> DriftReport:
    """Compare, judge, write reports/drift.json and drift.html (when `write`)."""
    if reference is not None and current is not None:
        sources = (str(reference), str(current))
        report = compare_frames(_read(reference), _read(current), config, sources=sources)
    else:
        report = _check_project(config, reference=reference, current=current)
    if write:
        from .report import write_reports

        write_reports(report, config.reports_dir)
    return report


def compare_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    config: ProjectConfig,
    *,
    kinds: dict[str, Kind] | None = None,
    sources: tuple[str, str] = ("reference", "current"),
    model_version: str | None = None,
    performance: PerformanceResult | None = None,
    overrides: dict[str, pd.Series] | None = None,
    reference_overrides: dict[str, pd.Series] | None = None,
    notes: dict[str, str] | None = None,
) -> DriftReport:
    """Judge two frames; `kinds` (name -> kind) fixes the columns, else they are inferred.

    `overrides` and `reference_overrides` replace a column of the current or
    reference frame by other values (the prediction column counts only the
    rows the reference's model scored; a query-level feature one row per
    query); `notes` adds a sentence per column to its result's message.
    """
    settings = config.monitoring
    for label, frame in zip(("reference", "current"), (reference, current), strict=True):
        if len(frame) == 0:
            raise DriftCheckError(
                f"the {label} table ({sources[label == 'current']}) has no "
                "rows; there is nothing to compare"
            )
    ignored: dict[str, str] = {}
    if kinds is None:
        ref_kinds, cur_kinds, ignored = infer_kinds(reference, current)
    else:
        ref_kinds = cur_kinds = kinds
        ignored = {str(c): "not a monitored column" for c in current.columns if c not in kinds}
    shared = set(ref_kinds) & set(cur_kinds) & set(reference.columns) & set(current.columns)
    if not shared:
        raise DriftCheckError(
            f"the reference and current tables share no comparable columns (reference: "
            f"{sorted(map(str, reference.columns))[:10]}, current: "
            f"{sorted(map(str, current.columns))[:10]})"
        )
    ref_profiles = profile_frame(reference, ref_kinds)
    cur_profiles = profile_frame(current, cur_kinds)
    for profiles, kinds_of_side, replaced in (
        (ref_profiles, ref_kinds, reference_overrides),
        (cur_profiles, cur_kinds, overrides),
    ):
        for name, column in (replaced or {}).items():
            if name in kinds_of_side:
                profiles[name] = profile_column(column.rename(name), kinds_of_side[name])
    results = compare_profiles(ref_profiles, cur_profiles, settings)
    results = [_with_note(r, (notes or {}).get(r.name)) for r in results]
    share = share_drifted(results)
    if math.isnan(share):
        reasons = "; ".join(f"{r.name}: {r.status} ({r.message})" for r in results[:5])
        raise DriftCheckError(f"no column could be judged: {reasons}")
    return DriftReport(
        columns=results,
        share_drifted=share,
        dataset_drift=share >= settings.drift_share,
        drift_share=settings.drift_share,
        n_reference=len(reference),
        n_current=len(current),
        reference_source=sources[0],
        current_source=sources[1],
        model_version=model_version,
        performance=performance,
        ignored_columns=ignored,
        profiles=(ref_profiles, cur_profiles),
    )


def _with_note(result: ColumnResult, note: str | None) -> ColumnResult:
    if not note:
        return result
    return replace(result, message=f"{result.message}; {note}" if result.message else note)


def _one_row_per_query(
    frame: pd.DataFrame, group: str | None, columns: list[str]
) -> dict[str, pd.Series]:
    """Query-level columns with one value per query; {} when the query ids are unknown."""
    if not group or group not in frame.columns or not columns:
        return {}
    first = frame.drop_duplicates(subset=[group])
    return {name: first[name].reset_index(drop=True) for name in columns if name in first}


def _check_project(
    config: ProjectConfig, *, reference: Path | None, current: Path | None
) -> DriftReport:
    """The project's own check: schema kinds, the model's reference, the prediction log."""
    from ..registry import LoadedModel, ModelRegistry, RegistryError

    schema = config.feature_schema
    model: LoadedModel | None = None
    try:
        model = ModelRegistry(config).load()
    except RegistryError as error:
        if reference is None:
            raise DriftCheckError(f"no reference profile: {error} (or pass --reference)") from None
    if reference is None:
        assert model is not None
        if not model.reference_path.is_file():
            raise DriftCheckError(
                f"model {model.version} has no {model.reference_path.name}; "
                "retrain it or pass --reference"
            )
        ref_frame = pd.read_parquet(model.reference_path)
        ref_source = f"model {model.version} reference sample"
    else:
        ref_frame, ref_source = _read(reference), str(reference)
    if current is None:
        from ..predlog import read_prediction_log

        cur_frame = read_prediction_log(config, limit=config.monitoring.window_rows)
        cur_source = f"prediction log, newest {config.monitoring.window_rows} rows"
        if cur_frame.empty:
            raise DriftCheckError(
                f"the current window is empty: the prediction log {config.prediction_log_path} "
                "has no rows yet; score data first (batch score or serve) or pass --current"
            )
    else:
        cur_frame, cur_source = _read(current), str(current)
        if PREDICTION not in cur_frame.columns and model is not None:
            cur_frame = _with_predictions(cur_frame, model, config)
    kinds: dict[str, Kind] = {spec.name: spec.kind for spec in schema.features}
    kinds[PREDICTION] = config.problem_type.prediction_kind
    version = model.version if model is not None and reference is None else None
    notes: dict[str, str] = {}
    overrides = _one_row_per_query(cur_frame, schema.group_column, schema.query_level_names)
    reference_overrides = _one_row_per_query(
        ref_frame, schema.group_column, schema.query_level_names
    )
    for name in set(overrides) & set(reference_overrides):
        notes[name] = (
            f"judged once per query ({len(reference_overrides[name])} reference, "
            f"{len(overrides[name])} current queries)"
        )
    for name in set(overrides) ^ set(reference_overrides):  # one side without query ids
        overrides.pop(name, None)
        reference_overrides.pop(name, None)
    if version is not None and {"model_version", PREDICTION} <= set(cur_frame.columns):
        scored = cur_frame.loc[cur_frame["model_version"] == version, PREDICTION]
        overrides[PREDICTION] = scored
        notes[PREDICTION] = f"only the {len(scored)} logged rows scored by model {version} count"
    return compare_frames(
        ref_frame,
        cur_frame,
        config,
        kinds=kinds,
        sources=(ref_source, cur_source),
        model_version=version,
        performance=performance_drift(cur_frame, config, model),
        overrides=overrides,
        reference_overrides=reference_overrides,
        notes=notes,
    )


def _with_predictions(frame: pd.DataFrame, model: Any, config: ProjectConfig) -> pd.DataFrame:
    """Add the model's predictions to a feature table, when its features allow it."""
    from ..features import encode_frame

    try:
        predictions = model.predict(encode_frame(frame, config.feature_schema))
    except (KeyError, ValueError):
        return frame  # features missing or unreadable: their own statuses say so
    if predictions.ndim == 2:
        predictions = predictions.argmax(axis=1).astype(float)
    return frame.assign(**{PREDICTION: predictions})


def _read(path: Path) -> pd.DataFrame:
    from ..tables import DataError, read_table

    try:
        return read_table(Path(path))
    except DataError as error:
        raise DriftCheckError(str(error)) from None
