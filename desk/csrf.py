"""Cross-site request forgery: refused for every form and every API change, before any route
runs (so a new form cannot forget it); and the security headers of every page.

Two checks on every POST/PUT/PATCH/DELETE:
- the browser's own word on where the request came from (`Sec-Fetch-Site`, `Origin`): another
  site, a sibling subdomain or another port is refused;
- a token in the form (`csrf_token`) or header (`X-CSRF-Token`): HMAC(secret, the session's
  token). Bound to the server-side session, it cannot be minted by anyone who does not hold
  the officer's session cookie. Before sign-in it is bound to a random pre-session cookie.
Paths in `exempt` (the public web chat, which has no sign-in) skip the token, not the origin check.
A form with a file (multipart, e.g. a scanned letter) carries the token as a field like any form,
and may be as large as `max_upload_bytes` (at least MAX_UPLOAD_BYTES, for a reply's attachments); any other body at most `MAX_FORM_BYTES`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.cookies import CookieNames, header, read

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_BYTES = 1024 * 1024
MAX_UPLOAD_BYTES = 12 * 1024 * 1024  # a form with files (multipart): a reply's attachments, with room to refuse them in words
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


def token_for(secret: str, bound_to: str) -> str:
    return hmac.new(secret.encode(), b"csrf|" + bound_to.encode(), hashlib.sha256).hexdigest()


EXPIRED = "This form has expired or did not come from Heard. Go back, reload the page and try again."
NO_COOKIE = ("Heard did not get its cookie back with this form, so it cannot tell the form came from you. "
             "Check that your browser accepts cookies from this site.")
NO_SECURE_COOKIE = (" Heard's cookies are marked Secure, so browsers only send them over https:// (or to localhost): "
                    "open Heard at its https:// address, or for a trial over plain http set HEARD_WEB_SECURE_COOKIES=false.")


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, secret: str, *, secure: bool = True, exempt: tuple[str, ...] = (),
                 public_origin: str = "", max_upload_bytes: int = MAX_FORM_BYTES) -> None:
        self.app, self.secret, self.secure, self.exempt = app, secret, secure, exempt
        self.max_upload_bytes = max(max_upload_bytes, MAX_UPLOAD_BYTES)
        self.names = CookieNames.for_(secure)
        self.public_origin = public_origin.rstrip("/").lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session_token = read(scope, self.names.session)
        cookie = read(scope, self.names.csrf)
        fresh = cookie is None or len(cookie) < 32
        if fresh:
            cookie = secrets.token_hex(32)
        assert cookie is not None
        expected = token_for(self.secret, f"session|{session_token}" if session_token else f"pre|{cookie}")
        scope.setdefault("state", {})["csrf_token"] = expected
        if scope["method"] in UNSAFE:
            refusal = self._cross_site(scope)
            if refusal is None and not scope["path"].startswith(self.exempt or ("\0",)):
                content_type = header(scope, b"content-type") or ""
                multipart = content_type.startswith("multipart/form-data")
                body = await _read_body(receive, self.max_upload_bytes if multipart else MAX_FORM_BYTES)
                if body is None:
                    await PlainTextResponse("That form is too large.", status_code=413)(scope, receive, send)
                    return
                sent = header(scope, CSRF_HEADER.encode())
                if sent is None and content_type.startswith("application/x-www-form-urlencoded"):
                    sent = (parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD) or [None])[0]
                elif sent is None and multipart:
                    sent = await _multipart_field(scope, body, CSRF_FIELD)
                if not sent or not hmac.compare_digest(sent, expected):
                    cookieless = fresh and session_token is None and bool(sent)
                    refusal = (NO_COOKIE + (NO_SECURE_COOKIE if self.secure else "")) if cookieless else EXPIRED
                receive = _replay(body, receive)
            if refusal is not None:
                await PlainTextResponse(refusal, status_code=403)(scope, receive, self._wrap(send, cookie, fresh))
                return
        await self.app(scope, receive, self._wrap(send, cookie, fresh))

    def _cross_site(self, scope: Scope) -> str | None:
        """A refusal when the browser says the request came from somewhere else; None when it did not.
        Clients that send neither header (scripts, the API's own users) are left to the token."""
        site = header(scope, b"sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return f"Heard refused this request because it came from another site ({site})."
        origin = header(scope, b"origin")
        if origin is None:
            return None
        host = (header(scope, b"host") or "").lower()
        if origin.lower() == self.public_origin or (origin != "null" and urlsplit(origin).netloc.lower() == host):
            return None
        return f"Heard refused this request because it came from another site ({origin[:100]})."

    def _wrap(self, send: Send, cookie: str, fresh: bool) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if fresh:
                    flags = "; Secure" if self.secure else ""
                    headers.append("set-cookie", f"{self.names.csrf}={cookie}; Path=/; HttpOnly; SameSite=Strict{flags}")
            await send(message)

        return wrapped


async def _read_body(receive: Receive, limit: int = MAX_FORM_BYTES) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _multipart_field(scope: Scope, body: bytes, name: str) -> str | None:
    """One text field of a multipart body (the token), or None when there is none or the body
    cannot be read as multipart (the route then answers for the body itself)."""
    async def stream() -> AsyncIterator[bytes]:
        yield body

    try:
        form = await MultiPartParser(Headers(scope=scope), stream(), max_files=10, max_fields=100).parse()
    except (MultiPartException, ValueError):
        return None
    try:
        value = form.get(name)
        return value if isinstance(value, str) else None
    finally:
        await form.close()


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
