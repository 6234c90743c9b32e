"""The app's two cookies and their names.

When cookies are Secure (the default), their names carry the `__Host-` prefix: browsers then
accept them only from this exact host over HTTPS, with `Path=/` and no `Domain`, so a sibling
subdomain or another port cannot plant one.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie

from starlette.types import Scope


@dataclass(frozen=True)
class CookieNames:
    session: str
    csrf: str

    @classmethod
    def for_(cls, secure: bool) -> CookieNames:
        prefix = "__Host-" if secure else ""
        return cls(session=f"{prefix}heard_session", csrf=f"{prefix}heard_csrf")


def read(scope: Scope, name: str) -> str | None:
    """One cookie's value from the request headers (a malformed Cookie header counts as none)."""
    for header, value in scope.get("headers", []):
        if header == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                continue
            if name in jar:
                return jar[name].value
    return None


def header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return None
