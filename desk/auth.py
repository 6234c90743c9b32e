"""Signing in: argon2 password hashes, sessions kept in the database, roles, and limits on
failed sign-ins.

A session is a random token in an HTTP-only cookie; the database keeps only its hash, when
it was last used and when it must end. So signing out ends it everywhere at once, an admin
can end an officer's sessions, and every web process sees the same thing. The sign-in
limits are kept in the database for the same reason.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from models import Officer, OfficerSession, SignInAttempt
from models.enums import OfficerRole
from desk.names import checked, normalise

_hasher = PasswordHasher()
# Verifying against this when the name is unknown keeps the time the same either way.
_DUMMY_HASH = _hasher.hash("not a real password")

RANK = {OfficerRole.officer: 0, OfficerRole.manager: 1, OfficerRole.admin: 2}
MIN_PASSWORD_LENGTH = 10


class NotSignedIn(Exception):
    """The request has no valid session (none, tampered, idle too long, or officer gone)."""


class SecondFactorOwed(NotSignedIn):
    """The password was right; the session waits for the code (or for enrolment)."""


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
    name = checked(name)
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


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _password_mark(officer: Officer) -> str:
    """A short digest of the password hash: a new password, however set, ends older sessions."""
    return hashlib.sha256(officer.password_hash.encode()).hexdigest()[:16]


@dataclass
class Sessions:
    """Starts, reads and ends officers' sessions. A session ends after `idle_seconds` without a
    request, and `lifetime_seconds` after it began however busy it is."""

    idle_seconds: int
    lifetime_seconds: int
    now: Callable[[], datetime]
    touch_every: timedelta = timedelta(seconds=60)  # how stale `last_seen_at` may be: fewer writes

    def start(self, db: Session, officer: Officer, *, second_factor_done: bool, address: str = "",
              user_agent: str = "") -> str:
        """A new session for an officer whose password was right; returns the cookie's token."""
        token = secrets.token_urlsafe(32)
        now = self.now()
        db.add(OfficerSession(token_hash=token_hash(token), officer_id=officer.id, created_at=now, last_seen_at=now,
                              expires_at=now + timedelta(seconds=self.lifetime_seconds),
                              second_factor_done=second_factor_done, password_mark=_password_mark(officer), address=address[:64], user_agent=user_agent[:200]))
        db.flush()
        return token

    def find(self, token: str | None, db: Session) -> tuple[Officer, OfficerSession]:
        """The officer and session a cookie names, if it is live (the second factor may still be owed)."""
        if not token or len(token) > 200:
            raise NotSignedIn("no session")
        row = db.exec(select(OfficerSession).where(OfficerSession.token_hash == token_hash(token))).first()
        if row is None or row.ended_at is not None:
            raise NotSignedIn("signed out")
        now = self.now()
        if now >= row.expires_at or (now - row.last_seen_at).total_seconds() > self.idle_seconds:
            raise NotSignedIn("timed out")  # nothing to write: an expired row can never be used again
        officer = db.get(Officer, row.officer_id)
        if officer is None or not officer.active or not hmac.compare_digest(row.password_mark, _password_mark(officer)):
            raise NotSignedIn("officer disabled or password changed")
        if now - row.last_seen_at >= self.touch_every:
            row.last_seen_at = now
            db.flush()
        return officer, row

    def read(self, token: str | None, db: Session) -> Officer:
        """The officer of a fully signed-in session (password and, where owed, the second factor)."""
        officer, row = self.find(token, db)
        if not row.second_factor_done:
            raise SecondFactorOwed(officer.id)  # type: ignore[arg-type]
        return officer

    def end(self, db: Session, token: str | None, why: str) -> None:
        if token and len(token) <= 200:
            db.execute(sa.update(OfficerSession).where(OfficerSession.token_hash == token_hash(token),
                                                       OfficerSession.ended_at.is_(None))  # type: ignore[union-attr]
                       .values(ended_at=self.now(), ended_why=why))

    def end_all(self, db: Session, officer_id: int, why: str, *, keep: int | None = None) -> int:
        """End every live session of an officer (but `keep`); returns how many ended."""
        query = sa.update(OfficerSession).where(OfficerSession.officer_id == officer_id,
                                                OfficerSession.ended_at.is_(None))  # type: ignore[union-attr]
        if keep is not None:
            query = query.where(OfficerSession.id != keep)
        return db.execute(query.values(ended_at=self.now(), ended_why=why)).rowcount or 0  # type: ignore[attr-defined]

    def live(self, db: Session, officer_id: int) -> list[OfficerSession]:
        now = self.now()
        rows = db.exec(select(OfficerSession).where(OfficerSession.officer_id == officer_id,
                                                    OfficerSession.ended_at.is_(None))  # type: ignore[union-attr]
                       .order_by(OfficerSession.last_seen_at.desc())).all()  # type: ignore[attr-defined]
        return [r for r in rows if now < r.expires_at and (now - r.last_seen_at).total_seconds() <= self.idle_seconds]


