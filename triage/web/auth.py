"""Signing in: argon2 password hashes, signed session cookies with an idle timeout, roles,
and a limit on failed sign-ins.

Sessions are stateless (an HMAC-signed cookie re-issued on every request), so several web
processes share nothing but the secret. A cookie names the officer and a fingerprint of
their password hash: changing a password or deactivating an officer ends their sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from models import Officer
from models.enums import OfficerRole

SESSION_COOKIE = "heard_session"
_hasher = PasswordHasher()
# Verifying against this when the name is unknown keeps the time the same either way.
_DUMMY_HASH = _hasher.hash("not a real password")

RANK = {OfficerRole.officer: 0, OfficerRole.manager: 1, OfficerRole.admin: 2}
MIN_PASSWORD_LENGTH = 10


class NotSignedIn(Exception):
    """The request has no valid session (none, tampered, idle too long, or officer gone)."""


class Forbidden(Exception):
    """Signed in, but the officer's role does not allow this."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def check_password(officer: Officer | None, password: str) -> bool:
    if officer is None or not officer.active or not officer.password_hash:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return False
    try:
        return _hasher.verify(officer.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    """A password to print once: 4 groups of 5 letters and digits, easy to type."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def add_officer(session: Session, name: str, role: OfficerRole, password: str, *, email: str = "", team_id: int | None = None) -> Officer:
    name = name.strip()
    if not name:
        raise ValueError("an officer needs a name")
    if session.exec(select(Officer).where(Officer.name == name)).first():
        raise ValueError(f"there is already an officer called {name!r}")
    officer = Officer(name=name, role=role, password_hash=hash_password(password), email=email, team_id=team_id)
    session.add(officer)
    session.flush()
    return officer


def ensure_first_admin(session: Session) -> str | None:
    """Create `admin` with a fresh password when no officer exists; return the password (to print once)."""
    if session.exec(select(Officer.id)).first() is not None:
        return None
    password = new_password()
    add_officer(session, "admin", OfficerRole.admin, password)
    return password


def first_admin(engine) -> str | None:  # type: ignore[no-untyped-def]
    """At start: when nobody can sign in yet, make `admin` and return its password to print once.

    Two processes starting together cannot both make one: the name is unique, and the loser
    simply finds an officer already there."""
    import sqlalchemy as sa

    try:
        with Session(engine) as session:
            password = ensure_first_admin(session)
            session.commit()
            return password
    except sa.exc.IntegrityError:
        return None


def load_or_create_secret(path: Path) -> str:
    """The session key kept under var/ when HEARD_SECRET_KEY is empty (made once, mode 600)."""
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key + "\n", encoding="utf-8")
    return key


def _fingerprint(officer: Officer) -> str:
    return hashlib.sha256(f"{officer.password_hash}|{officer.role}|{officer.active}".encode()).hexdigest()[:16]


@dataclass
class Sessions:
    """Signs and reads the session cookie; `idle_seconds` without a request ends a session."""

    secret: str
    idle_seconds: int
    now: Callable[[], datetime]

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self.secret.encode(), b"session|" + payload, hashlib.sha256).hexdigest()

    def issue(self, officer: Officer) -> str:
        body = json.dumps({"o": officer.id, "f": _fingerprint(officer), "t": int(self.now().timestamp())}).encode()
        payload = base64.urlsafe_b64encode(body)
        return f"{payload.decode()}.{self._sign(payload)}"

    def read(self, cookie: str | None, session: Session) -> Officer:
        if not cookie or "." not in cookie:
            raise NotSignedIn("no session")
        payload, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(payload.encode())):
            raise NotSignedIn("bad signature")
        try:
            data = json.loads(base64.urlsafe_b64decode(payload.encode()))
            officer_id, fingerprint, last_seen = int(data["o"]), str(data["f"]), int(data["t"])
        except (ValueError, KeyError, TypeError):
            raise NotSignedIn("unreadable session") from None
        if self.now().timestamp() - last_seen > self.idle_seconds:
            raise NotSignedIn("idle too long")
        officer = session.get(Officer, officer_id)
        if officer is None or not officer.active or not hmac.compare_digest(fingerprint, _fingerprint(officer)):
            raise NotSignedIn("officer changed")
        return officer


@dataclass
class SignInLimiter:
    """At most `per_name` failed sign-ins per name and `per_address` per client in `window` seconds."""

    per_name: int = 5
    per_address: int = 20
    window: float = 15 * 60
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def _recent(self, key: str) -> deque[float]:
        times = self._failures[key]
        while times and self.clock() - times[0] > self.window:
            times.popleft()
        return times

    def retry_after(self, name: str, address: str) -> int:
        """Seconds to wait before trying again, 0 when a try is allowed."""
        waits = []
        for key, limit in ((f"name:{name.lower()}", self.per_name), (f"addr:{address}", self.per_address)):
            times = self._recent(key)
            if len(times) >= limit:
                waits.append(int(self.window - (self.clock() - times[0])) + 1)
        return max(waits, default=0)

    def failed(self, name: str, address: str) -> None:
        self._recent(f"name:{name.lower()}").append(self.clock())
        self._recent(f"addr:{address}").append(self.clock())

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"name:{name.lower()}", None)


def at_least(officer: Officer | object, role: OfficerRole) -> bool:
    return RANK[officer.role] >= RANK[role]  # type: ignore[attr-defined]
