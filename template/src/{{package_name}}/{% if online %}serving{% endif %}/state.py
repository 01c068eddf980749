"""The request state every handler reads: config, model, batcher, metrics, log.

It lives on `app.state.serving`: `app` creates it and loads the model into it
at start-up, `routes` reads it, so the handlers never import the app factory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import ProjectConfig
from ..predlog import PredictionLogger
from ..registry import LoadedModel
from .batcher import MicroBatcher
from .examples import Examples
from .metrics import ServingMetrics
from .payloads import PayloadModels, RequestRejected


@dataclass
class ServingState:
    """Everything the handlers need; lives on `app.state.serving`."""

    config: ProjectConfig
    payloads: PayloadModels
    metrics: ServingMetrics
    examples: Examples  # for the OpenAPI document; answered once the model is loaded
    model: LoadedModel | None = None
    load_error: str | None = "the model is still loading"
    batcher: MicroBatcher | None = None
    predlog: PredictionLogger | None = None
    freeze_heap: bool = False  # a server process: see `app.freeze_startup_heap`
    # What a problem type's own route keeps between requests (a forecast's stored history).
    cache: dict[str, Any] = field(default_factory=dict)

    def require_model(self) -> LoadedModel:
        if self.model is None:
            raise RequestRejected(503, f"model not ready: {self.load_error}")
        return self.model

    async def score(self, matrix: np.ndarray) -> np.ndarray:
        """Model output for an encoded matrix, through the batcher when it is on."""
        model = self.require_model()
        if self.batcher is not None:
            return await self.batcher.submit(matrix)
        outputs = model.predict(matrix, num_threads=1)
        self.metrics.observe_batch(outputs)
        return outputs

    def log(self, request_id: str, columns: Mapping[str, Any], outputs: np.ndarray) -> None:
        if self.predlog is None or self.model is None:
            return
        values = self.config.problem_type.point_predictions(outputs)
        if not self.predlog.log(request_id, self.model.version, columns, values):
            self.metrics.log_dropped.inc(len(values))
