"""The endpoints: /predict (and /rank for ranking), /health, /ready, /metrics.

The scoring handlers read the raw body and let pydantic-core parse and
validate it in one pass against the schema-generated models (measured faster
than FastAPI's body parameter, which decodes the JSON in Python first), encode
through the shared `features.encode_columns` (lists, no pandas), score through
the micro-batcher and write the response bytes directly. What each route can
answer is declared with `openapi.py`'s helpers; the bodies come from
`responses.py`.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import generate_latest
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from ..features import encode_columns
from ..problems import ProblemType
from ..validation import check_rows
from .openapi import READY_RESPONSES, REQUEST_ID_PATTERN, request_body, scoring_responses
from .payloads import (
    PayloadModels,
    candidates_to_columns,
    rejection_from,
    row_keys,
    rows_to_columns,
    rule_violations,
)
from .responses import (
    HealthResponse,
    RankResponse,
    predict_body,
    predict_response_model,
    rank_body,
)
from .state import ServingState

_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)


class PrometheusText(Response):
    """Prometheus' text exposition format 0.0.4: what `generate_latest` writes."""

    media_type = "text/plain; version=0.0.4; charset=utf-8"


async def get_state(request: Request) -> ServingState:
    """The app's serving state (async: a sync dependency would run in the thread pool)."""
    state: ServingState = request.app.state.serving
    return state


State = Annotated[ServingState, Depends(get_state)]


def request_id_of(request: Request) -> str:
    """The caller's X-Request-ID when it is a sane token, else a fresh one."""
    given = request.headers.get("x-request-id")
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


def _json(content: dict[str, Any], request_id: str) -> Response:
    return Response(
        to_json(content),
        media_type="application/json",
        headers={"x-request-id": request_id},
    )


async def parse_body(request: Request, model: type[BaseModel]) -> Any:
    """The body validated against `model` in one pass (400 when not JSON, 422 when invalid)."""
    body = await request.body()
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise rejection_from(error) from None


def build_router(payloads: PayloadModels, problem: ProblemType) -> APIRouter:
    """Routes for one schema's request models (/rank only when there is a rank model)."""
    router = APIRouter()
    predict_model = payloads.predict

    # Operation ids name a generated client's functions: `predict`, not `predict_predict_post`.
    @router.get(
        "/health",
        operation_id="health",
        response_model=HealthResponse,
        response_description="The process is up",
    )
    async def health() -> dict[str, str]:
        """The process is up (says nothing about the model)."""
        return {"status": "ok"}

    @router.get("/ready", operation_id="ready", responses=READY_RESPONSES)
    async def ready(state: State) -> JSONResponse:
        """200 once the promoted model is loaded and its hashes verified, else 503."""
        if state.model is None:
            why = state.load_error or "no model is loaded"
            return JSONResponse({"status": "not ready", "detail": why}, 503)
        return JSONResponse({"status": "ready", "model_version": state.model.version})

    @router.get(
        "/metrics",
        operation_id="metrics",
        response_class=PrometheusText,
        response_description="Prometheus text",
    )
    async def metrics(state: State) -> PrometheusText:
        """Prometheus metrics of this worker."""
        return PrometheusText(generate_latest(state.metrics.registry))

    predicted = scoring_responses(predict_response_model(problem), "One prediction per row")

    # The scoring handlers take the state straight from the app rather than via
    # Depends: dependency solving was about a tenth of a request's CPU time.
    @router.post(
        "/predict",
        operation_id="predict",
        openapi_extra=request_body(predict_model),
        responses=predicted,
    )
    async def predict(request: Request) -> Response:
        """Score `rows` (one object per row, every schema feature in each).

        Each row may also carry the schema's id column(s) and time column: they
        are not features, only logged, so a label keyed by entity and time can
        find its prediction. `prediction_ids` name the rows for labels.
        """
        state: ServingState = request.app.state.serving
        model = state.require_model()
        body = await parse_body(request, predict_model)
        check = check_rows(rows_to_columns(body.rows, model.schema.feature_names), model.schema)
        if not check.good.all():
            raise rule_violations(check, lambda row, name: f"rows.{row}.{name}")
        matrix = encode_columns(check.columns, model.schema)
        outputs = await state.score(matrix)
        request_id = request_id_of(request)
        state.log(request_id, {**check.columns, **row_keys(body.rows, model.schema)}, outputs)
        content = predict_body(
            model.problem,  # the model's problem: it knows the threshold set at training
            outputs,
            model.explanations(matrix, outputs, num_threads=1),
            model_version=model.version,
            request_id=request_id,
        )
        return _json(content, request_id)

    rank_model = payloads.rank
    if rank_model is None:
        return router

    ranked = scoring_responses(RankResponse, "The candidates, best first")

    @router.post(
        "/rank", operation_id="rank", openapi_extra=request_body(rank_model), responses=ranked
    )
    async def rank(request: Request) -> Response:
        """Order one query's `candidates` by score, best first.

        Features shared by every candidate (the device, say) may be given once
        in `context`; each result carries the candidate's `index` in the
        request, its `id` if one was given, and its `score`.
        """
        state: ServingState = request.app.state.serving
        model = state.require_model()
        body = await parse_body(request, rank_model)
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
        request_id = request_id_of(request)
        query = request_id if body.query_id is None else str(body.query_id)
        group = model.schema.group_column or "query_id"
        logged = {**check.columns, group: np.array([query] * len(scores), dtype=object)}
        state.log(request_id, logged, scores)
        content = rank_body(
            scores,
            [candidate.id for candidate in body.candidates],
            query_id=body.query_id,
            top_k=body.top_k,
            model_version=model.version,
            request_id=request_id,
        )
        return _json(content, request_id)

    return router
