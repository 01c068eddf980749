"""The OpenAPI document (/openapi.json): the contract clients and gateways are built from.

Every route lists every status it can answer, each with a named body:
`ErrorResponse` for every 4xx and 503, `PredictResponse` (and `RankResponse`)
for scores, `ReadyResponse`/`NotReadyResponse` for /ready. The request models
generated from the schema (`PredictRequest`, `FeatureRow`, ...) are named
components too, so a generated client has one type per body. The routes
declare their statuses with the helpers here; `document_service` adds the
request components and the examples (`examples.py`) to FastAPI's document.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .examples import Examples
from .responses import ErrorResponse, NotReadyResponse, ReadyResponse
from .state import ServingState

COMPONENTS = "#/components/schemas/{model}"
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
Responses = dict[int | str, dict[str, Any]]
DESCRIPTION = (
    "Scores rows with the promoted model. Every 4xx and 503 answer has an `ErrorResponse` "
    "body (`detail`, and `errors` naming each bad field); /metrics is Prometheus text."
)

# What a scoring route (/predict, /rank) answers besides 200, and when. Every
# body is an `ErrorResponse`. Requests are not authenticated yet: when they are,
# its 401 goes here (and in tests/test_openapi.py's ERROR_STATUSES), with the
# scheme under `components.securitySchemes` in `_complete`.
SCORING_ERRORS: dict[int, str] = {
    400: "The body is not JSON.",
    413: "The body is larger than `serving.max_body_bytes`.",
    422: (
        "The body is JSON but not a valid request: a field missing, unknown or of the wrong "
        "type, or a value the schema's rules refuse (out of range, unknown category, missing "
        "where not nullable). `errors` names every bad field."
    ),
    503: (
        "No model is loaded yet, the worker is at its concurrency limit, or the model did not "
        "answer within `serving.request_timeout_s`. Retry after `Retry-After` seconds."
    ),
}
REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "The caller's X-Request-ID when it matches the pattern, else a fresh id",
        "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
    }
}
RETRY_AFTER_HEADER = {
    "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
}
READY_RESPONSES: Responses = {
    200: {"model": ReadyResponse, "description": "The model is loaded and serving"},
    503: {"model": NotReadyResponse, "description": "No model is loaded (yet); see `detail`"},
}


def scoring_responses(success: type[BaseModel], description: str) -> Responses:
    """`responses=` of a scoring route: its 200 body, then every error status."""
    responses: Responses = {
        200: {"model": success, "description": description, "headers": REQUEST_ID_HEADER}
    }
    for status, when in SCORING_ERRORS.items():
        responses[status] = {"model": ErrorResponse, "description": when}
    responses[503]["headers"] = RETRY_AFTER_HEADER
    return responses


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra=` of a handler that reads its raw body: the body model, X-Request-ID."""
    schema = {"$ref": COMPONENTS.format(model=model.__name__)}
    parameter = {
        "name": "X-Request-ID",
        "in": "header",
        "required": False,
        "description": "Your id for the request: echoed back and kept in the prediction log",
        "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
    }
    return {
        "parameters": [parameter],
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
    }


def document_service(app: FastAPI, state: ServingState) -> None:
    """Make `app.openapi()` (and so /openapi.json) the complete document.

    It is rebuilt when the examples change: once, when the model has scored them.
    """
    build = app.openapi  # FastAPI's document, from the routes
    cached: tuple[Examples, dict[str, Any]] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal cached
        if cached is None or cached[0] is not state.examples:
            cached = (state.examples, _complete(copy.deepcopy(build()), state))
        return cached[1]

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(document: dict[str, Any], state: ServingState) -> dict[str, Any]:
    payloads, examples = state.payloads, state.examples
    requests = [payloads.predict] + [m for m in (payloads.rank, payloads.forecast) if m is not None]
    _, definitions = models_json_schema(
        [(model, "validation") for model in requests], ref_template=COMPONENTS
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(definitions.get("$defs", {}))
    paths = document["paths"]
    _add_examples(paths["/predict"]["post"], examples.predict, examples.predict_answer)
    if examples.rank is not None:
        _add_examples(paths["/rank"]["post"], examples.rank, examples.rank_answer)
    if examples.forecast is not None and "/forecast" in paths:
        _add_examples(paths["/forecast"]["post"], examples.forecast, examples.forecast_answer)
    for path, bodies in examples.errors.items():
        for status, body in bodies.items():
            content = paths[path]["post"]["responses"][str(status)]["content"]
            _example(content, "sample", body, f"What the service answers with {status}")
    return document


def _add_examples(
    operation: dict[str, Any], request: dict[str, Any], answer: dict[str, Any] | None
) -> None:
    summary = "Every feature with a value configs/schema.yaml allows"
    _example(operation["requestBody"]["content"], "sample", request, summary)
    if answer is not None:
        content = operation["responses"]["200"]["content"]
        _example(content, "sample", answer, "The served model's answer to the sample request")


def _example(content: dict[str, Any], name: str, value: Any, summary: str) -> None:
    media = content["application/json"]
    media.setdefault("examples", {})[name] = {"summary": summary, "value": value}
