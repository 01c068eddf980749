"""A small HTTP/1.1 load generator on raw asyncio streams, for the latency bench.

An HTTP client library would spend more CPU per request than the service
under test (and on a laptop both share the same cores), so the bench writes
pre-encoded requests on keep-alive connections and reads the responses by
Content-Length. Every run is bounded twice: by request count and by time.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LoadResult:
    """Latencies (ms) of the answered requests, plus errors and wall time."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed_s: float = 0.0
    # Answers by HTTP status; 0 counts requests that got no answer (connection errors).
    statuses: dict[int, int] = field(default_factory=dict)
    first_error: str | None = None  # the first failed request: status and body, for the report

    def record(self, status: int, body: bytes, latency_ms: float) -> None:
        """Count one answer: its latency when it succeeded, its status and body when not."""
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            self.latencies_ms.append(latency_ms)
            return
        self.errors += 1
        if self.first_error is None:
            self.first_error = f"HTTP {status}: {body[:500].decode('utf-8', 'replace')}"

    def record_failure(self, error: Exception) -> None:
        """Count a request that got no answer at all."""
        self.errors += 1
        self.statuses[0] = self.statuses.get(0, 0) + 1
        if self.first_error is None:
            self.first_error = f"no answer: {type(error).__name__}: {error}"

    @property
    def count(self) -> int:
        return len(self.latencies_ms) + self.errors

    @property
    def rps(self) -> float:
        return self.count / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


def encode_request(host: str, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


async def _open(host: str, port: int) -> _Connection:
    reader, writer = await asyncio.open_connection(host, port)
    return _Connection(reader, writer)


async def _closed_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    concurrency: int,
    max_requests: int,
    duration_s: float,
) -> LoadResult:
    result = LoadResult()
    counter = itertools.count()
    deadline = time.perf_counter() + duration_s

    async def worker() -> None:
        connection: _Connection | None = None
        while time.perf_counter() < deadline:
            index = next(counter)
            if index >= max_requests:
                break
            request = requests[index % len(requests)]
            started = time.perf_counter()
            try:
                connection = connection or await _open(host, port)
                status, body = await connection.exchange(request)
            except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                result.record_failure(error)
                if connection is not None:
                    connection.close()
                connection = None
                continue
            result.record(status, body, (time.perf_counter() - started) * 1000)
        if connection is not None:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed_s = time.perf_counter() - started
    return result


async def _open_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    rate: float,
    max_requests: int,
    duration_s: float,
    max_in_flight: int,
) -> LoadResult:
    """Send at a fixed rate whatever the answers do; latency counts from the planned send."""
    result = LoadResult()
    idle: list[_Connection] = []
    slots = asyncio.Semaphore(max_in_flight)
    total = min(max_requests, max(1, int(rate * duration_s)))

    async def one(index: int, planned: float) -> None:
        async with slots:
            connection = idle.pop() if idle else None
            try:
                connection = connection or await _open(host, port)
                status, body = await connection.exchange(requests[index % len(requests)])
            except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                result.record_failure(error)
                if connection is not None:
                    connection.close()
                return
            idle.append(connection)
            result.record(status, body, (time.perf_counter() - planned) * 1000)

    started = time.perf_counter()
    tasks = []
    for index in range(total):
        planned = started + index / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, planned)))
    await asyncio.gather(*tasks)
    result.elapsed_s = time.perf_counter() - started
    for connection in idle:
        connection.close()
    return result


def closed_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    concurrency: int,
    max_requests: int,
    duration_s: float,
) -> LoadResult:
    """`concurrency` clients, each sending its next request as soon as the last is answered."""
    return asyncio.run(_closed_loop(host, port, requests, concurrency, max_requests, duration_s))


def open_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    max_requests: int,
    duration_s: float,
    max_in_flight: int = 256,
) -> LoadResult:
    """Requests at a steady `rate` per second, like independent users."""
    return asyncio.run(
        _open_loop(host, port, requests, rate, max_requests, duration_s, max_in_flight)
    )
