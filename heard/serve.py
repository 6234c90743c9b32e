"""Wires the parts of Heard into one process and stops them cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Any
from dataclasses import dataclass

import uvicorn
from sqlalchemy.engine import Engine

from bots.email import worker as email_worker
from bots.email.worker import WorkerConfig
from bots.email.relay import MailSender, Relay
from bots.email.server import IntakeHandler, smtp_factory, tls_context
from heard import logs
from heard.settings import Settings
from models.db import make_engine
from scheduler.clock import Clock
from scheduler.policy import Policy
from scheduler.runner import SweepClock
from triage.suggest import suggest_with_classifier
from triage.timed import timed

log = logging.getLogger("heard")

PARTS = ("email", "web", "scheduler", "telegram", "webchat")


class CannotStart(Exception):
    """A part could not start (a port taken, say); the message says which and why."""


class _QuietServer(uvicorn.Server):
    """Uvicorn without its own signal handlers: this process owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


@dataclass
class Part:
    name: str
    where: str
    start: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]]


def _listen(host: str, port: int, what: str) -> socket.socket:
    """Bind before starting, so a taken port is one clear line rather than a server's traceback."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CannotStart(f"the {what} cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _chat_reader():  # type: ignore[no-untyped-def]
    """The classifier and the language check, loaded before Heard says it is ready: a child's
    first message must not wait for either (bench/startup_bench.py measures it)."""
    from triage.language import warm

    warm()
    return timed(suggest_with_classifier())  # into heard_classifier_seconds


def _web(settings: Settings, engine: Engine, policy: Policy) -> Part:
    from desk import create_app
    from desk.auth import first_admin, load_or_create_secret

    secret = settings.secret_key.get_secret_value() or load_or_create_secret(Path("var") / "secret_key")
    first_password = first_admin(engine)
    from bots.webchat import webchat_router  # composed here: triage must not import bots

    chat = webchat_router(engine, policy, zone=settings.zone, classify=_chat_reader(), secret=secret.encode(),
                          pause_seconds=settings.chat_pause_seconds, secure_cookies=settings.web_secure_cookies)
    app = create_app(engine, policy, secret_key=secret, zone=settings.zone, idle_minutes=settings.session_idle_minutes,
                     lifetime_hours=settings.session_lifetime_hours, secure_cookies=settings.web_secure_cookies,
                     public_url=settings.public_url, allowed_hosts=[settings.web_host], public_routers=[chat],
                     classify=_chat_reader(), attachment_max_bytes=settings.attachment_max_bytes,
                     mail_out_configured=bool(settings.relay_host),
                     metrics_token=settings.metrics_token.get_secret_value(), ready_parts=settings.ready_parts)
    # Uvicorn's logging setup and access log off: heard.logs writes every line (desk.request_id logs requests).
    server = _QuietServer(uvicorn.Config(app, log_level="warning", lifespan="on", log_config=None, access_log=False))
    task: asyncio.Task[None] | None = None

    async def start() -> None:
        nonlocal task
        sock = _listen(settings.web_host, settings.web_port, "web app")
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                raise CannotStart("the web app stopped while starting")
            await asyncio.sleep(0.02)

    async def stop() -> None:
        server.should_exit = True
        if task:
            await task

    url = f"http://{settings.web_host}:{settings.web_port}/"
    where = f"{url}  (health check: {url}healthz, readiness: {url}readyz)"
    if first_password:
        where += f"\n  first sign-in admin / {first_password}  (shown once; add officers at {url}admin/officers)"
    return Part("web app", where, start, stop)


def _email(settings: Settings, engine: Engine, policy: Policy) -> Part:
    """The SMTP intake in this process; turning mail into cases in worker processes beside it."""
    # Its own engine with no SQLite busy wait: the handler retries every millisecond instead.
    intake_engine = make_engine(settings.database_url, busy_timeout_ms=0)
    handler = IntakeHandler(intake_engine, settings.complaint_addresses, on_stored=lambda _id: None)
    factory = smtp_factory(
        handler, hostname=settings.smtp_host, max_bytes=settings.smtp_max_message_bytes,
        tls=tls_context(settings.smtp_tls_cert, settings.smtp_tls_key),
    )
    config = WorkerConfig(
        settings.database_url, settings.policy_file, settings.timezone,
        (*settings.complaint_addresses, settings.mail_from), settings.attachment_max_bytes,
        setup_logs=functools.partial(logs.setup, settings.log_format, settings.log_level),
    )
    workers = email_worker.how_many(settings.email_workers, engine.dialect.name)
    sender = MailSender(engine, Relay(
        settings.relay_host, settings.relay_port, settings.relay_username, settings.relay_password.get_secret_value(),
        settings.relay_starttls, settings.mail_from,
    ), zone=settings.zone) if settings.relay_host else None
    running: dict[str, Any] = {}

    async def start() -> None:
        sock = _listen(settings.smtp_host, settings.smtp_port, "SMTP intake")
        running["workers"] = [email_worker.start(config) for _ in range(workers)]
        running["server"] = await asyncio.get_running_loop().create_server(factory, sock=sock)
        if sender:
            running["sender"] = asyncio.create_task(sender.run())

    async def stop() -> None:
        if task := running.get("sender"):
            task.cancel()
        if server := running.get("server"):
            server.close()
            await server.wait_closed()
        handler.close()
        intake_engine.dispose()
        await asyncio.gather(*(asyncio.to_thread(email_worker.stop, w) for w in running.get("workers", [])))

    relay = f"mail out via {settings.relay_host}:{settings.relay_port}" if sender else "mail out held in the outbox (no HEARD_RELAY_HOST)"
    where = f"smtp://{settings.smtp_host}:{settings.smtp_port} for {', '.join(settings.complaint_addresses)}; {relay}"
    if workers > 1:
        where += f"; {workers} workers"
    return Part("email intake", where, start, stop)


def _scheduler(settings: Settings, engine: Engine, policy: Policy) -> Part:
    clock = SweepClock(engine, Clock(policy), settings.zone, settings.sweep_interval_seconds)

    async def start() -> None:
        clock.start()

    return Part("scheduler", f"sweeping every {settings.sweep_interval_seconds} s", start, clock.stop)


def _telegram(settings: Settings, engine: Engine, policy: Policy) -> Part | None:
    """The Telegram bot, only when a token is set."""
    token = settings.telegram_token.get_secret_value()
    if not token:
        return None
    from bots.telegram.service import TelegramConfig, TelegramService

    try:
        config = TelegramConfig(
            token=token, api_base=settings.telegram_api_base, mode=settings.telegram_mode,
            webhook_url=settings.telegram_webhook_url, webhook_secret=settings.telegram_webhook_secret.get_secret_value(),
            webhook_host=settings.telegram_webhook_host, webhook_port=settings.telegram_webhook_port,
            pause_seconds=settings.chat_pause_seconds, attachment_max_bytes=settings.attachment_max_bytes)
    except ValueError as exc:
        raise CannotStart(str(exc)) from None
    service = TelegramService(engine, policy, settings.zone, config, classify=_chat_reader())
    return Part("telegram bot", service.where, service.start, service.stop)


def _webchat(settings: Settings, engine: Engine, policy: Policy) -> Part:
    """Web chat delivery of officers' and scheduler messages, and closing paused stories."""
    from bots.webchat.service import WebChatService

    service = WebChatService(engine, policy, settings.zone, classify=_chat_reader(),
                             pause_seconds=settings.chat_pause_seconds)
    url = f"http://{settings.web_host}:{settings.web_port}/chat"
    return Part("web chat", f"{url}  (replies delivered every 2 s)", service.start, service.stop)


