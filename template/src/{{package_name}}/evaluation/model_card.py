"""docs/model_card.md, rewritten from each evaluation so it never goes stale.

The card says what the model is for, what it was trained on, how good it is
against the baseline and where it is weak (its worst slices), in words a
reviewer can read without opening the reports.
"""

from __future__ import annotations

import math
from functools import cmp_to_key
from pathlib import Path
from typing import Any

from ..config import ProjectConfig
from ..metrics import is_better
from ..registry import LoadedModel
from .results import EvaluationResult


def write_model_card(
    config: ProjectConfig, result: EvaluationResult, model: LoadedModel, path: Path
) -> Path:
    """Write the card to `path` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_model_card(config, result, model), encoding="utf-8")
    return path


def render_model_card(config: ProjectConfig, result: EvaluationResult, model: LoadedModel) -> str:
    meta = model.metadata
    schema = model.schema
    verdict = "passed" if result.gate_passed else "FAILED"
    features = ", ".join(
        f"`{f.name}` ({f.kind}{', may be missing' if f.nullable else ''})" for f in schema.features
    )
    secondary = "\n".join(
        f"| {name} | {_fmt(value)} | {_fmt(result.baseline_secondary.get(name))} |"
        for name, value in result.secondary.items()
    )
    return f"""# Model card: {_one_line(config.project.name)}

*Rewritten by `evaluate` from reports/evaluation.json; edit the sections marked
"(your judgement)" in a copy, or they are replaced on the next evaluation.*

## What it does

- Problem: {config.problem_type.label}
- Statement: {_one_line(config.problem.statement)}
- Label: `{schema.label.name}`: {_one_line(config.problem.label_definition)}
- Online metric it should move: {_one_line(config.problem.online_metric)}

## The model

- Version `{model.version}`, created {meta.get("created_at", "?")}, LightGBM
  {meta.get("lightgbm_version", "?")}, {meta.get("best_iteration", "?")} trees
- Trained on {meta.get("rows", {}).get("train", "?")} rows {_split_words(meta)}
- Data fingerprint `{str(meta.get("data_fingerprint", ""))[:16]}`, config fingerprint
  `{str(meta.get("config_fingerprint", ""))[:16]}`
- Features: {features}
- Baseline: {config.problem_type.describe_baseline(meta["baseline"])}

## How good it is

Release gate: **{verdict}**. On the {result.rows} {_test_rows_words(meta)} (test split):

{_primary_table(config, result)}

| secondary metric | model | baseline |
| --- | --- | --- |
{secondary}

## Where it is weakest

{_weakest(config, result, model)}

## Limitations and intended use (your judgement)

- Who may act on these predictions, and who must not?
- Which groups or situations are under-represented in the training data?
- What happens downstream when the model is wrong, and how is that noticed?
"""


def _primary_table(config: ProjectConfig, result: EvaluationResult) -> str:
    bound = "at least" if result.direction == "higher" else "at most"
    rows = [
        ("", "value"),
        ("---", "---"),
        (f"{result.metric} ({result.direction} is better)", _fmt(result.value)),
        (
            f"{config.metric.confidence_level:.0%} bootstrap interval",
            f"{_fmt(result.ci_low)} to {_fmt(result.ci_high)}",
        ),
        ("baseline", _fmt(result.baseline)),
        ("lift over baseline", _pct(result.lift)),
        ("release threshold", f"{bound} {result.threshold}"),
    ]
    return "\n".join(f"| {name} | {value} |" for name, value in rows)


def _weakest(config: ProjectConfig, result: EvaluationResult, model: LoadedModel) -> str:
    scored = [
        (feature, category, entry)
        for feature, categories in result.slices.items()
        for category, entry in categories.items()
        if entry["value"] is not None
    ]
    if not scored:
        return _why_no_slice(config, result, model)

    def worse_first(a: tuple[str, str, dict[str, Any]], b: tuple[str, str, dict[str, Any]]) -> int:
        first, second = a[2]["value"], b[2]["value"]
        if is_better(second, first, direction=result.direction):
            return -1
        return 1 if is_better(first, second, direction=result.direction) else 0

    lines = [
        f"- `{feature}` = `{category}`: {result.metric} {_fmt(entry['value'])} "
        f"(baseline {_fmt(entry['baseline'])}, n = {entry['n']})"
        for feature, category, entry in sorted(scored, key=cmp_to_key(worse_first))[:3]
    ]
    return "\n".join(lines)


def _why_no_slice(config: ProjectConfig, result: EvaluationResult, model: LoadedModel) -> str:
    """Why the card lists no weak slice, in the words that are true for this project."""
    names = config.metric.slice_columns(model.schema)
    if not names:
        return (
            "The schema has no categorical feature to slice by; name columns in "
            "`metric.slices` to see the model's weakest groups."
        )
    if not result.slices:  # ranking: a feature that varies within a query cannot slice
        shown = ", ".join(f"`{name}`" for name in names)
        return (
            f"No sliced feature ({shown}) is constant within a query, and a query cannot "
            "be split: no slice could be scored."
        )
    entries = [entry for categories in result.slices.values() for entry in categories.values()]
    if any(entry["n"] >= config.metric.min_slice_rows for entry in entries):
        return (
            f"No slice could be scored: {result.metric} is undefined on every slice with "
            "enough test rows (a slice with one class only, for example)."
        )
    unit = "queries" if model.schema.group_column else "rows"
    return (
        f"No slice had enough test {unit} to be scored (`metric.min_slice_rows` = "
        f"{config.metric.min_slice_rows})."
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.4f}"


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:+.1%}"


def _split_words(meta: dict[str, Any]) -> str:
    """How the training rows were chosen: up to a date, or at random (which can flatter)."""
    time_range = meta.get("time_range", {})
    if "train_end" in time_range:
        return f"up to {time_range['train_end']} (time-based split)"
    return (
        "drawn at random (the data has no time column; a random split can flatter a model "
        "whose data changes over time)"
    )


def _test_rows_words(meta: dict[str, Any]) -> str:
    return "newest rows" if "train_end" in meta.get("time_range", {}) else "held-out rows"
