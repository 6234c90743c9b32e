"""Every web request gets an id, one log line and one latency figure when it is answered.

The id is the `X-Request-ID` a reverse proxy sent, when it is a sane one (1–64 of
A–Z a–z 0–9 . _ : -), or one made here; it goes back in the response's `X-Request-ID` and on
every log line written while the request is handled (`current_request_id`, read by the log
formatter). The request's line names its route template (`/cases/{reference}`), never its
path or query string: those can hold what an officer searched for or a chat's words. The same
timing goes to /metrics (`heard_web_request_seconds`), so a request is timed once.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from desk.metrics import WEB_SECONDS

log = logging.getLogger("heard.web")

SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
REFERENCE = re.compile(r"CSC-\d{4}-\d{5}")
HEADER = b"x-request-id"
# Asked every few seconds by load balancers and monitoring: their lines would drown the rest.
QUIET = ("/healthz", "/readyz", "/metrics", "/static/")

_request_id: ContextVar[str | None] = ContextVar("heard_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the web request being handled here, if any."""
    return _request_id.get()


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == HEADER:
            text = value.decode("latin-1").strip()
            if SANE.fullmatch(text):
                return text
    return uuid.uuid4().hex


class RequestLog:
    """Pure ASGI (not BaseHTTPMiddleware), so the id reaches the route and its thread pool."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope.get("headers") or [])
        token = _request_id.set(request_id)
        began = time.monotonic()
        status = 500  # unless a response starts

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            self._answered(scope, status, time.monotonic() - began)
            raise  # the id stays set: the server's line about the error carries it too
        self._answered(scope, status, time.monotonic() - began)
        _request_id.reset(token)

    @staticmethod
    def _answered(scope: dict[str, Any], status: int, seconds: float) -> None:
        template = getattr(scope.get("route"), "path", None)
        WEB_SECONDS.labels(template or "unmatched", scope["method"], str(status)).observe(seconds)
        route = template or "(no route)"
        level = logging.DEBUG if scope.get("path", "").startswith(QUIET) and status < 500 else logging.INFO
        if not log.isEnabledFor(level):
            return
        reference = (scope.get("path_params") or {}).get("reference")
        case = reference.upper() if isinstance(reference, str) and REFERENCE.fullmatch(reference.upper()) else None
        duration = round(seconds * 1000, 1)
        log.log(level, "%s %s %d (%.1f ms)", scope.get("method"), route, status, duration,
                extra={"method": scope.get("method"), "route": route, "status": status, "duration_ms": duration,
                       "case": case})
