"""A no-wait micro-batcher: requests already queued share one model call.

A tree model's predict call has a fixed cost (input conversion, the call into
the C library) that dominates for one row, so scoring 64 one-row requests as
one 64-row matrix is several times cheaper than 64 calls. The batcher never
waits for a batch to fill: it scores whatever is queued the moment the model
is free, so a lone request is scored at once (no latency added at low load)
and under load the batches grow by themselves. Each request has a deadline;
one that is not scored in time gets an error instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

Predict = Callable[[np.ndarray], np.ndarray]


class ScoringTimeout(Exception):
    """The request was not scored within its deadline."""


@dataclass
class _Job:
    matrix: np.ndarray
    future: asyncio.Future[np.ndarray]
    deadline: float


class MicroBatcher:
    """Scores matrices submitted from request handlers, batching queued ones.

    `predict` maps an (n, features) matrix to n results (rows of a 2-D array
    for multiclass). `on_batch(rows)` is called after every model call.
    """

    def __init__(
        self,
        predict: Predict,
        *,
        max_batch_rows: int,
        timeout_s: float,
        on_batch: Callable[[np.ndarray], None] | None = None,
    ) -> None:
        self._predict = predict
        self._max_rows = max_batch_rows
        self._timeout = timeout_s
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._carry: _Job | None = None

    def start(self) -> None:
        """Start the scoring loop on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        """Score what is still queued, then stop the loop."""
        while self._task is not None and (self._carry or not self._queue.empty()):
            await asyncio.sleep(0.005)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def submit(self, matrix: np.ndarray) -> np.ndarray:
        """The model's output for `matrix`; raises `ScoringTimeout` after the deadline."""
        if self._task is None:
            raise RuntimeError("the batcher is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._queue.put_nowait(_Job(matrix, future, loop.time() + self._timeout))
        timer = loop.call_later(self._timeout, _expire, future)
        try:
            return await future
        finally:
            timer.cancel()

    def _next_batch(self, first: _Job) -> list[_Job]:
        jobs, rows = [first], len(first.matrix)
        while rows < self._max_rows:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            if rows + len(job.matrix) > self._max_rows:
                self._carry = job  # starts the next batch
                break
            jobs.append(job)
            rows += len(job.matrix)
        now = asyncio.get_running_loop().time()
        for job in jobs:  # the model may have been busy past a job's deadline
            if job.deadline <= now:
                _expire(job.future)
        return [job for job in jobs if not job.future.done()]

    async def _run(self) -> None:
        while True:
            if self._carry is not None:
                first, self._carry = self._carry, None
            else:
                first = await self._queue.get()
            jobs = self._next_batch(first)
            if not jobs:
                continue
            matrix = jobs[0].matrix if len(jobs) == 1 else np.vstack([j.matrix for j in jobs])
            try:
                scores = self._predict(matrix)
                if self._on_batch is not None:
                    self._on_batch(scores)
            except Exception as error:  # the model failed: every waiting request learns why
                logger.exception("model call failed for a batch of %d row(s)", len(matrix))
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(error)
                continue
            start = 0
            for job in jobs:
                stop = start + len(job.matrix)
                if not job.future.done():
                    job.future.set_result(scores[start:stop])
                start = stop
            # Let the handlers whose results were just set run before the next batch.
            await asyncio.sleep(0)


def _expire(future: asyncio.Future[np.ndarray]) -> None:
    if not future.done():
        future.set_exception(ScoringTimeout())
