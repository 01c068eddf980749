"""The app factory: builds the FastAPI app and loads the model once, at start-up.

`create_app(config)` is what tests and `serve` use. The lifespan loads the
promoted model from the registry (which verifies every artifact's sha256),
starts the micro-batcher and opens the prediction log; on shutdown, after the
server has finished in-flight requests, it scores anything still queued and
flushes the log, so a clean stop loses no logged rows. A model that fails to
load leaves the service up but not ready: /health answers, /ready says why.
A server (`freeze_heap=True`) then moves everything start-up made into the
garbage collector's permanent generation: a full collection of the ~170,000
objects pandas, LightGBM and FastAPI leave behind took 40-140 ms on one core,
and queued requests waited that long; afterwards it only scans what requests
made.
The OpenAPI document is completed by `openapi.document_service`; its example
responses are the loaded model's answers to the example requests.
"""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..config import ProjectConfig, load_config
from ..predlog import open_prediction_log
from ..registry import LoadedModel, ModelRegistry
from .auth import BearerAuth, TokenCheck, read_tokens
from .batcher import MicroBatcher, ScoringTimeout
from .examples import answer_examples, build_examples
from .metrics import ServingMetrics, prediction_bounds
from .middleware import BodyTooLarge, ServingGuard
from .openapi import DESCRIPTION, document_service
from .payloads import RequestRejected, build_payload_models
from .responses import error_body
from .routes import build_router
from .state import ServingState

logger = logging.getLogger(__name__)


def _reference_predictions(model: LoadedModel) -> np.ndarray | None:
    try:
        frame = pd.read_parquet(model.reference_path, columns=["prediction"])
    except (OSError, KeyError, ValueError):
        return None
    return frame["prediction"].to_numpy(dtype=np.float64)


async def _start(state: ServingState) -> None:
    config = state.config
    try:
        model = ModelRegistry(config).load()
    except Exception as error:  # any failure: stay up, report not ready
        state.load_error = str(error)
        logger.error("model not loaded, the service is not ready: %s", error)
        return
    predict = partial(model.predict, num_threads=1)  # one thread: a worker per core
    forecast = None
    if state.payloads.forecast is not None:  # a forecasting project's /forecast example
        forecast = partial(_forecast_routes().example_answer, state, model)
    # The documented examples, scored by this model: also the warm-up call.
    state.examples = answer_examples(
        state.examples,
        state.payloads,
        model.schema,
        model.problem,
        predict=predict,
        model_version=model.version,
        explain=partial(model.explanations, num_threads=1),
        forecast=forecast,
    )
    bounds = prediction_bounds(_reference_predictions(model), problem=config.problem_type)
    state.metrics.predictions.reset(bounds)
    state.metrics.model_loaded.labels(model.version).set(1)
    if config.serving.batching:
        state.batcher = MicroBatcher(
            predict,
            max_batch_rows=config.serving.max_batch_rows,
            timeout_s=config.serving.request_timeout_s,
            max_wait_s=config.serving.max_batch_wait_ms / 1000,
            in_flight=lambda: state.metrics.scoring_in_flight,
            on_batch=state.metrics.observe_batch,
        )
        state.batcher.start()
    if config.serving.log_predictions:
        state.predlog = open_prediction_log(config)
    if state.predlog is not None:
        state.metrics.watch_log(state.predlog)
    state.model, state.load_error = model, None
    if state.freeze_heap:
        freeze_startup_heap()
    logger.info("serving model %s", model.version)


def freeze_startup_heap() -> None:
    """Collect once, then keep everything alive so far out of later collections.

    What start-up made (modules, the model, the OpenAPI document) lives as long
    as the process, so scanning it again in every full collection is pure
    pause time on the request path.
    """
    gc.collect()
    gc.freeze()


