"""The guard in front of every request: size limit, concurrency limit, metrics.

A plain ASGI middleware (no per-request task or body copy, unlike Starlette's
`BaseHTTPMiddleware`), because it runs on every request. Scoring requests over
the concurrency limit get 503 at once instead of queueing without bound; a
body over the size limit gets 413 before it is read into memory.
"""

from __future__ import annotations

import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import SCORED_PATHS, ServingMetrics
from .responses import error_body


class BodyTooLarge(Exception):
    """The request body is over the configured limit."""


def json_error(status: int, message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(error_body(message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    return headers, body


async def _reply(send: Send, status: int, message: str) -> None:
    headers, body = json_error(status, message)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ServingGuard:
    """Body size and in-flight limits for scoring paths; request metrics for all paths."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: ServingMetrics,
        max_body_bytes: int,
        concurrency_limit: int,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.concurrency_limit = concurrency_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        status = 500
        scored = path in SCORED_PATHS

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if scored and self.metrics.scoring_in_flight >= self.concurrency_limit:
                self.metrics.observe_error(path, "overloaded")
                await _reply(send_and_record, 503, "server is at its concurrency limit; retry")
                return
            length = _content_length(scope)
            if length is not None and length > self.max_body_bytes:
                self.metrics.observe_error(path, "body_too_large")
                await _reply(send_and_record, 413, self._too_large(length))
                return
            self.metrics.scoring_in_flight += scored
            try:
                await self.app(scope, self._limited(receive), send_and_record)
            finally:
                self.metrics.scoring_in_flight -= scored
        finally:
            self.metrics.observe_request(path, status, time.perf_counter() - started)

    def _too_large(self, length: int) -> str:
        return f"body: {length} bytes is over the limit of {self.max_body_bytes} bytes"

    def _limited(self, receive: Receive) -> Receive:
        """Count streamed (chunked) body bytes too, which carry no Content-Length."""
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self._too_large(received))
            return message

        return limited_receive


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
