"""Example requests built from the feature schema, and the model's answers to them.

The OpenAPI document shows them. Every feature gets a value its rules allow (a
category from its list, a number inside min/max), so an example is a request
the service accepts, whatever `configs/schema.yaml` holds. When the model
loads, the app scores the examples the way the handlers do (that call is also
the warm-up), so an example response is what this model really answers. The
error examples are the service's own messages for two bad requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from ..features import encode_columns
from ..problems import ProblemType
from ..schema import FeatureSchema, FeatureSpec
from ..validation import check_rows
from .payloads import PayloadModels, candidates_to_columns, rejection_from, rows_to_columns
from .responses import error_body, predict_body, rank_body

EXAMPLE_ROWS = 2
EXAMPLE_CANDIDATES = 3
EXAMPLE_REQUEST_ID = "8f14e45fceea167a5a36dedd4bea2543"  # the service makes ids like it


@dataclass(frozen=True)
class Examples:
    """Example bodies by route; the answers are None until a model has scored them."""

    predict: dict[str, Any]
    rank: dict[str, Any] | None
    errors: dict[str, dict[int, dict[str, Any]]]  # route -> status -> error body
    predict_answer: dict[str, Any] | None = None
    rank_answer: dict[str, Any] | None = None
    forecast: dict[str, Any] | None = None
    forecast_answer: dict[str, Any] | None = None


def example_value(spec: FeatureSpec, position: int) -> float | str:
    """A value of `spec` that its rules allow; `position` varies it from row to row."""
    if spec.kind == "categorical":
        return spec.categories[position % len(spec.categories)]
    share = 0.25 * (1 + position % 3)  # a quarter, half or three quarters of the range
    low, high = spec.min, spec.max
    if low is not None and high is not None:
        return min(max(round(low + share * (high - low), 6), low), high)
    if low is not None:
        return low + 4 * share
    if high is not None:
        return high - 4 * share
    return 4 * share


def example_row(schema: FeatureSchema, position: int, names: list[str]) -> dict[str, Any]:
    return {name: example_value(schema.feature(name), position) for name in names}


def build_examples(
    schema: FeatureSchema, payloads: PayloadModels, *, forecast: dict[str, Any] | None = None
) -> Examples:
    """The example requests of this schema, and the service's errors for two bad ones.

    `forecast` is the example /forecast request of a forecasting project.
    """
    names = schema.feature_names
    predict: dict[str, Any] = {"rows": [example_row(schema, i, names) for i in range(EXAMPLE_ROWS)]}
    incomplete = {"rows": [dict(list(predict["rows"][0].items())[1:])]}  # first feature left out
    errors = {"/predict": _errors(payloads.predict, incomplete)}
    rank: dict[str, Any] | None = None
    if payloads.rank is not None:
        shared = schema.query_level_names  # given once, in `context`
        own = [name for name in names if name not in shared]
        candidates = [
            {"id": f"item-{i + 1}", **example_row(schema, i, own)}
            for i in range(EXAMPLE_CANDIDATES)
        ]
        rank = {"query_id": "query-1"}
        if shared:
            rank["context"] = example_row(schema, 0, shared)
        rank["candidates"] = candidates
        errors["/rank"] = _errors(payloads.rank, {"query_id": "query-1", "candidates": []})
    if payloads.forecast is not None and forecast is not None:
        errors["/forecast"] = _errors(payloads.forecast, {"series_ids": []})
    return Examples(predict=predict, rank=rank, errors=errors, forecast=forecast)


def _errors(model: type[BaseModel], invalid: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The 400 and 422 bodies the service sends for a broken body and for `invalid`."""
    bodies: dict[int, dict[str, Any]] = {}
    for sent in (b'{"rows": [', json.dumps(invalid).encode()):
        try:
            model.model_validate_json(sent)
        except ValidationError as error:
            rejected = rejection_from(error)
            bodies[rejected.status_code] = error_body(rejected.message, rejected.errors)
    return bodies


def answer_examples(
    examples: Examples,
    payloads: PayloadModels,
    schema: FeatureSchema,
    problem: ProblemType,
    *,
    predict: Callable[[np.ndarray], np.ndarray],
    model_version: str,
    explain: Callable[[np.ndarray, np.ndarray], np.ndarray | None] | None = None,
    forecast: Callable[[dict[str, Any], str], dict[str, Any]] | None = None,
) -> Examples:
    """The examples with the model's answers, scored as the handlers score requests.

    `forecast(request, request_id)` answers the /forecast example (forecasting).
    """
    body: Any = payloads.predict.model_validate(examples.predict)
    matrix = _encoded(rows_to_columns(body.rows, schema.feature_names), schema)
    outputs = predict(matrix)
    contributions = explain(matrix, outputs) if explain is not None else None
    ids = {"model_version": model_version, "request_id": EXAMPLE_REQUEST_ID}
    answer = predict_body(problem, outputs, contributions, **ids)
    answered = replace(examples, predict_answer=answer)
    if examples.forecast is not None and forecast is not None:
        forecast_answer = forecast(examples.forecast, EXAMPLE_REQUEST_ID)
        answered = replace(answered, forecast_answer=forecast_answer)
    if examples.rank is None or payloads.rank is None:
        return answered
    query: Any = payloads.rank.model_validate(examples.rank)
    columns, _ = candidates_to_columns(query, schema)
    scores = predict(_encoded(columns, schema))
    candidate_ids = [candidate.id for candidate in query.candidates]
    ranked = rank_body(scores, candidate_ids, query_id=query.query_id, top_k=None, **ids)
    return replace(answered, rank_answer=ranked)


def _encoded(columns: dict[str, list[Any]], schema: FeatureSchema) -> np.ndarray:
    check = check_rows(columns, schema)
    if not check.good.all():  # a bug in `example_value`, never a bad request
        raise ValueError(f"an example request breaks the schema: {check.reasons.tolist()}")
    return encode_columns(check.columns, schema)
