"""Heard's logs: one line per event, as text or as JSON (`HEARD_LOG_FORMAT=json`), on stderr.

A line carries ids, never what people wrote or who they are: the case reference, the web
request's id (`desk.request_id`), the stored message, the Telegram update, the outbox item.
Two things keep words out even when a call site slips:

- An exception is rendered as its type, its system error code (errno, SQLSTATE, SQLite's
  error name) and its traceback's frames — never its message, which can quote a value
  (SQLAlchemy puts a statement's parameters in it; psycopg the offending value; an SMTP
  relay the recipient's address). That goes for exceptions passed as a message's arguments too.
- Other libraries log at WARNING and above only (aiosmtpd logs envelope addresses at INFO,
  aiogram update ids, SQLAlchemy parameters at DEBUG); uvicorn's access log, which prints
  query strings (a search for a name), is off: `desk.request_id` logs each request instead,
  by its route template.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from desk.request_id import current_request_id

# Record attributes (given as `extra=`) that become fields of a line, in this order. Only ids,
# references, numbers and route templates are ever passed as these.
FIELDS = ("case", "request_id", "message_id", "update_id", "outbox_id", "channel", "method", "route", "status", "duration_ms")
QUIET_LIBRARIES = ("uvicorn", "uvicorn.error", "mail.log", "aiogram", "aiohttp", "sqlalchemy", "asyncio", "multipart",
                   "httpx", "httpcore", "aiosmtplib", "alembic")
_ROOTS = [Path(__file__).resolve().parents[1], *(Path(p) for p in sys.path if p.endswith("-packages"))]


def setup(log_format: str = "text", level: str = "INFO") -> None:
    """Send every log line to stderr in `log_format`; Heard's own loggers at `level`, other
    libraries' at WARNING. Safe to call again (the handler is replaced, not added twice)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "heard", False)]:
        root.removeHandler(handler)
    handler = _Stderr()
    handler.heard = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_ours_or_a_warning)  # even a library that sets its own logger to INFO writes nothing below WARNING
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("heard").setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)  # Python's warnings too, as lines of this format rather than raw stderr
    access = logging.getLogger("uvicorn.access")  # paths with query strings: never
    access.setLevel(logging.CRITICAL + 1)
    access.propagate = False


def _ours_or_a_warning(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name == "heard" or record.name.startswith("heard.")


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Whatever sys.stderr is at the moment of writing (a test's capture, a redirected stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # type: ignore[no-untyped-def]
        pass


def describe(exc: BaseException) -> str:
    """An exception without its message: `OperationalError (SQLITE_BUSY)`, `ConnectionRefusedError (errno 111)`."""
    code = _code(exc)
    return f"{type(exc).__name__} ({code})" if code else type(exc).__name__


def _code(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy's wrapper round the driver's own error
    for candidate in (orig, exc):
        if candidate is None:
            continue
        for attribute in ("sqlstate", "sqlite_errorname", "pgcode"):
            value = getattr(candidate, attribute, None)
            if isinstance(value, str) and value.isascii() and value.replace("_", "").isalnum() and len(value) <= 40:
                return f"{type(candidate).__module__.split('.')[0]} {value}" if candidate is orig else value
    if isinstance(exc, OSError) and isinstance(exc.errno, int):
        return f"errno {exc.errno}"
    return ""


def _frames(tb: TracebackType | None) -> list[str]:
    return [f"{_short(frame.filename)}:{frame.lineno} in {frame.name}" for frame in traceback.extract_tb(tb)]


def _short(filename: str) -> str:
    path = Path(filename)
    for root in _ROOTS:
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return path.name


def exception_fields(exc: BaseException) -> dict[str, Any]:
    """The type, code and frames of an exception and of what caused it, innermost call last."""
    found: dict[str, Any] = {"type": describe(exc), "frames": _frames(exc.__traceback__)}
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if cause is not None and cause is not exc:
        found["cause"] = exception_fields(cause)
    return found


def _message(record: logging.LogRecord) -> str:
    """The message, with any exception among its arguments described rather than quoted."""
    msg = describe(record.msg) if isinstance(record.msg, BaseException) else str(record.msg)
    args = record.args
    if isinstance(args, tuple):
        args = tuple(describe(a) if isinstance(a, BaseException) else a for a in args)
    elif isinstance(args, dict):
        args = {k: describe(v) if isinstance(v, BaseException) else v for k, v in args.items()}
    try:
        return msg % args if args else msg
    except (TypeError, ValueError):
        return msg


def _context(record: logging.LogRecord) -> dict[str, Any]:
    found = {}
    for name in FIELDS:
        value = getattr(record, name, None)
        if name == "request_id" and value is None:
            value = current_request_id()
        if value is not None and value != "":
            found[name] = value
    return found


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "event", "case", "request_id", …, "exception"}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": _time(record), "level": record.levelname, "logger": record.name,
                                "event": _one_line(_message(record)), **_context(record)}
        if record.exc_info and record.exc_info[1] is not None:
            line["exception"] = exception_fields(record.exc_info[1])
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2026-11-27T09:00:00.000Z INFO heard.email: event [case=… message=…]`, traceback on the same line."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{_time(record)} {record.levelname} {record.name}: {_one_line(_message(record))}"
        context = _context(record)
        if context:
            text += " [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]"
        if record.exc_info and record.exc_info[1] is not None:
            text += " | " + _text_exception(exception_fields(record.exc_info[1]))
        return text


def _text_exception(fields: dict[str, Any]) -> str:
    text = f"{fields['type']} at " + " < ".join(reversed(fields["frames"])) if fields["frames"] else fields["type"]
    if "cause" in fields:
        text += " | caused by " + _text_exception(fields["cause"])
    return text
