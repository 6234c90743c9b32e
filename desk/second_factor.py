"""Two-factor sign-in: a six-digit code from an authenticator app (TOTP, RFC 6238), or one of
ten one-time recovery codes when the phone is lost.

The QR code for enrolment is drawn here (segno), so the secret never leaves Heard. Each code's
time step is used once, so a code seen over a shoulder cannot be replayed; recovery codes are
kept only as hashes and each works once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno

from models import Officer
from models.enums import OfficerRole
from scheduler.policy import Policy

STEP = 30
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def required(officer: Officer, policy: Policy) -> bool:
    """Whether the policy makes this officer sign in with a second factor."""
    return policy.security.two_factor == "everyone" or officer.role in (OfficerRole.manager, OfficerRole.admin)


def enrolled(officer: Officer) -> bool:
    return bool(officer.totp_secret and officer.totp_confirmed_at)


def owed(officer: Officer, policy: Policy) -> bool:
    """After the password: is a code (or enrolment) still to come before the officer is in?"""
    return enrolled(officer) or required(officer, policy)


def start_enrolment(officer: Officer) -> str:
    """The secret being enrolled: made once, kept (unconfirmed) until the first code confirms it,
    so reloading the page or mistyping a code does not change the QR code already scanned."""
    if not officer.totp_secret:
        officer.totp_secret = pyotp.random_base32()
    return officer.totp_secret


def enrolment_uri(officer: Officer, issuer: str) -> str:
    return pyotp.TOTP(officer.totp_secret).provisioning_uri(name=officer.name, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code as an SVG data: URI (the page's content policy allows data: images, nothing remote)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def check_code(officer: Officer, code: str, now: datetime) -> bool:
    """A current code (or the one just before or after, for clock drift) not used before."""
    code = _clean(code)
    if not officer.totp_secret or len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    totp = pyotp.TOTP(officer.totp_secret)
    current = int(now.timestamp()) // STEP
    for step in (current - 1, current, current + 1):
        if step > officer.totp_last_step and hmac.compare_digest(totp.at(step * STEP), code):
            officer.totp_last_step = step
            return True
    return False


def _hash(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def new_recovery_codes(officer: Officer) -> list[str]:
    """Ten fresh codes to show once; any older ones stop working."""
    codes = ["-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(2)) for _ in range(RECOVERY_CODES)]
    officer.recovery_codes = [_hash(c) for c in codes]
    return codes


def use_recovery_code(officer: Officer, code: str) -> bool:
    digest = _hash(code)
    if not code.strip() or not any(hmac.compare_digest(digest, kept) for kept in officer.recovery_codes):
        return False
    officer.recovery_codes = [kept for kept in officer.recovery_codes if kept != digest]
    return True


def reset(officer: Officer) -> None:
    """Forget the second factor: the officer enrols again at the next sign-in."""
    officer.totp_secret, officer.totp_confirmed_at, officer.totp_last_step, officer.recovery_codes = "", None, 0, []
