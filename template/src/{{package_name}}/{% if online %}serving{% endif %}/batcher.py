"""A micro-batcher: requests already queued share one model call.

A tree model's predict call has a fixed cost (input conversion, the call into
the C library) that dominates for one row, so scoring 64 one-row requests as
one 64-row matrix is several times cheaper than 64 calls. By default the
batcher never waits for a batch to fill: it scores whatever is queued the
moment the model is free, so a lone request is scored at once and under load
the batches grow by themselves.

`max_wait_s` (`serving.max_batch_wait_ms`) lets a batch wait for more rows,
and it is a bound, not a sleep: the wait ends at the first request's arrival
plus `max_wait_s`, at once when every request in flight is already in the
batch (nobody else can join: "flush on idle"), and early rather than late when
less than one timer tick is left (event loop timers fire on a millisecond
grid, so a 0.3 ms sleep is a 1 ms one). Each request also has a deadline; one
that is not scored in time gets an error instead of waiting forever.
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


# The event loop's timer grid (uvloop rounds timeouts to milliseconds): a
# remaining wait shorter than this is not slept, the batch goes now.
TIMER_RESOLUTION_S = 0.001


@dataclass
class _Job:
    matrix: np.ndarray
    future: asyncio.Future[np.ndarray]
    queued_at: float
    deadline: float


class MicroBatcher:
    """Scores matrices submitted from request handlers, batching queued ones.

    `predict` maps an (n, features) matrix to n results (rows of a 2-D array
    for multiclass). `on_batch(rows)` is called after every model call.
    `in_flight()` counts the scoring requests being handled now (the serving
    guard's count): when all of them are in the batch it goes at once. Without
    it a batch with `max_wait_s` waits for its whole bound.
    """

    def __init__(
        self,
        predict: Predict,
        *,
        max_batch_rows: int,
        timeout_s: float,
        max_wait_s: float = 0.0,
        in_flight: Callable[[], int] | None = None,
        on_batch: Callable[[np.ndarray], None] | None = None,
    ) -> None:
        self._predict = predict
        self._max_rows = max_batch_rows
        self._timeout = timeout_s
        self._max_wait = max_wait_s
        self._in_flight = in_flight
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
        now = loop.time()
        self._queue.put_nowait(_Job(matrix, future, now, now + self._timeout))
        timer = loop.call_later(self._timeout, _expire, future)
        try:
            return await future
        finally:
            timer.cancel()

    def _take_queued(self, jobs: list[_Job], rows: int) -> int:
        """Add queued jobs to `jobs` up to the row cap; the rows they now hold."""
        while rows < self._max_rows and self._carry is None:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            rows = self._add(jobs, rows, job)
        return rows

    def _add(self, jobs: list[_Job], rows: int, job: _Job) -> int:
        if rows + len(job.matrix) > self._max_rows:
            self._carry = job  # starts the next batch
            return rows
        jobs.append(job)
        return rows + len(job.matrix)

    def _everyone_is_in(self, jobs: list[_Job]) -> bool:
        return self._in_flight is not None and self._in_flight() <= len(jobs)

    async def _next_batch(self, first: _Job) -> list[_Job]:
        jobs = [first]
        rows = self._take_queued(jobs, len(first.matrix))
        loop = asyncio.get_running_loop()
        closes_at = first.queued_at + self._max_wait
        while rows < self._max_rows and self._carry is None and not self._everyone_is_in(jobs):
            remaining = closes_at - loop.time()
            if remaining < TIMER_RESOLUTION_S:
                break
            try:
                job = await asyncio.wait_for(self._queue.get(), remaining)
            except TimeoutError:
                break
            rows = self._take_queued(jobs, self._add(jobs, rows, job))
        now = loop.time()
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
            jobs = await self._next_batch(first)
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
