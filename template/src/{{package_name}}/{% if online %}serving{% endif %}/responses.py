"""What the service answers: the bodies as named models, and the functions that build them.

The handlers build every JSON body with the functions here (`error_body`,
`predict_body`, `rank_body`) and the OpenAPI document shows the models next to
them, so what is documented is what is sent. The scoring handlers still write
their bytes directly (no response-model validation on the hot path), so
tests/test_openapi.py checks the bodies really sent against these models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model

from ..predlog import prediction_ids
from ..problems import ProblemType

# `model_version` is a field name here, not pydantic's `model_` namespace.
_FIELDS_NAMED_MODEL = ConfigDict(protected_namespaces=())


class FieldError(BaseModel):
    """One thing wrong with a request, and where."""

    field: str = Field(description="Where: `rows.0.<feature>`, `candidates.2.<feature>`, `body`")
    message: str = Field(description="What is wrong there")


class ErrorResponse(BaseModel):
    """The body of every 4xx and 503 answer."""

    detail: str = Field(description="For people: what went wrong and what to do about it")
    errors: list[FieldError] = Field(
        description="One entry per bad field; empty when no field is to blame (413, 503)"
    )


class HealthResponse(BaseModel):
    """The process is up."""

    status: Literal["ok"]


class ReadyResponse(BaseModel):
    """The promoted model is loaded, its hashes verified."""

    model_config = _FIELDS_NAMED_MODEL
    status: Literal["ready"]
    model_version: str = Field(description="The registry version being served")


class NotReadyResponse(BaseModel):
    """No model is loaded: still loading, or it failed to load."""

    status: Literal["not ready"]
    detail: str = Field(description="Why not: still loading, or the load error")


class RankedCandidate(BaseModel):
    """One candidate of a /rank answer."""

    index: int = Field(ge=0, description="The candidate's position in the request")
    id: str | int | None = Field(description="The candidate's `id` as sent; null when it had none")
    score: float = Field(description="The model's score; higher ranks first")
    prediction_id: str = Field(
        description="`<request_id>-<index>`: the key a label for this candidate comes back with"
    )


class RankResponse(BaseModel):
    """One query's candidates, best first."""

    model_config = _FIELDS_NAMED_MODEL
    query_id: str | int | None = Field(description="The request's `query_id`; null when none")
    results: list[RankedCandidate] = Field(description="Best first; `top_k` of them when given")
    model_version: str = Field(description="The registry version that scored them")
    request_id: str = Field(description="The caller's X-Request-ID, or a fresh one")


def predict_response_model(problem: ProblemType) -> type[BaseModel]:
    """The /predict answer for this problem type: its prediction fields, version and id."""
    return create_model(
        "PredictResponse",
        __config__=_FIELDS_NAMED_MODEL,
        __doc__="One prediction per row, in request order.",
        model_version=(str, Field(description="The registry version that scored the rows")),
        request_id=(str, Field(description="The caller's X-Request-ID, or a fresh one")),
        **problem.response_field_types(),
        prediction_ids=(
            list[str],
            Field(
                description="`<request_id>-<row>` for each row, in request order: the key a "
                "label for that row comes back with (`labels ingest`)"
            ),
        ),
    )


def error_body(message: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """An `ErrorResponse` as JSON-ready data."""
    return {"detail": message, "errors": errors or []}


def predict_body(
    problem: ProblemType,
    outputs: np.ndarray,
    contributions: np.ndarray | None = None,
    *,
    model_version: str,
    request_id: str,
) -> dict[str, Any]:
    """A `PredictResponse` as JSON-ready data (`contributions`: rows x features, if explained)."""
    body: dict[str, Any] = {"model_version": model_version, "request_id": request_id}
    body.update(problem.response_fields(outputs, contributions))
    body["prediction_ids"] = prediction_ids(request_id, range(len(outputs)))
    return body


def rank_body(
    scores: np.ndarray,
    ids: Sequence[str | int | None],
    *,
    query_id: str | int | None,
    top_k: int | None,
    model_version: str,
    request_id: str,
) -> dict[str, Any]:
    """A `RankResponse` as JSON-ready data: candidates sorted by score, best first."""
    order = np.argsort(-scores, kind="stable")
    if top_k is not None:
        order = order[:top_k]
    keys = prediction_ids(request_id, range(len(scores)))
    results = [
        {"index": int(i), "id": ids[i], "score": float(scores[i]), "prediction_id": keys[i]}
        for i in order
    ]
    return {
        "query_id": query_id,
        "results": results,
        "model_version": model_version,
        "request_id": request_id,
    }
