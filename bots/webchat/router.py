"""Web chat for young people without Telegram: one accessible page, the same conversation.

No account and no third-party scripts; it works without JavaScript (a form that posts and
comes back) and, with our own small script, updates in place and shows officers' replies as
they arrive. The chat's session is a random token in a cookie; the database holds only its
hash, so a copy of the database cannot be used to read someone's chat.
"""

from __future__ import annotations

import asyncio
import contextvars
import contextlib
import functools
import hashlib
import hmac
import re
import secrets
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage import figures
from bots.conversation import Conversation, Reply, wording
from bots.conversation import state as chat_state
from bots.conversation import turn as turns
from bots.conversation.dialogue import GREETING
from models import ChannelIdentity, Message
from models.enums import Channel, Direction
from scheduler.clock import Clock
from scheduler.policy import Policy
from triage.intake import Classify
from models.values import MAX_ID, BadValue, whole_number

HERE = Path(__file__).parent
COOKIE = "heard_chat"
# Over HTTPS the chat's cookie is `__Host-heard_chat`: a browser takes it only from this exact
# host, with `Path=/` and no `Domain`, so a page on a sibling subdomain cannot plant its own
# token and read what a child then writes. A cookie set under the old name is read once and
# moved across, so nobody's chat is lost when the name changes.
SECURE_COOKIE = "__Host-heard_chat"
MAX_TEXT = 20_000  # longer is refused with a clear message, never cut short
SHOWN = 200  # the most messages a page shows
COMMANDS = {"help", "status", "privacy", "new"}
COMMAND_LABELS = {"command:status": "Where are we?", "command:new": wording.NEW,
                  "command:privacy": "What happens to what I write", "command:help": "Help"}
REFERENCE = re.compile(r"(CSC-\d{4}-\d{5})")
HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "cache-control": "no-store", "referrer-policy": "no-referrer", "x-content-type-options": "nosniff",
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def keep_references_whole(text: str) -> Markup:
    """The text, escaped, with each reference in a span that never breaks across lines
    ("CSC-2026-" / "00020" on a phone is a reference nobody can copy or read out)."""
    return Markup("").join(Markup('<span class="ref">{}</span>').format(part) if REFERENCE.fullmatch(part) else escape(part)
                           for part in REFERENCE.split(text))


def first_token(once: str, key: bytes) -> str:
    """The cookie a chat's first post starts: made from that post's `once`, so a browser that
    sends the same first post again (its answer never came: a dropped connection, a web process
    restarting) still has no cookie but lands in the same chat, where the repeat is taken once,
    instead of opening a second chat and a second case with the same words. `once` is random,
    made for one form and kept with the post as received, so it is keyed with the web app's
    secret (the same in every web process): a copy of the database, which holds the `once`,
    still cannot make the cookie. Without a `once`, nothing is said and the token is only random."""
    if not once:
        return secrets.token_urlsafe(32)
    return "f-" + hmac.new(key, b"heard-webchat-first-post:" + once.encode(), hashlib.sha256).hexdigest()[:43]


def address_of(token: str) -> str:
    """The chat's address in the database: a hash of the cookie, never the cookie itself."""
    return "wc-" + hashlib.sha256(token.encode()).hexdigest()[:40]