def _metrics(settings: Settings) -> Part:
    """This process's own figures (what it took in and refused, the classifier's time) on a
    loopback port, for a process without the web app, whose /metrics would serve them. Loopback
    only and without a token: whoever can reach it is on this machine. The database's figures are
    left to the web app's /metrics, so that no figure is scraped twice over."""
    from prometheus_client import start_http_server

    running: dict[str, Any] = {}

    async def start() -> None:
        try:
            running["server"], _thread = start_http_server(settings.metrics_port, addr="127.0.0.1")
        except OSError as exc:
            raise CannotStart(f"/metrics cannot listen on 127.0.0.1:{settings.metrics_port}: {exc.strerror}") from None

    async def stop() -> None:
        if server := running.get("server"):
            server.shutdown()
            server.server_close()

    return Part("metrics", f"http://127.0.0.1:{settings.metrics_port}/metrics  (this process's own figures)", start, stop)


BUILDERS: dict[str, Callable[[Settings, Engine, Policy], Part | None]] = {
    "email": _email, "web": _web, "scheduler": _scheduler, "telegram": _telegram, "webchat": _webchat,
}


async def run(
    settings: Settings, engine: Engine, policy: Policy, only: tuple[str, ...], echo: Callable[[str], None]
) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)

    parts = [part for name in (only or PARTS) if (part := BUILDERS[name](settings, engine, policy)) is not None]
    if settings.metrics_port and "web" not in (only or PARTS):
        parts.insert(0, _metrics(settings))
    started: list[Part] = []
    try:
        for part in parts:
            await part.start()
            started.append(part)
        echo(f"Heard is running on {engine.url.render_as_string(hide_password=True)}")
        for part in started:
            echo(f"  {part.name:<13} {part.where}")
        if not only or "telegram" in only:
            if not settings.telegram_token.get_secret_value():
                echo("  telegram bot  off (set HEARD_TELEGRAM_TOKEN to start it)")
        echo("Press Ctrl-C to stop.")
        await stopping.wait()
        echo("Stopping…")
    finally:
        for part in reversed(started):
            await part.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    echo("Stopped.")
