"""The `heard` command. Its `--help` pages are the manual; README.md lists every command."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo
from functools import cached_property

import click

from heard.settings import Settings, SettingsError, load_settings
from models.db import DatabaseUnavailable, check_reachable, make_engine
from models.enums import Kind, Procedure
from scheduler.clock import CaseEvents, Clock, day_label
from scheduler.policy import Policy, PolicyError, load_policy


class ConfigurationError(click.ClickException):
    """A setting, a policy file or an argument is wrong: one line, exit status 2."""

    exit_code = 2


class Context:
    """Settings, policy and engine, each read only when a command needs it."""

    @cached_property
    def settings(self) -> Settings:
        from heard import logs

        try:
            settings = load_settings()
        except SettingsError as exc:
            raise ConfigurationError(str(exc)) from None
        logs.setup(settings.log_format, settings.log_level)  # once, for any command that reads its settings
        return settings

    @cached_property
    def policy(self) -> Policy:
        try:
            return load_policy(self.settings.policy_file)
        except PolicyError as exc:
            raise ConfigurationError(f"policy: {exc}") from None

    @cached_property
    def clock(self) -> Clock:
        return Clock(self.policy)

    def engine(self, *, check: bool = True):  # type: ignore[no-untyped-def]
        engine = make_engine(self.settings.database_url)
        if check:
            try:
                check_reachable(engine)
            except DatabaseUnavailable as exc:
                raise click.ClickException(str(exc)) from None
        return engine


pass_context = click.make_pass_decorator(Context, ensure=True)


def _iso_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD", param=param) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="heard")
def cli() -> None:
    """Heard: intake and triage for children's social care complaints in England.

    Settings come from HEARD_* environment variables (see README.md); the council's
    timescales from the policy file named by HEARD_POLICY_FILE.
    """


@cli.command()
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(["email", "web", "scheduler", "telegram", "webchat"]),
    help="Start only this part (repeatable). Default: every part.",
)
@pass_context
def serve(ctx: Context, only: tuple[str, ...]) -> None:
    """Run Heard until Ctrl-C or SIGTERM: the SMTP intake, the web app (with the web chat), the
    scheduler, and the Telegram bot when HEARD_TELEGRAM_TOKEN is set."""
    from heard.serve import CannotStart, run
    from models.migrate import current, head

    policy = ctx.policy  # a broken policy file stops the start, before anything listens
    engine = ctx.engine()
    if current(ctx.settings.database_url) != head():
        raise click.ClickException("the database is not up to date: run `heard db upgrade` first")
    try:
        asyncio.run(run(ctx.settings, engine, policy, only, click.echo))
    except CannotStart as exc:
        raise click.ClickException(f"cannot start: {exc}") from None
    finally:
        engine.dispose()


@cli.group()
def db() -> None:
    """Create and upgrade the database schema."""


@db.command()
@pass_context
def upgrade(ctx: Context) -> None:
    """Apply every migration the database has not had yet."""
    from models.migrate import current, head, upgrade as run_upgrade

    ctx.engine().dispose()
    run_upgrade(ctx.settings.database_url)
    click.echo(f"database at revision {current(ctx.settings.database_url)} (head {head()})")


@db.command("current")
@pass_context
def db_current(ctx: Context) -> None:
    """Print the database's migration revision."""
    from models.migrate import current, head

    ctx.engine().dispose()
    click.echo(f"database at revision {current(ctx.settings.database_url) or 'none'} (head {head()})")


