"""`heard check`: before (or beside) `heard serve`, is everything it depends on as configured?

One line per check — the settings, the policy file, the database and its migrations, the mail
relay (connect, EHLO, STARTTLS, AUTH, QUIT: never a message), the Telegram token (getMe), the
web app's key and address. Each check uses the code `serve` uses, so it fails for the reason
`serve` (or the first email out, or the first Telegram call) would, in the same words. Nothing
is created or changed: a missing SQLite file is reported, not made.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from heard.settings import PREFIX, Settings, SettingsError, load_settings

TIMEOUT = 10.0  # seconds to wait for the database, the relay or Telegram before calling it down


@dataclass(frozen=True)
class Verdict:
    status: str  # "ok", "FAIL" or "skip"
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<5} {self.name:<11} {self.detail}"


def ok(name: str, detail: str) -> Verdict:
    return Verdict("ok", name, detail)


def fail(name: str, detail: str) -> Verdict:
    return Verdict("FAIL", name, detail)


def skip(name: str, detail: str) -> Verdict:
    return Verdict("skip", name, detail)


def _reason(exc: BaseException) -> str:
    """The first line of what went wrong, without the exception's class name."""
    text = str(getattr(exc, "orig", None) or exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# --- the checks ------------------------------------------------------------------------------

def check_settings() -> tuple[Verdict, Settings | None]:
    try:
        settings = load_settings()
    except SettingsError as exc:
        return fail("settings", str(exc)), None
    named = sorted(k for k in os.environ if k.startswith(PREFIX))
    given = f"{len(named)} set: {', '.join(named)}" if named else "none set, all defaults"
    return ok("settings", f"HEARD_* variables read ({given})"), settings


def check_policy(settings: Settings) -> Verdict:
    from scheduler.policy import PolicyError, load_policy

    try:
        policy = load_policy(settings.policy_file)
    except PolicyError as exc:
        return fail("policy", str(exc))  # the words `heard serve` stops with, after "policy: "
    source = str(settings.policy_file) if settings.policy_file else "built-in defaults"
    return ok("policy", f"{source}: {policy.council.name}, statutory stage 1 in {policy.statutory.stage_1} working days")


def check_database(settings: Settings) -> Verdict:
    import sqlalchemy as sa
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import make_url

    from models.migrate import alembic_config, head

    try:
        url = make_url(settings.database_url)
    except sa.exc.ArgumentError as exc:
        return fail("database", f"HEARD_DATABASE_URL: {_reason(exc)}")
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return fail("database", f"{shown}: an in-memory database keeps nothing; name a file")
        if not Path(url.database).is_file():  # connecting would create it: say so instead
            return fail("database", f"{shown}: no database file at {url.database}: run `heard db upgrade` to create it")
        engine = sa.create_engine(settings.database_url, connect_args={"timeout": TIMEOUT})
    else:
        engine = sa.create_engine(settings.database_url, connect_args={"connect_timeout": int(TIMEOUT)})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            revision = MigrationContext.configure(conn).get_current_revision()
    except sa.exc.SQLAlchemyError as exc:
        return fail("database", f"cannot reach the database at {shown}: {_reason(exc)}")
    except Exception as exc:  # a file that is not a database, say
        return fail("database", f"{shown}: {_reason(exc)}")
    finally:
        engine.dispose()
    newest = head()
    if revision == newest:
        return ok("database", f"{shown} reachable, migrations current ({revision})")
    if revision is None:
        return fail("database", f"{shown} reachable, but not migrated (this Heard needs {newest}): run `heard db upgrade`")
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()}
    if revision not in known:
        return fail("database", f"{shown} is at revision {revision}, newer than this Heard knows ({newest}): "
                                "run the Heard that migrated it")
    return fail("database", f"{shown} reachable, at revision {revision}, behind {newest}: run `heard db upgrade`")


