"""Request models generated from the feature schema, and their error messages.

The pydantic models are built at start-up from the same `FeatureSchema` that
training validated its data with. They check the body's shape and types (every
feature present, numbers as JSON numbers, nothing else) in one step in
pydantic-core (`model_validate_json`, the fastest path measured); the schema's
row rules (ranges, categories, missing values) are `validation.check_rows`,
the same code training and batch scoring run, so the three cannot disagree.
The OpenAPI document still shows each feature's range and categories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, create_model

from ..schema import FeatureSchema, FeatureSpec
from ..validation import RowCheck

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class RequestRejected(Exception):
    """A request the service will not score; becomes a 4xx/503 JSON response."""

    def __init__(
        self, status_code: int, message: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.errors = errors or []


@dataclass(frozen=True)
class PayloadModels:
    """The generated request models of one schema."""

    row: type[BaseModel]
    predict: type[BaseModel]
    rank: type[BaseModel] | None
    forecast: type[BaseModel] | None = None  # forecasting projects' POST /forecast


def _feature_type(spec: FeatureSpec, *, optional: bool) -> Any:
    """The JSON type of a feature; its rules are documented here, checked by `check_rows`."""
    documented: dict[str, Any]
    if spec.kind == "numeric":
        annotation: Any = Annotated[float, Field(strict=True, allow_inf_nan=False)]
        documented = {"type": "number"}
        if spec.min is not None:
            documented["minimum"] = spec.min
        if spec.max is not None:
            documented["maximum"] = spec.max
    else:
        # Categories are text; numbers name numeric-coded ones (1 is the category "1").
        annotation = str | int | float
        documented = {"type": "string", "enum": list(spec.categories)}
    # null always parses; whether a feature may be missing is a row rule (check_rows).
    if spec.nullable or optional:
        documented = {"anyOf": [documented, {"type": "null"}]}
    return Annotated[annotation | None, WithJsonSchema(documented)]


def _row_fields(schema: FeatureSchema, *, optional: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for spec in schema.features:
        annotation = _feature_type(spec, optional=optional)
        fields[spec.name] = (annotation, None) if optional else (annotation, ...)
    return fields


def _key_fields(schema: FeatureSchema) -> dict[str, Any]:
    """Optional id and time fields: logged with the row so labels keyed by them find it."""
    fields: dict[str, Any] = {}
    for name in schema.id_columns:
        described = Field(None, description="An id of the row's entity; logged, never a feature")
        fields[name] = (str | int | None, described)
    if schema.time_column:
        described = Field(None, description="The row's event time (ISO 8601); logged only")
        fields[schema.time_column] = (str | None, described)
    return fields


def row_keys(rows: list[Any], schema: FeatureSchema) -> dict[str, list[Any]]:
    """The id and time values the rows were sent with, by name (names no row gave are left out)."""
    names = [*schema.id_columns, *schema.time_columns]
    keys = {name: [getattr(row, name) for row in rows] for name in names}
    return {name: values for name, values in keys.items() if any(v is not None for v in values)}


def build_payload_models(
    schema: FeatureSchema, *, max_rows: int, max_candidates: int, ranking: bool
) -> PayloadModels:
    """Pydantic models for `POST /predict` (and `POST /rank` when `ranking`)."""
    fields = {**_row_fields(schema, optional=False), **_key_fields(schema)}
    row = create_model("FeatureRow", __config__=_STRICT, **fields)
    rows_type = Annotated[list[row], Field(min_length=1, max_length=max_rows)]  # type: ignore[valid-type]
    predict = create_model("PredictRequest", __config__=_STRICT, rows=(rows_type, ...))
    rank = None
    if ranking:
        context = create_model(
            "QueryContext", __config__=_STRICT, **_row_fields(schema, optional=True)
        )
        candidate = create_model(
            "Candidate",
            __config__=_STRICT,
            id=(str | int | None, None),
            **_row_fields(schema, optional=True),
        )
        candidates_type = Annotated[
            list[candidate],  # type: ignore[valid-type]
            Field(min_length=1, max_length=max_candidates),
        ]
        rank = create_model(
            "RankRequest",
            __config__=_STRICT,
            query_id=(str | int | None, None),
            context=(context | None, None),
            candidates=(candidates_type, ...),
            top_k=(Annotated[int, Field(ge=1)] | None, None),
        )
    return PayloadModels(row=row, predict=predict, rank=rank)


def rows_to_columns(rows: list[Any], names: list[str]) -> dict[str, list[Any]]:
    """Validated row models -> {feature: values}, the input `encode_columns` takes."""
    return {name: [getattr(row, name) for row in rows] for name in names}


def candidates_to_columns(
    request: Any, schema: FeatureSchema
) -> tuple[dict[str, list[Any]], set[str]]:
    """Merge the query context into every candidate; name each missing or doubled feature.

    A feature is given either once in `context` (the same for every candidate,
    such as the device) or in every candidate, never both. Returns the columns
    and the names that came from the context.
    """
    context = request.context
    given = context.model_fields_set if context is not None else set()
    columns: dict[str, list[Any]] = {}
    errors: list[dict[str, str]] = []
    for name in schema.feature_names:
        if name in given:
            for index, candidate in enumerate(request.candidates):
                if name in candidate.model_fields_set:
                    errors.append(
                        _error(
                            f"candidates.{index}.{name}",
                            "given both in context and in the candidate; give it once",
                        )
                    )
            columns[name] = [getattr(context, name)] * len(request.candidates)
            continue
        for index, candidate in enumerate(request.candidates):
            if name not in candidate.model_fields_set:
                errors.append(
                    _error(
                        f"candidates.{index}.{name}",
                        "Field required (give it in the candidate or once in context)",
                    )
                )
        columns[name] = [getattr(candidate, name) for candidate in request.candidates]
    if errors:
        raise RequestRejected(422, _summary(errors), errors)
    return columns, set(given)


def rule_violations(check: RowCheck, field: Callable[[int, str], str]) -> RequestRejected:
    """A 422 naming, for every row that breaks a schema rule, the field and the rule."""
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    for row in np.flatnonzero(~check.good):
        name, problem = str(check.problem_column[row]), str(check.problem[row])
        where = field(int(row), name)
        if where not in seen:  # a context value breaks the rule once, not once per candidate
            seen.add(where)
            errors.append(_error(where, problem))
    return RequestRejected(422, _summary(errors), errors)


def rejection_from(error: ValidationError) -> RequestRejected:
    """A 400 for a body that is not JSON, else a 422 naming every bad field."""
    problems = error.errors(include_url=False, include_input=False, include_context=False)
    if any(problem["type"] == "json_invalid" for problem in problems):
        detail = problems[0]["msg"]
        return RequestRejected(400, f"body is not valid JSON: {detail}", [_error("body", detail)])
    errors = [
        _error(".".join(str(part) for part in problem["loc"]) or "body", problem["msg"])
        for problem in problems
    ]
    return RequestRejected(422, _summary(errors), errors)


def _error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _summary(errors: list[dict[str, str]]) -> str:
    shown = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return f"invalid request: {shown}{more}"