class WebChat:
    """The web chat's parts: the conversation, the database, per-chat order, the page."""

    def __init__(self, engine: Engine, conversation: Conversation, now: Callable[[], datetime]) -> None:
        self.engine, self.conversation, self.now = engine, conversation, now
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()
        # One writer at a time: SQLite has a single writer whose busy wait sleeps, so queueing
        # here is much faster than letting request threads collide in the database.
        single_writer = engine.dialect.name == "sqlite"
        self._writing: Any = threading.Lock() if single_writer else contextlib.nullcontext()
        # The chat's database work runs on threads of its own (one for SQLite, a few for
        # PostgreSQL): requests queue there instead of forty request threads contending for the
        # interpreter and the database at once.
        self.database = ThreadPoolExecutor(1 if single_writer else 4, thread_name_prefix="heard-webchat-db")

        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                      trim_blocks=True, lstrip_blocks=True)
        self.env.filters["references"] = keep_references_whole

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # In the request's context, so the turn's log line carries the request's id.
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.database, call)

    def lock(self, address: str) -> threading.Lock:
        with self._guard:
            found = self._locks.get(address)
            if found is None:
                found = self._locks[address] = threading.Lock()
            return found

    def key(self, address: str) -> str:
        return f"webchat:{address}"

    def send(self, address: str, fresh: bool, *, text: str, button: str, once: str) -> None:
        """Raw first, then one turn of the conversation — for words, a button or a command."""
        now = self.now()
        with self.lock(address), self._writing:
            if fresh and self._known(address):
                fresh = False  # the first post sent again: the greeting is kept already
            if fresh:  # what the page showed before the first post is kept as said
                turns.turn(self.engine, self.key(address), Channel.webchat, address, now,
                           lambda s, chat: self.conversation.command(s, chat, "start", now))
            label = (COMMAND_LABELS.get(button) or self._label(address, button)) if button else ""
            stored = turns.store(
                self.engine, dedupe_key=f"webchat:post:{address}:{once}", channel=Channel.webchat, address=address,
                now=now, text=label or text, raw_json={"text": text, "button": button, "once": once},
                external_id=f"webchat:{address}:{once}", headers={"button": button} if button else {},
            )
            if not stored.fresh:
                return  # the same form sent twice
            figures.accepted("webchat")
            command = button.removeprefix("command:") if button.startswith("command:") else ""
            if command in COMMANDS:
                act = lambda s, chat: self.conversation.command(s, chat, command, now)  # noqa: E731
            elif button:
                act = lambda s, chat: self.conversation.press(s, chat, button, now)  # noqa: E731
            else:
                def act(s: Session, chat: Any) -> list[Reply]:
                    return self.conversation.message(s, chat, stored.id, now, text=text)
            turns.turn(self.engine, self.key(address), Channel.webchat, address, now, act, handled=stored.id)

    def _known(self, address: str) -> bool:
        with Session(self.engine) as session:
            return session.exec(select(ChannelIdentity.id).where(
                ChannelIdentity.channel == Channel.webchat, ChannelIdentity.address == address)).first() is not None

    def close_if_paused(self, address: str) -> None:
        """Called by the page's polling: a cheap read first, a write only when the story has paused."""
        now = self.now()
        with Session(self.engine) as session:
            chat = chat_state.load(session, self.key(address), Channel.webchat, address)
        last = chat.data.get("last_at")
        if chat.state != "story" or not chat.parts or not last or \
                now - datetime.fromisoformat(last) < self.conversation.pause:
            return
        with self.lock(address), self._writing:
            turns.turn(self.engine, self.key(address), Channel.webchat, address, now,
                       lambda s, chat: self.conversation.close_if_paused(s, chat, now))

    def _label(self, address: str, value: str) -> str:
        """The words on the button pressed, so the transcript reads as the person saw it."""
        with Session(self.engine) as session:
            recent = session.exec(select(Message.headers).where(
                Message.channel == Channel.webchat, Message.direction == Direction.outbound, Message.sender == "heard",
                Message.contact_id == sa.select(ChannelIdentity.contact_id).where(
                    ChannelIdentity.channel == Channel.webchat, ChannelIdentity.address == address).scalar_subquery(),
            ).order_by(Message.id.desc()).limit(5)).all()
        for headers in recent:
            for b in (headers or {}).get("buttons", []):
                if b.get("value") == value:
                    return str(b.get("label", value))
        return value

    def messages(self, address: str, after: int) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            contact_id = session.exec(select(ChannelIdentity.contact_id).where(
                ChannelIdentity.channel == Channel.webchat, ChannelIdentity.address == address)).first()
            if contact_id is None:
                return []
            rows = session.exec(
                select(Message.id, Message.direction, Message.text, Message.headers, Message.sender)
                .where(Message.contact_id == contact_id, Message.channel == Channel.webchat, Message.id > after)
                .order_by(Message.id.desc()).limit(SHOWN)
            ).all()
        shown = []
        for row in reversed(rows):
            if row.direction == Direction.inbound and not row.text:
                continue
            shown.append({"id": row.id, "from": "you" if row.direction == Direction.inbound else "heard",
                          "text": row.text, "buttons": (row.headers or {}).get("buttons", [])
                          if row.direction == Direction.outbound else [],
                          "officer": row.direction == Direction.outbound and (row.headers or {}).get("purpose") == "reply"})
        return shown


