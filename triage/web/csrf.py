"""CSRF protection for every form and every API change, and the security headers of every page.

A random HTTP-only cookie (`heard_csrf`) is set on first visit; each form carries
HMAC(secret, cookie) in a hidden `csrf_token` field (API calls send it as `X-CSRF-Token`).
The check runs here, before any route, for every POST/PUT/PATCH/DELETE, so a new form
cannot forget it. Paths in `exempt` (the public web chat) are left to their own rules.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "heard_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_BYTES = 1024 * 1024
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def token_for(secret: str, cookie_value: str) -> str:
    return hmac.new(secret.encode(), b"csrf|" + cookie_value.encode(), hashlib.sha256).hexdigest()


def _cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is treated as no cookie
                continue
            if CSRF_COOKIE in jar:
                return jar[CSRF_COOKIE].value
    return None


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return None


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, secret: str, *, secure: bool = True, exempt: tuple[str, ...] = ()) -> None:
        self.app, self.secret, self.secure, self.exempt = app, secret, secure, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = _cookie(scope)
        fresh = cookie is None or len(cookie) < 32
        if fresh:
            cookie = secrets.token_hex(32)
        assert cookie is not None
        scope.setdefault("state", {})["csrf_token"] = token_for(self.secret, cookie)
        path: str = scope["path"]
        if scope["method"] in UNSAFE and not path.startswith(self.exempt or ("\0",)):
            body = await _read_body(receive)
            if body is None:
                await PlainTextResponse("That form is too large.", status_code=413)(scope, receive, send)
                return
            sent = _header(scope, CSRF_HEADER.encode())
            if sent is None and (_header(scope, b"content-type") or "").startswith("application/x-www-form-urlencoded"):
                sent = (parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD) or [None])[0]
            if fresh or not sent or not hmac.compare_digest(sent, token_for(self.secret, cookie)):
                response = PlainTextResponse(
                    "This form has expired or did not come from Heard. Go back, reload the page and try again.",
                    status_code=403,
                )
                await response(scope, receive, self._wrap(send, cookie, fresh))
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, self._wrap(send, cookie, fresh))

    def _wrap(self, send: Send, cookie: str, fresh: bool) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if fresh:
                    flags = "; Secure" if self.secure else ""
                    headers.append("set-cookie", f"{CSRF_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Strict{flags}")
            await send(message)

        return wrapped


async def _read_body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """Hand the route the body already read, then pass through (for disconnect notices)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