def check_relay(settings: Settings) -> Verdict:
    """What the outbound sender does before its first message, and no more: never MAIL FROM."""
    if not settings.relay_host:
        return skip("relay", "no HEARD_RELAY_HOST: mail out waits in the outbox")
    import aiosmtplib

    where = f"{settings.relay_host}:{settings.relay_port}"
    steps: list[str] = []

    async def talk() -> None:
        smtp = aiosmtplib.SMTP(hostname=settings.relay_host, port=settings.relay_port,
                               start_tls=settings.relay_starttls, timeout=TIMEOUT)
        await smtp.connect()  # greeting, EHLO, and STARTTLS (then EHLO again) when configured
        try:
            if not smtp.esmtp_extensions:
                await smtp.ehlo()
            steps.append("EHLO answered")
            if settings.relay_starttls:
                steps.append("STARTTLS")
            if settings.relay_username:
                await smtp.login(settings.relay_username, settings.relay_password.get_secret_value())
                steps.append(f"AUTH as {settings.relay_username} accepted")
            elif "auth" in smtp.esmtp_extensions:
                steps.append("AUTH offered, but no HEARD_RELAY_USERNAME to use it")
        finally:
            try:
                await smtp.quit()
            except aiosmtplib.SMTPException:
                smtp.close()

    try:
        asyncio.run(asyncio.wait_for(talk(), TIMEOUT * 2))
    except aiosmtplib.SMTPAuthenticationError as exc:
        return fail("relay", f"{where}: AUTH as {settings.relay_username} refused: {exc.code} {exc.message}")
    except aiosmtplib.SMTPResponseException as exc:
        return fail("relay", f"{where}: {' and '.join(steps) + ', then ' if steps else ''}refused: {exc.code} {exc.message}")
    except aiosmtplib.SMTPConnectError as exc:
        return fail("relay", f"{where}: {_connect_reason(exc)}")
    except TimeoutError:
        return fail("relay", f"{where}: no answer in {TIMEOUT * 2:.0f} s")
    except (aiosmtplib.SMTPException, OSError) as exc:
        hint = " (HEARD_RELAY_STARTTLS is true)" if "STARTTLS" in str(exc) and settings.relay_starttls else ""
        return fail("relay", f"{where}: {_reason(exc)}{hint}")
    return ok("relay", f"{where}: {', '.join(steps)}; QUIT (nothing sent)")


def _connect_reason(exc: BaseException) -> str:
    """The socket's own words ("connection refused", "Name or service not known"), found under
    the library's wrapping (aiosmtplib's SMTPConnectError, aiohttp's ClientConnectorError)."""
    import socket

    seen: BaseException | None = exc
    while seen is not None:
        error = getattr(seen, "os_error", None) or seen
        if isinstance(error, socket.gaierror) and len(error.args) > 1:
            return f"cannot find the host: {error.args[1]}"
        if isinstance(error, OSError) and error.errno and error.errno > 0:
            return os.strerror(error.errno).lower()
        seen = seen.__cause__ or seen.__context__
    return _reason(exc)


def check_telegram(settings: Settings) -> Verdict:
    """getMe through aiogram's own session, against HEARD_TELEGRAM_API_BASE, as the bot starts."""
    token = settings.telegram_token.get_secret_value()
    if not token:
        return skip("telegram", "no HEARD_TELEGRAM_TOKEN: the bot does not run")
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram import Bot

    from bots.telegram.service import TelegramConfig

    try:
        TelegramConfig(token=token, api_base=settings.telegram_api_base, mode=settings.telegram_mode,
                       webhook_url=settings.telegram_webhook_url,
                       webhook_secret=settings.telegram_webhook_secret.get_secret_value())
    except ValueError as exc:
        return fail("telegram", str(exc))
    base = settings.telegram_api_base.rstrip("/")

    async def get_me():  # type: ignore[no-untyped-def]
        session = AiohttpSession(api=TelegramAPIServer.from_base(base), timeout=TIMEOUT)
        bot = Bot(token, session=session)
        try:
            return await bot.get_me()
        finally:
            await session.close()

    try:
        me = asyncio.run(get_me())
    except TelegramUnauthorizedError:
        return fail("telegram", f"{base} refused the token (401 Unauthorized): check HEARD_TELEGRAM_TOKEN")
    except TelegramNetworkError as exc:
        return fail("telegram", f"cannot reach {base}: {_connect_reason(exc)}")
    except (TelegramAPIError, OSError, TimeoutError) as exc:
        return fail("telegram", f"{base}: getMe failed: {_reason(exc)}")
    mode = f"{settings.telegram_mode} ({settings.telegram_webhook_url})" if settings.telegram_mode == "webhook" else settings.telegram_mode
    return ok("telegram", f"token accepted by {base}: the bot is @{me.username} (id {me.id}); {mode}")


