"""`monitor drift`: the current window against the reference, judged and reported.

By default the reference is the promoted model's `reference.parquet` (training
rows and the model's predictions on them, saved with the model) and the
current window is the newest rows of the prediction log, of every source but
the latency bench's load (`--log-source` chooses others). `--reference` and
`--current` replace either. Given both, the two files are judged on the
feature schema alone: its features, with the schema's kinds, plus the
prediction column when both files have it; the label, the time and group
columns and anything else are listed as ignored. A file without one of the
schema's features is an error, never "no drift".
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import ProjectConfig
from ..schema import FeatureSchema
from .compare import ColumnResult, compare_profiles, share_drifted
from .performance import PerformanceResult, performance_drift
from .profile import Kind, profile_column, profile_frame
from .results import PREDICTION, DriftReport

LOG_COLUMNS = ("model_version", "logged_at", "request_id", "source")  # the prediction log's own


class DriftCheckError(ValueError):
    """The check cannot run: no reference, an empty window, a file without the schema's features."""


class TooFewRowsError(DriftCheckError):
    """Every column has fewer usable values than `monitoring.min_rows`: nothing to judge yet."""


def run_drift_check(
    config: ProjectConfig,
    *,
    reference: Path | None = None,
    current: Path | None = None,
    log_sources: Collection[str] | None = None,
    write: bool = True,
) -> DriftReport:
    """Compare, judge, write reports/drift.json and drift.html (when `write`).

    `log_sources` chooses the prediction log rows of the current window
    (default: `predlog.DEFAULT_SOURCES`, all but the bench's load). A check
    that cannot judge still raises `DriftCheckError`, after writing reports
    that say why (`judged: false`, `reason`), so the last report never shows
    an older verdict as if it were today's.
    """
    if current is not None and log_sources is not None:
        raise DriftCheckError(
            "--log-source chooses rows of the prediction log; with --current there is none to read"
        )
    try:
        if reference is not None and current is not None:
            report = _check_files(config, reference=reference, current=current)
        else:
            report = _check_project(
                config, reference=reference, current=current, log_sources=log_sources
            )
    except DriftCheckError as error:
        if write:
            from .report import write_unjudged_reports

            write_unjudged_reports(str(error), config.reports_dir)
        raise
    if write:
        from .report import write_reports

        write_reports(report, config.reports_dir)
    return report