def webchat_router(engine: Engine, policy: Policy, *, zone: ZoneInfo = ZoneInfo("Europe/London"),
                   classify: Classify | None = None, pause_seconds: float = 120, secure_cookies: bool = True,
                   now: Callable[[], datetime] = _utcnow, prefix: str = "/chat", secret: bytes | None = None) -> APIRouter:
    """The web chat's routes under `prefix` (public: no sign-in). `secret` keys the first post's
    cookie (see `first_token`): give every web process the same one, or a first post sent again
    to another process opens a second chat; by default a random one for this process."""
    key = secret or secrets.token_bytes(32)
    conversation = Conversation(Clock(policy), zone, classify, pause=timedelta(seconds=pause_seconds),
                                help_text=wording.HELP_WEB)
    chat = WebChat(engine, conversation, now)
    router = APIRouter(prefix=prefix, include_in_schema=False)
    cookie_name, cookie_path = (SECURE_COOKIE, "/") if secure_cookies else (COOKIE, prefix)

    def token_of(request: Request) -> str | None:
        return request.cookies.get(cookie_name) or request.cookies.get(COOKIE)

    def keep(response: Response, request: Request, token: str) -> None:
        """Set the chat's cookie when it is new, or still under its old name."""
        if request.cookies.get(cookie_name) == token:
            return
        response.set_cookie(cookie_name, token, max_age=180 * 24 * 3600, path=cookie_path, secure=secure_cookies,
                            httponly=True, samesite="strict")
        if cookie_name != COOKIE and request.cookies.get(COOKIE):
            response.delete_cookie(COOKIE, path=prefix)

    def page(request: Request, token: str | None) -> Response:
        address = address_of(token) if token else None
        shown = chat.messages(address, 0) if address else []
        if not shown:
            shown = [{"id": 0, "from": "heard", "text": r.text, "officer": False,
                      "buttons": [{"label": b.label, "value": b.value} for b in r.buttons]} for r in GREETING]
        body = chat.env.get_template("chat.html").render(
            messages=shown, buttons=shown[-1]["buttons"] if shown[-1]["from"] == "heard" else [],
            once=secrets.token_urlsafe(12), prefix=prefix, safety=wording.HELP_NOW, labels=wording,
            last=shown[-1]["id"], commands=COMMAND_LABELS, max_text=MAX_TEXT,
        )
        return HTMLResponse(body, headers=HEADERS)

    @router.get("")
    def show(request: Request) -> Response:
        token = token_of(request)
        response = page(request, token)
        if token:
            keep(response, request, token)
        return response

    @router.post("")
    async def post(request: Request, text: str = Form(""), button: str = Form(""), once: str = Form(""),
                   after: str = Form("0")) -> Response:
        if not _same_site(request):
            return JSONResponse({"detail": "cross-site post refused"}, status_code=403)
        wants_json = "application/json" in request.headers.get("accept", "")
        if len(text) > MAX_TEXT:
            detail = f"That message is too long ({len(text):,} characters). Please send it in parts of up to {MAX_TEXT:,}."
            return JSONResponse({"detail": detail}, status_code=413, headers=HEADERS) if wants_json else \
                HTMLResponse(f"<!doctype html><title>Too long</title><p>{detail}</p><p><a href=\"{prefix}\">Back to the chat</a></p>",
                             status_code=413, headers=HEADERS)
        # A NUL is never typed and PostgreSQL cannot store one: it goes, the words stay.
        text, button, once = (v.replace("\x00", "").strip() for v in (text, button, once))
        button, once = button[:64], once[:64]
        token = token_of(request)
        fresh = not token
        token = token or first_token(once, key)
        address = address_of(token)
        said = bool((text or button) and once)
        if said:
            await chat.run(chat.send, address, fresh, text=text, button=button, once=once)
        response: Response
        if not wants_json:  # the page without JavaScript: `after` is not used
            response = RedirectResponse(f"{prefix}#latest", status_code=303)
        else:
            try:
                since = message_number(after)
            except BadValue as exc:  # what they wrote is stored already; only the answer is refused
                response = JSONResponse({"detail": f"{exc}. Your message was kept." if said else str(exc), "messages": []},
                                        status_code=400, headers=HEADERS)
            else:
                shown = await chat.run(chat.messages, address, since)
                response = JSONResponse({"messages": shown, "once": secrets.token_urlsafe(12)}, headers=HEADERS)
        if not fresh or text or button:
            keep(response, request, token)
        return response

    @router.get("/messages")
    async def poll(request: Request, after: str = "0") -> Response:
        """New messages since `after` — officers' replies, and the answer a pause brings."""
        try:
            since = message_number(after)
        except BadValue as exc:
            return JSONResponse({"detail": str(exc), "messages": []}, status_code=400, headers=HEADERS)
        token = token_of(request)
        if not token:
            return JSONResponse({"messages": []}, headers=HEADERS)
        await chat.run(chat.close_if_paused, address_of(token))
        return JSONResponse({"messages": await chat.run(chat.messages, address_of(token), since)}, headers=HEADERS)

    @router.get("/privacy")
    def privacy() -> Response:
        """What is kept, for how long and how to ask for it: the words `/privacy` gives in the chat."""
        body = chat.env.get_template("privacy.html").render(prefix=prefix, safety=wording.HELP_NOW,
                                                            text=conversation.privacy_text)
        return HTMLResponse(body, headers=HEADERS)

    @router.get("/chat.css")
    def stylesheet() -> FileResponse:
        return FileResponse(HERE / "static" / "chat.css", media_type="text/css")

    @router.get("/chat.js")
    def script() -> FileResponse:
        return FileResponse(HERE / "static" / "chat.js", media_type="text/javascript")

    router.webchat = chat  # type: ignore[attr-defined]  # for the sweep and for tests
    return router


def message_number(raw: str) -> int:
    """The page's `after`: the last message it shows (0 for none)."""
    return whole_number(raw or "0", "after", low=0, high=MAX_ID)


def _same_site(request: Request) -> bool:
    """Posts only from our own page (the cookie is SameSite=Strict as well)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    return urlsplit(origin).netloc == request.headers.get("host", "")