def check_secret_key(settings: Settings, var: Path = Path("var")) -> Verdict:
    key = settings.secret_key.get_secret_value()
    if key:
        if len(key) < 16:
            return fail("secret key", f"HEARD_SECRET_KEY is {len(key)} characters; the web app needs at least 16")
        return ok("secret key", "HEARD_SECRET_KEY is set")
    kept = var / "secret_key"
    if kept.exists():
        try:
            text = kept.read_text(encoding="utf-8").strip()
        except OSError as exc:
            return fail("secret key", f"cannot read {kept}: {exc.strerror}")
        if len(text) >= 16:
            return ok("secret key", f"kept in {kept}")
    folder = var if var.is_dir() else Path(".")
    if not os.access(folder, os.W_OK):
        return fail("secret key", f"no HEARD_SECRET_KEY, and {folder.resolve()} is not writable, so `heard serve` cannot make {kept}")
    return ok("secret key", f"no HEARD_SECRET_KEY: `heard serve` will make one and keep it in {kept}")


def check_web(settings: Settings) -> Verdict:
    where = f"listens on {settings.web_host}:{settings.web_port}"
    if not settings.public_url:
        hosts = dict.fromkeys(["localhost", "127.0.0.1", settings.web_host])
        return ok("web", f"{where}; no HEARD_PUBLIC_URL, so only requests for {', '.join(hosts)} are answered")
    if settings.public_url.startswith("http://") and settings.web_secure_cookies:
        return fail("web", f"HEARD_PUBLIC_URL is {settings.public_url}, plain http, but HEARD_WEB_SECURE_COOKIES is true: "
                           "browsers will not keep the sign-in cookie; serve it over https (or, for a trial, set it false)")
    return ok("web", f"{where}; officers reach it at {settings.public_url}")


CHECKS: list[Callable[[Settings], Verdict]] = [check_policy, check_database, check_relay, check_telegram,
                                               check_secret_key, check_web]


@click.command()
def check() -> None:
    """Check the settings, the policy file, the database and its migrations, the mail relay
    (connects and says EHLO, STARTTLS and AUTH as configured; sends nothing) and the Telegram
    token (getMe). One line per check; what is not configured is skipped.

    Exit status 0 when nothing failed, 2 when a setting or the policy file is wrong, 1 when
    anything else failed."""
    verdict, settings = check_settings()
    click.echo(verdict.line())
    if settings is None:
        click.echo("Error: the settings are wrong, so nothing else was checked", err=True)
        raise SystemExit(2)
    verdicts = [verdict]
    for run in CHECKS:
        verdicts.append(run(settings))
        click.echo(verdicts[-1].line())
    failed = [v.name for v in verdicts if v.status == "FAIL"]
    if failed:
        click.echo(f"Error: {len(failed)} of {len(verdicts)} checks failed: {', '.join(failed)}", err=True)
        raise SystemExit(2 if "policy" in failed else 1)
    skipped = sum(v.status == "skip" for v in verdicts)
    click.echo(f"all {len(verdicts) - skipped} checks passed" + (f" ({skipped} skipped: not configured)" if skipped else ""))


def register(cli: click.Group) -> None:
    cli.add_command(check)
