"""Values from URLs and forms, checked before they reach the database.

Anything can arrive in a URL or a form: `²` passes `str.isdigit()` but not `int()`, thirty
digits overflow the database's integer columns, `1e308` pounds overflow the pence column,
a NUL cannot be stored in PostgreSQL. Each parser here takes the text as sent and returns a
value the database can hold, or raises `BadValue` with a sentence an officer can act on;
the app answers that with a 400 (an HTML page, or JSON under /api/). One place, so every
route checks the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

MAX_ID = 2**31 - 1  # ids are INTEGER columns (32 bits in PostgreSQL): no record has a larger one
MAX_PAGE = 100_000
MAX_PENCE = 100_000_000  # £1,000,000: far above any compensation a council pays, and within the column
EARLIEST_DAY = date(2000, 1, 1)  # no complaint handled in Heard started before this
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: `²` and `٣` are digits to Python, not to people
_POUNDS = re.compile(r"([0-9]{0,12})(?:\.([0-9]{0,2}))?")


class BadValue(ValueError):
    """A value that makes no sense here; the message says why, in plain words, for the officer."""


def shown(raw: str, limit: int = 40) -> str:
    """The value as typed, quoted and cut short, for a message."""
    return repr(raw[:limit] + ("…" if len(raw) > limit else ""))


def _digits(raw: str) -> int | None:
    """ASCII digits as a number, -1 when too long to matter (int() refuses 4,300 digits), None when not digits."""
    text = raw.strip()
    if not _DIGITS.fullmatch(text):
        return None
    return int(text) if len(text) <= 18 else -1


def whole_number(raw: str, what: str, *, low: int, high: int) -> int:
    """ASCII digits between `low` and `high`, or BadValue."""
    value = _digits(raw)
    if value is None:
        raise BadValue(f"{what}: {shown(raw)} is not a whole number")
    if not low <= value <= high:
        raise BadValue(f"{what}: {shown(raw)} is not between {low:,} and {high:,}")
    return value


def record_id(raw: str, what: str) -> int:
    """The id of a record: a whole number no record could lack the room for."""
    value = _digits(raw)
    if value is None:
        raise BadValue(f"{what}: {shown(raw)} is not a number")
    if not 1 <= value <= MAX_ID:
        raise BadValue(f"{what}: {shown(raw)} is not the number of any {what}")
    return value


def optional_id(raw: str, what: str) -> int | None:
    """An id, or None for an empty field (a form's "nobody" or "none")."""
    return record_id(raw, what) if raw.strip() else None


def page_number(raw: str) -> int:
    return whole_number(raw, "page", low=1, high=MAX_PAGE) if raw.strip() else 1


def pence(raw: str, what: str = "compensation") -> int:
    """An amount in pounds ("150", "£1,250.50") as pence; never a float, so never `inf` or `1e308`."""
    text = raw.strip().removeprefix("£").replace(",", "").strip()
    if not text:
        return 0
    match = _POUNDS.fullmatch(text)
    if not match or not (match[1] or match[2]):
        raise BadValue(f"{what} {shown(raw, 20)} is not an amount in pounds, like 150 or 150.00")
    amount = int(match[1] or "0") * 100 + int((match[2] or "0").ljust(2, "0"))
    if amount > MAX_PENCE:
        raise BadValue(f"{what} {shown(raw, 20)} is more than £{MAX_PENCE // 100:,}: check the amount")
    return amount


def short_text(raw: str, what: str, limit: int) -> str:
    """Text for a column of `limit` characters (PostgreSQL refuses a longer one outright)."""
    text = raw.strip()
    if len(text) > limit:
        raise BadValue(f"{what} is {len(text):,} characters long; the most is {limit}")
    return text


def day(raw: str, what: str, *, default: date) -> date:
    """A date as YYYY-MM-DD, from 2000 on (an empty field is `default`). Later than today is
    the caller's rule to word; earlier than 2000 would have the clock count decades of holidays."""
    text = raw.strip()
    if not text:
        return default
    try:
        value = date.fromisoformat(text) if len(text) == 10 and text.isascii() else None
    except ValueError:
        value = None
    if value is None:
        raise BadValue(f"{what} {shown(raw, 20)} is not a date (YYYY-MM-DD)")
    if value < EARLIEST_DAY:
        raise BadValue(f"{what} {value.isoformat()} is before {EARLIEST_DAY.year}: check the year")
    return value


def without_nul(pairs: Iterable[tuple[str, Any]]) -> None:
    """A NUL character is never typed, and PostgreSQL cannot store or compare one: refuse it at the door."""
    for name, value in pairs:
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise BadValue(f"the field {shown(name.replace(chr(0), ''))} holds a NUL character (\\0), "
                           "which no keyboard types; remove it and try again")


def plain_words(errors: Iterable[Mapping[str, Any]]) -> str:
    """FastAPI's validation errors as one sentence for a person."""
    said = []
    for error in errors:
        where = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body", "form")]
        name = ".".join(where) or "the request"
        value = error.get("input")
        typed = f" {shown(value)}" if isinstance(value, str) else ""
        kind = str(error.get("type", ""))
        context = error.get("ctx") or {}
        if kind == "missing":
            said.append(f"{name} is missing")
        elif kind in ("int_parsing", "int_from_float", "int_type"):
            said.append(f"{name}{typed} is not a whole number")
        elif kind in ("greater_than_equal", "greater_than"):
            said.append(f"{name}{typed} is too small (the least is {context.get('ge', context.get('gt'))})")
        elif kind in ("less_than_equal", "less_than"):
            said.append(f"{name}{typed} is too large (the most is {context.get('le', context.get('lt'))})")
        elif kind == "enum":
            said.append(f"{name}{typed} is not one of {context.get('expected', 'the choices')}")
        else:
            said.append(f"{name}{typed}: {str(error.get('msg', 'not understood')).lower()}")
    return "; ".join(said) or "the request was not understood"