def compare_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    config: ProjectConfig,
    *,
    kinds: dict[str, Kind],
    sources: tuple[str, str] = ("reference", "current"),
    model_version: str | None = None,
    performance: PerformanceResult | None = None,
    overrides: dict[str, pd.Series] | None = None,
    reference_overrides: dict[str, pd.Series] | None = None,
    notes: dict[str, str] | None = None,
) -> DriftReport:
    """Judge the columns named in `kinds` (name -> kind); every other column is ignored.

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
    shared = set(kinds) & set(reference.columns) & set(current.columns)
    if not shared:
        raise DriftCheckError(
            f"the reference and current tables share no comparable columns (reference: "
            f"{sorted(map(str, reference.columns))[:10]}, current: "
            f"{sorted(map(str, current.columns))[:10]})"
        )
    ref_profiles = profile_frame(reference, kinds)
    cur_profiles = profile_frame(current, kinds)
    for profiles, replaced in ((ref_profiles, reference_overrides), (cur_profiles, overrides)):
        for name, column in (replaced or {}).items():
            if name in kinds:
                profiles[name] = profile_column(column.rename(name), kinds[name])
    results = compare_profiles(ref_profiles, cur_profiles, settings)
    results = [_with_note(r, (notes or {}).get(r.name)) for r in results]
    share = share_drifted(results)
    if math.isnan(share):
        reasons = "; ".join(f"{r.name}: {r.status} ({r.message})" for r in results[:5])
        too_few = all(r.status == "insufficient data" for r in results)
        raise (TooFewRowsError if too_few else DriftCheckError)(
            f"no column could be judged: {reasons}"
        )
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
        ignored_columns=_ignored_columns(reference, current, config.feature_schema, kinds),
        profiles=(ref_profiles, cur_profiles),
    )


def _ignored_columns(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    schema: FeatureSchema,
    kinds: dict[str, Kind],
) -> dict[str, str]:
    """Every column of either table that is not judged, with the reason a reader needs."""
    roles = {
        schema.label.name: "the label",
        **{name: "the time column" for name in schema.time_columns},
        **{name: "the group column (query ids)" for name in schema.group_columns},
        **{name: "an id column" for name in schema.id_columns},
        **{spec.name: "drift: false in the schema" for spec in schema.features if not spec.drift},
        PREDICTION: "the prediction column is not in both tables",
        **{name: "prediction-log bookkeeping" for name in LOG_COLUMNS},
    }
    names = dict.fromkeys([*map(str, reference.columns), *map(str, current.columns)])
    return {name: roles.get(name, "not in the schema") for name in names if name not in kinds}


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


def _per_query(
    reference: pd.DataFrame, current: pd.DataFrame, schema: FeatureSchema
) -> tuple[dict[str, pd.Series], dict[str, pd.Series], dict[str, str]]:
    """Query-level features as one value per query on both sides, with a note each.

    Fifty candidates of one query share one value: fifty rows would be one
    observation counted fifty times. A feature keeps its rows when either side
    lacks the query ids, since the two sides must be counted alike.
    """
    names = schema.query_level_names
    reference_values = _one_row_per_query(reference, schema.group_column, names)
    current_values = _one_row_per_query(current, schema.group_column, names)
    for name in set(reference_values) ^ set(current_values):
        reference_values.pop(name, None)
        current_values.pop(name, None)
    notes = {
        name: (
            f"judged once per query ({len(reference_values[name])} reference, "
            f"{len(current_values[name])} current queries)"
        )
        for name in current_values
    }
    return reference_values, current_values, notes


def _check_files(config: ProjectConfig, *, reference: Path, current: Path) -> DriftReport:
    """Two files judged on the schema's features (and the prediction when both have it)."""
    schema = config.feature_schema
    ref_frame, cur_frame = _read(reference), _read(current)
    _require_schema_columns(ref_frame, schema, f"the reference table ({reference})")
    _require_schema_columns(cur_frame, schema, f"the current table ({current})")
    nonfinite = _nonfinite_predictions(cur_frame)
    ref_frame, cur_frame = _judged_rows(ref_frame, config), _judged_rows(cur_frame, config)
    kinds = _schema_kinds(config)
    if PREDICTION not in ref_frame.columns or PREDICTION not in cur_frame.columns:
        del kinds[PREDICTION]
    reference_overrides, overrides, notes = _per_query(ref_frame, cur_frame, schema)
    report = compare_frames(
        ref_frame,
        cur_frame,
        config,
        kinds=kinds,
        sources=(str(reference), str(current)),
        overrides=overrides,
        reference_overrides=reference_overrides,
        notes=notes,
    )
    return replace(report, nonfinite_predictions=nonfinite)


def _require_schema_columns(frame: pd.DataFrame, schema: FeatureSchema, table: str) -> None:
    """A file lacking a schema feature (or the query ids its features need) cannot be judged."""
    missing = [name for name in schema.feature_names if name not in frame.columns]
    if missing:
        raise DriftCheckError(
            f"{table} lacks schema feature(s) {missing}; drift cannot be judged on columns "
            "it does not have"
        )
    if schema.query_level_names and schema.group_column not in frame.columns:
        raise DriftCheckError(
            f"{table} lacks the group column '{schema.group_column}': the query-level "
            f"feature(s) {schema.query_level_names} are judged once per query and need it"
        )


def _judged_rows(frame: pd.DataFrame, config: ProjectConfig) -> pd.DataFrame:
    """The rows that are separate observations (a forecast: one per series and origin)."""
    return config.problem_type.drift_rows(frame).reset_index(drop=True)


