"""The endpoints: /predict (and /rank for ranking), /health, /ready, /metrics.

The scoring handlers read the raw body and let pydantic-core parse and
validate it in one pass against the schema-generated models (measured faster
than FastAPI's body parameter, which decodes the JSON in Python first), encode
through the shared `features.encode_columns` (lists, no pandas), score through
the micro-batcher and write the response bytes directly.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from ..features import encode_columns
from ..validation import check_rows
from .payloads import (
    PayloadModels,
    candidates_to_columns,
    rejection_from,
    rows_to_columns,
    rule_violations,
)
from .state import ServingState

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


async def get_state(request: Request) -> ServingState:
    """The app's serving state (async: a sync dependency would run in the thread pool)."""
    state: ServingState = request.app.state.serving
    return state


State = Annotated[ServingState, Depends(get_state)]


def _request_id(request: Request) -> str:
    """The caller's X-Request-ID when it is a sane token, else a fresh one."""
    given = request.headers.get("x-request-id")
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


def _json(content: dict[str, Any], request_id: str) -> Response:
    return Response(
        to_json(content),
        media_type="application/json",
        headers={"x-request-id": request_id},
    )


async def _parse(request: Request, model: type[BaseModel]) -> Any:
    body = await request.body()
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise rejection_from(error) from None


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI request body for a handler that reads the raw body itself."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    content = {"application/json": {"schema": inline(schema)}}
    return {"requestBody": {"required": True, "content": content}}


def build_router(payloads: PayloadModels) -> APIRouter:
    """Routes for one schema's request models (/rank only when there is a rank model)."""
    router = APIRouter()
    predict_model = payloads.predict

    @router.get("/health")
    async def health() -> dict[str, str]:
        """The process is up (says nothing about the model)."""
        return {"status": "ok"}

    @router.get("/ready")
    async def ready(state: State) -> JSONResponse:
        """200 once the promoted model is loaded and its hashes verified, else 503."""
        if state.model is None:
            return JSONResponse({"status": "not ready", "detail": state.load_error}, 503)
        return JSONResponse({"status": "ready", "model_version": state.model.version})

    @router.get("/metrics")
    async def metrics(state: State) -> Response:
        """Prometheus metrics of this worker."""
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # The scoring handlers take the state straight from the app rather than via
    # Depends: dependency solving was about a tenth of a request's CPU time.
    @router.post("/predict", openapi_extra=_body_schema(predict_model))
    async def predict(request: Request) -> Response:
        """Score `rows` (one object per row, every schema feature in each)."""
        state: ServingState = request.app.state.serving
        model = state.require_model()
        body = await _parse(request, predict_model)
        check = check_rows(rows_to_columns(body.rows, model.schema.feature_names), model.schema)
        if not check.good.all():
            raise rule_violations(check, lambda row, name: f"rows.{row}.{name}")
        outputs = await state.score(encode_columns(check.columns, model.schema))
        request_id = _request_id(request)
        state.log(request_id, check.columns, outputs)
        content: dict[str, Any] = {"model_version": model.version, "request_id": request_id}
        content.update(state.config.problem_type.response_fields(outputs))
        return _json(content, request_id)

    rank_model = payloads.rank
    if rank_model is None:
        return router

    @router.post("/rank", openapi_extra=_body_schema(rank_model))
    async def rank(request: Request) -> Response:
        """Order one query's `candidates` by score, best first.

        Features shared by every candidate (the device, say) may be given once
        in `context`; each result carries the candidate's `index` in the
        request, its `id` if one was given, and its `score`.
        """
        state: ServingState = request.app.state.serving
        model = state.require_model()
        body = await _parse(request, rank_model)
        columns, shared = candidates_to_columns(body, model.schema)
        check = check_rows(columns, model.schema)
        if not check.good.all():
            raise rule_violations(
                check,
                lambda row, name: (
                    f"context.{name}" if name in shared else f"candidates.{row}.{name}"
                ),
            )
        scores = await state.score(encode_columns(check.columns, model.schema))
        request_id = _request_id(request)
        query = request_id if body.query_id is None else str(body.query_id)
        group = model.schema.group_column or "query_id"
        logged = {**check.columns, group: np.array([query] * len(scores), dtype=object)}
        state.log(request_id, logged, scores)
        order = np.argsort(-scores, kind="stable")
        if body.top_k is not None:
            order = order[: body.top_k]
        candidates = body.candidates
        results = [
            {"index": int(i), "id": candidates[i].id, "score": float(scores[i])} for i in order
        ]
        content = {
            "query_id": body.query_id,
            "results": results,
            "model_version": model.version,
            "request_id": request_id,
        }
        return _json(content, request_id)

    return router
