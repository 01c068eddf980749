"""The plain version of the service, kept only as the benchmark's yardstick.

What a first FastAPI service usually looks like: a pydantic body parameter, a
sync handler (run in the thread pool), a pandas DataFrame per request, one
model call per request, default JSON responses, served by uvicorn on h11 and
asyncio. `benchmarks/compare_stacks.py` runs it next to the real service
(`app.py`) so the gain of the default stack is measured, not assumed.

No `from __future__ import annotations` here: FastAPI must see the generated
request models as real annotations to treat them as the request body.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pandas as pd
from fastapi import FastAPI

from ..config import ProjectConfig, load_config
from ..features import encode_frame
from ..registry import ModelRegistry
from .payloads import build_payload_models


def create_plain_app(config: ProjectConfig) -> FastAPI:
    """POST /predict and POST /rank with the same request models, done plainly."""
    payloads = build_payload_models(
        config.feature_schema,
        max_rows=config.serving.max_rows_per_request,
        max_candidates=config.serving.max_candidates,
        ranking=config.problem.type == "ranking",
    )
    schema = config.feature_schema
    loaded: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded["model"] = ModelRegistry(config).load()
        yield

    app = FastAPI(lifespan=lifespan)
    predict_model: Any = payloads.predict
    rank_model: Any = payloads.rank

    @app.get("/ready")
    def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/predict")
    def predict(body: predict_model) -> dict[str, Any]:
        model = loaded["model"]
        frame = pd.DataFrame([row.model_dump() for row in body.rows])
        outputs = model.predict(encode_frame(frame, schema))
        return {
            "predictions": outputs.tolist(),
            "model_version": model.version,
            "request_id": uuid.uuid4().hex,
        }

    if rank_model is not None:

        @app.post("/rank")
        def rank(body: rank_model) -> dict[str, Any]:
            model = loaded["model"]
            context = body.context.model_dump(exclude_unset=True) if body.context else {}
            frame = pd.DataFrame(
                [
                    {**context, **c.model_dump(exclude_unset=True, exclude={"id"})}
                    for c in body.candidates
                ]
            )
            frame["id"] = [c.id for c in body.candidates]
            frame["score"] = model.predict(encode_frame(frame, schema))
            frame["index"] = range(len(frame))
            ordered = frame.sort_values("score", ascending=False)
            return {
                "query_id": body.query_id,
                "results": ordered[["index", "id", "score"]].to_dict(orient="records"),
                "model_version": model.version,
                "request_id": uuid.uuid4().hex,
            }

    return app


def create_plain_app_from_env() -> FastAPI:
    return create_plain_app(load_config())