async def _stop(state: ServingState) -> None:
    if state.batcher is not None:
        await state.batcher.stop()
    if state.predlog is not None:
        state.predlog.close()
        logger.info("prediction log closed after %d row(s)", state.predlog.rows_written)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServingState = app.state.serving
    await _start(state)
    try:
        yield
    finally:
        await _stop(state)


def _rejected(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestRejected)
    reason = "invalid" if error.status_code < 500 else "unavailable"
    request.app.state.serving.metrics.observe_error(request.url.path, reason)
    headers = {"Retry-After": "1"} if error.status_code == 503 else None
    content = error_body(error.message, error.errors)
    return JSONResponse(content, status_code=error.status_code, headers=headers)


def _timeout(request: Request, error: Exception) -> JSONResponse:
    seconds = request.app.state.serving.config.serving.request_timeout_s
    message = f"the model did not answer within {seconds} s; retry"
    return _rejected(request, RequestRejected(503, message))


def _too_large(request: Request, error: Exception) -> JSONResponse:
    return _rejected(request, RequestRejected(413, str(error)))


def _invalid(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": str(e["msg"])}
        for e in error.errors()
    ]
    return _rejected(request, RequestRejected(422, "invalid request", errors))


def _http_error(request: Request, error: Exception) -> JSONResponse:
    """Starlette's own errors (404, 405) in the same `ErrorResponse` shape as ours."""
    assert isinstance(error, HTTPException)
    content = error_body(str(error.detail))
    return JSONResponse(content, status_code=error.status_code, headers=error.headers)


def _forecast_routes() -> Any:
    """serving/forecast.py, which only forecasting projects have (so it is imported by name)."""
    return importlib.import_module(f"{__package__}.forecast")


def create_app(config: ProjectConfig, *, freeze_heap: bool = False) -> FastAPI:
    """The service for `config`; the model is loaded when the app starts.

    `freeze_heap` is for a server process (see the module docstring); tests
    that build many apps in one process leave it off, or nothing they made
    would ever be freed.
    """
    serving = config.serving
    problem = config.problem_type
    payloads = build_payload_models(
        config.feature_schema,
        max_rows=serving.max_rows_per_request,
        max_candidates=serving.max_candidates,
        ranking=problem.grouped,  # a grouped problem scores a query's candidates: /rank
    )
    forecast_example = None
    if problem.name == "forecasting":  # POST /forecast, its request model and example
        payloads = replace(payloads, forecast=_forecast_routes().ForecastRequest)
        forecast_example = _forecast_routes().example_request(config)
    metrics = ServingMetrics(prediction_bounds(None, problem=problem), problem.point_predictions)
    app = FastAPI(
        title=config.project.name,
        version=config.project.slug,
        summary="Predictions from the promoted model",
        description=DESCRIPTION,
        lifespan=_lifespan,
    )
    examples = build_examples(config.feature_schema, payloads, forecast=forecast_example)
    state = ServingState(
        config=config,
        payloads=payloads,
        metrics=metrics,
        examples=examples,
        freeze_heap=freeze_heap,
    )
    app.state.serving = state
    app.include_router(build_router(payloads, problem))
    if payloads.forecast is not None:
        app.include_router(_forecast_routes().build_forecast_router())
    document_service(app, state)
    app.add_exception_handler(RequestRejected, _rejected)
    app.add_exception_handler(ScoringTimeout, _timeout)
    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http_error)
    if serving.auth == "token":
        # Added before the guard, so it runs inside it: refusals are counted
        # and timed like every other answer.
        app.add_middleware(
            BearerAuth,
            check=TokenCheck(read_tokens()),
            realm=config.project.slug,
            metrics_public=serving.metrics_public,
            on_failure=metrics.observe_auth_failure,
        )
    app.add_middleware(
        ServingGuard,
        metrics=metrics,
        max_body_bytes=serving.max_body_bytes,
        concurrency_limit=serving.concurrency_limit,
    )
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes: the config comes from $ML_PROJECT_CONFIG."""
    return create_app(load_config(), freeze_heap=True)