def _schema_kinds(config: ProjectConfig) -> dict[str, Kind]:
    """The judged columns and their kinds: the schema's features, then the prediction."""
    kinds: dict[str, Kind] = {
        spec.name: spec.kind for spec in config.feature_schema.features if spec.drift
    }
    kinds[PREDICTION] = config.problem_type.prediction_kind
    return kinds


def _check_project(
    config: ProjectConfig,
    *,
    reference: Path | None,
    current: Path | None,
    log_sources: Collection[str] | None = None,
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
        from ..predlog import DEFAULT_SOURCES, check_sources, read_prediction_log

        try:
            sources = DEFAULT_SOURCES if log_sources is None else check_sources(log_sources)
        except ValueError as error:
            raise DriftCheckError(str(error)) from None
        window = config.monitoring.window_rows
        cur_frame = read_prediction_log(config, limit=window, sources=sources)
        cur_frame, other_schema = _scored_under_this_schema(cur_frame, config)
        named = ", ".join(sources)
        cur_source = f"prediction log, newest {window} rows from {named}"
        if other_schema:
            cur_source += f" ({other_schema} rows scored under another feature schema left out)"
        if cur_frame.empty:
            raise DriftCheckError(
                f"the current window is empty: the prediction log {config.prediction_log_path} "
                f"has no rows from {named} yet; score data first (batch score or serve), "
                "choose other sources (--log-source) or pass --current"
            )
    else:
        cur_frame, cur_source = _read(current), str(current)
        if PREDICTION not in cur_frame.columns and model is not None:
            cur_frame = _with_predictions(cur_frame, model, config)
    version = model.version if model is not None and reference is None else None
    nonfinite = _nonfinite_predictions(cur_frame)  # every logged row counts, not one per group
    ref_frame, cur_frame = _judged_rows(ref_frame, config), _judged_rows(cur_frame, config)
    reference_overrides, overrides, notes = _per_query(ref_frame, cur_frame, schema)
    if version is not None and {"model_version", PREDICTION} <= set(cur_frame.columns):
        scored = cur_frame.loc[cur_frame["model_version"] == version, PREDICTION]
        overrides[PREDICTION] = scored
        notes[PREDICTION] = f"only the {len(scored)} logged rows scored by model {version} count"
    report = compare_frames(
        ref_frame,
        cur_frame,
        config,
        kinds=_schema_kinds(config),
        sources=(ref_source, cur_source),
        model_version=version,
        performance=performance_drift(cur_frame, config, model),
        overrides=overrides,
        reference_overrides=reference_overrides,
        notes=notes,
    )
    report = replace(report, nonfinite_predictions=nonfinite)
    if model is None or PREDICTION not in overrides:
        return report
    scores = np.asarray(overrides[PREDICTION], dtype=float)
    return replace(report, alert_rate=model.problem.alert_rate_check(scores))


def _scored_under_this_schema(
    frame: pd.DataFrame, config: ProjectConfig
) -> tuple[pd.DataFrame, int]:
    """Log rows whose model had the current features, and how many were left out.

    After `data infer` switches the project to the team's table, rows logged
    while it scored the sample read as null in every new column: judging them
    would call the switch itself drift. A version missing from the registry
    (a log copied from elsewhere) cannot be told apart, so its rows stay.
    """
    from ..registry import ModelRegistry

    if frame.empty or "model_version" not in frame.columns:
        return frame, 0
    registry, names = ModelRegistry(config), config.feature_schema.feature_names
    same = {}
    for version in frame["model_version"].dropna().unique():
        trained_on = registry.feature_names_of(str(version))
        same[version] = trained_on is None or trained_on == names
    keep = frame["model_version"].map(same).fillna(True).astype(bool).to_numpy()
    return frame.loc[keep].reset_index(drop=True), int((~keep).sum())


def _nonfinite_predictions(frame: pd.DataFrame) -> int:
    """Logged predictions that are NaN or infinite: never a model's honest answer."""
    if PREDICTION not in frame.columns:
        return 0
    values = pd.to_numeric(frame[PREDICTION], errors="coerce").to_numpy(dtype=float)
    return int((~np.isfinite(values)).sum())


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