@dataclass
class SignInLimiter:
    """Limits on failed sign-ins, keyed on the name as the lookup normalises it:

    - `per_pair` failures for one name from one address in `window`, then that pair waits;
    - `per_address` failures from one address (any names) in `window`;
    - past `name_slowdown_after` failures on a name from anywhere in an hour, addresses that have
      not signed in as that officer before wait a little (doubling, at most `name_slowdown_max`)
      between tries. A stranger can slow guessing down for other strangers, but cannot lock the
      officer out: their own usual addresses are not slowed, and nobody waits more than a minute.
    """

    per_pair: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    name_slowdown_after: int = 10
    name_slowdown_max: int = 60
    known_for: timedelta = timedelta(days=30)

    @staticmethod
    def key(name: str) -> str:
        return normalise(name).casefold()[:120]

    def retry_after(self, db: Session, name: str, address: str, now: datetime) -> int:
        """Seconds to wait before trying again; 0 when a try is allowed."""
        key, waits = self.key(name), [0.0]
        failed = sa.select(SignInAttempt.at).where(SignInAttempt.succeeded.is_(False))  # type: ignore[attr-defined]
        since = now - self.window
        pair = db.execute(failed.where(SignInAttempt.name_key == key, SignInAttempt.address == address,
                                       SignInAttempt.at > since).order_by(SignInAttempt.at)).scalars().all()
        if len(pair) >= self.per_pair:
            waits.append((pair[-self.per_pair] + self.window - now).total_seconds())
        from_address = db.execute(failed.where(SignInAttempt.address == address, SignInAttempt.at > since)
                                  .order_by(SignInAttempt.at)).scalars().all()
        if len(from_address) >= self.per_address:
            waits.append((from_address[-self.per_address] + self.window - now).total_seconds())
        on_name = db.execute(failed.where(SignInAttempt.name_key == key, SignInAttempt.at > now - timedelta(hours=1))
                             .order_by(SignInAttempt.at)).scalars().all()
        if len(on_name) >= self.name_slowdown_after and not self._known(db, key, address, now):
            delay = min(2 ** (len(on_name) - self.name_slowdown_after), self.name_slowdown_max)
            waits.append((on_name[-1] + timedelta(seconds=delay) - now).total_seconds())
        return max(0, int(max(waits) + 0.999))

    def _known(self, db: Session, key: str, address: str, now: datetime) -> bool:
        return db.execute(sa.select(SignInAttempt.id).where(
            SignInAttempt.name_key == key, SignInAttempt.address == address, SignInAttempt.succeeded.is_(True),  # type: ignore[attr-defined]
            SignInAttempt.at > now - self.known_for).limit(1)).first() is not None

    def record(self, db: Session, name: str, address: str, now: datetime, *, succeeded: bool) -> None:
        key = self.key(name)
        if succeeded:  # this pair starts afresh; older records than anyone asks about are dropped
            db.execute(sa.delete(SignInAttempt).where(SignInAttempt.name_key == key, SignInAttempt.address == address,
                                                      SignInAttempt.succeeded.is_(False)))  # type: ignore[attr-defined]
            db.execute(sa.delete(SignInAttempt).where(SignInAttempt.at < now - self.known_for))
        db.add(SignInAttempt(name_key=key, address=address[:64], at=now, succeeded=succeeded))
        db.flush()


def at_least(officer: Officer | object, role: OfficerRole) -> bool:
    return RANK[officer.role] >= RANK[role]  # type: ignore[attr-defined]
