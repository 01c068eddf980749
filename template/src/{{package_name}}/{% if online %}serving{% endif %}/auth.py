"""Bearer-token authentication for the service, as a plain ASGI middleware.

Tokens come from the environment (`ML_SERVING_TOKENS`, comma-separated, so an
old and a new token can both be valid while clients rotate), never from a
config file. Only their SHA-256 digests are kept, and a presented token is
compared with every digest in constant time, so neither a log line nor the
timing of a refusal gives a token away. The probes a load balancer or an
orchestrator polls (`/health`, `/ready`) stay open; `/metrics` is open only
when `serving.metrics_public` says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from .responses import error_body

TOKENS_ENV_VAR = "ML_SERVING_TOKENS"
MIN_TOKEN_CHARS = 16
# A bearer header longer than this is refused before any hashing is done.
MAX_AUTHORIZATION_BYTES = 1024
OPEN_PATHS = frozenset({"/health", "/ready"})
DOCUMENT_PATHS = frozenset({"/docs", "/openapi.json", "/docs/oauth2-redirect"})
# Query parameters that would put a token into access logs and browser history.
TOKEN_QUERY_NAMES = (b"token", b"access_token", b"api_key", b"apikey")


class TokenConfigError(ValueError):
    """The token variable is missing, empty or holds a token too short to be safe."""


def read_tokens(environ: dict[str, str] | None = None) -> list[str]:
    """The valid tokens from `ML_SERVING_TOKENS`; raises with a sentence if unusable."""
    raw = (os.environ if environ is None else environ).get(TOKENS_ENV_VAR, "")
    tokens = [token.strip() for token in raw.split(",") if token.strip()]
    if not tokens:
        raise TokenConfigError(
            f"serving.auth is 'token' but ${TOKENS_ENV_VAR} holds no token: set it to one or "
            "more comma-separated tokens (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`), or set serving.auth: none explicitly"
        )
    short = [index for index, token in enumerate(tokens, 1) if len(token) < MIN_TOKEN_CHARS]
    if short:
        raise TokenConfigError(
            f"${TOKENS_ENV_VAR}: token {short[0]} is shorter than {MIN_TOKEN_CHARS} "
            "characters; use a random token of at least 32"
        )
    return tokens


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenCheck:
    """Whether a presented token is one of the valid ones, without keeping the tokens."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._digests = [digest(token) for token in tokens]

    def __call__(self, presented: str) -> bool:
        candidate = digest(presented)
        # Compare with every digest, not until the first match, so the time
        # taken does not say which token (or how many) matched.
        matches = [hmac.compare_digest(candidate, known) for known in self._digests]
        return any(matches)


def bearer_token(header: bytes) -> tuple[str | None, str | None]:
    """(token, None) for a well-formed `Bearer <token>` header, else (None, reason)."""
    if len(header) > MAX_AUTHORIZATION_BYTES:
        return None, "oversized"
    try:
        text = header.decode("ascii")
    except UnicodeDecodeError:
        return None, "malformed"
    scheme, _, token = text.partition(" ")
    if scheme.lower() != "bearer" or not token or token != token.strip() or " " in token:
        return None, "malformed"
    return token, None


def _token_in_query(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    names = {pair.partition(b"=")[0].lower() for pair in query.split(b"&") if pair}
    return any(name in names for name in TOKEN_QUERY_NAMES)


async def _refuse(send: Send, status: int, message: str, realm: str) -> None:
    body = json.dumps(error_body(message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if status == 401:
        headers.append((b"www-authenticate", f'Bearer realm="{realm}"'.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


REFUSALS = {
    "missing": (401, "authentication required: send `Authorization: Bearer <token>`"),
    "invalid": (401, "the bearer token is not valid"),
    "malformed": (400, "the Authorization header must be `Bearer <token>`, one token, no spaces"),
    "oversized": (400, f"the Authorization header is over {MAX_AUTHORIZATION_BYTES} bytes"),
    "token_in_url": (400, "tokens go in the Authorization header, never in the URL"),
}


class BearerAuth:
    """Refuses requests to protected paths that carry no valid bearer token."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        check: Callable[[str], bool],
        realm: str,
        metrics_public: bool,
        on_failure: Callable[[str], None],
    ) -> None:
        self.app = app
        self.check = check
        self.realm = realm
        self.open_paths = OPEN_PATHS | ({"/metrics"} if metrics_public else set())
        self.on_failure = on_failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        reason = self._refusal(scope)
        if reason is None:
            await self.app(scope, receive, send)
            return
        self.on_failure(reason)
        status, message = REFUSALS[reason]
        await _refuse(send, status, message, self.realm)

    def _refusal(self, scope: Scope) -> str | None:
        if _token_in_query(scope):
            return "token_in_url"
        if scope["path"] in DOCUMENT_PATHS:
            return None  # the docs hold no data; "Authorize" in them sends the token
        headers = [value for name, value in scope["headers"] if name == b"authorization"]
        if not headers:
            return "missing"
        if len(headers) > 1:
            return "malformed"  # which one would a proxy have checked?
        token, reason = bearer_token(headers[0])
        if token is None:
            return reason
        return None if self.check(token) else "invalid"