@cli.command()
@click.option("--received", required=True, callback=_iso_date, help="Day the representation arrived (YYYY-MM-DD); it is day 0.")
@click.option(
    "--procedure",
    type=click.Choice([p.value for p in Procedure]),
    default=Procedure.statutory.value,
    show_default=True,
    help="Which procedure's timescales to use.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_context
def deadlines(ctx: Context, received: date, procedure: str, as_json: bool) -> None:
    """Print every deadline for a representation received on a day, and how each was worked out."""
    proc = Procedure(procedure)
    clock = ctx.clock
    complaint = clock.deadlines(CaseEvents(received_on=received, procedure=proc))
    extended = clock.deadlines(CaseEvents(received_on=received, procedure=proc, stage_1_extended=True))
    feedback = clock.deadlines(CaseEvents(received_on=received, procedure=proc, kind=Kind.initial_feedback))
    rows = [
        ("acknowledgement", complaint[0]),
        ("initial_feedback", feedback[1]),
        ("stage_1", complaint[1]),
        ("stage_1_extended", extended[1]),
    ]
    limit, limit_text = clock.time_limit(received, proc)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "received": received.isoformat(),
                    "procedure": proc.value,
                    "deadlines": [
                        {"name": name, "due": d.due_on.isoformat(), "working_days": d.working_days, "explanation": d.explanation}
                        for name, d in rows
                    ],
                    "time_limit": {"earliest_event": limit.isoformat(), "explanation": limit_text},
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"{proc.value.capitalize()} procedure, received {day_label(received)}:")
    for name, d in rows:
        click.echo(f"  {name.replace('_', ' '):<18} {day_label(d.due_on):<16} {d.explanation}")
    click.echo(f"  {'time limit':<18} {day_label(limit):<16} {limit_text}")


def moment(at: str | None, zone: ZoneInfo, *, example: str) -> datetime:
    """A command's `--now`: an ISO 8601 time (local time when it has no zone), or now."""
    try:
        now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    except ValueError:
        raise ConfigurationError(f"--now: {at!r} is not an ISO 8601 time such as {example}") from None
    return now if now.tzinfo is not None else now.replace(tzinfo=zone)


@cli.command()
@click.option("--now", "at", help="Sweep as at this moment (ISO 8601, e.g. 2027-01-11T09:00; default: now).")
@click.option("--dry-run", is_flag=True, help="Show what would be sent, and change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_context
def sweep(ctx: Context, at: str | None, dry_run: bool, as_json: bool) -> None:
    """Run one sweep of the scheduler and print what was (or would be) sent."""
    from scheduler.sweep import Sweep

    now = moment(at, ctx.settings.zone, example="2027-01-11T09:00")
    engine = ctx.engine()
    try:
        result = Sweep(engine, ctx.clock, ctx.settings.zone).run(now, dry_run=dry_run)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps({"at": now.isoformat(), "dry_run": dry_run, "missed": result.missed,
                               "actions": result.actions}, indent=2, ensure_ascii=False, default=str))
        return
    verb = "would send" if dry_run else "sent"
    click.echo(f"Sweep as at {now.isoformat()}: {len(result.actions)} action(s) {verb}; {result.missed} deadline(s) newly missed")
    for action in result.actions:
        detail = ", ".join(f"{k}={v}" for k, v in action.items() if k != "action")
        click.echo(f"  {action['action']:<22} {detail}")


@cli.command()
@click.option("--year", type=click.IntRange(1900, 2200), default=lambda: datetime.now().year, help="Calendar year.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_context
def calendar(ctx: Context, year: int, as_json: bool) -> None:
    """List the weekdays that are not working days in a year (bank holidays and council closures)."""
    days = ctx.clock.calendar.closures_in([year])
    if as_json:
        click.echo(json.dumps([{"date": d.isoformat(), "why": why} for d, why in days], indent=2, ensure_ascii=False))
        return
    for d, why in days:
        click.echo(f"{day_label(d):<16} {why}")


def main() -> None:
    cli(prog_name="heard")


from heard.triage_commands import register as _register_triage  # noqa: E402  (needs Context above)

_register_triage(cli)

from heard.report_commands import register as _register_report  # noqa: E402

_register_report(cli)

from heard.web_commands import register as _register_web  # noqa: E402

_register_web(cli)

from heard.retention_commands import register as _register_retention  # noqa: E402

_register_retention(cli)
from heard.data_commands import register as _register_data  # noqa: E402

_register_data(cli)
from heard.check_commands import register as _register_check  # noqa: E402

_register_check(cli)
from heard.backup_commands import register as _register_backup  # noqa: E402

_register_backup(cli)
