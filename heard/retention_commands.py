"""`heard retention`: what personal data the council's schedule says is due for deletion, and why;
without --dry-run, it is deleted (the scheduler runs this daily)."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--now", "at", help="Run as at this moment (ISO 8601, e.g. 2032-04-01T02:00; default: now).")
@click.option("--dry-run", is_flag=True, help="List what is due, and delete nothing.")
@click.option("--json", "as_json", is_flag=True, help='Print JSON: {"due": [{"reference", "closed_on", "rule", "held", …}], "deleted": N}.')
def retention(at: str | None, dry_run: bool, as_json: bool) -> None:
    """Delete the personal data the retention schedule ([retention] in the policy file) says is
    due: cases and compliments some years after they closed, auto-replies and bounces that never
    became a case, raw emails once read, and officers' old sign-in records. An anonymous statistical record of each case stays,
    so annual reports do not change. A case on legal hold is listed and never deleted."""
    from heard.cli import Context, moment
    from heard.report_commands import _migrated
    from scheduler.retention import run

    ctx = click.get_current_context().ensure_object(Context)
    now = moment(at, ctx.settings.zone, example="2032-04-01T02:00")
    policy = ctx.policy
    _migrated(ctx)
    engine = ctx.engine()
    try:
        result = run(engine, policy.retention, ctx.settings.zone, now, dry_run=dry_run)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps({"at": now.isoformat(), "dry_run": dry_run, "due": [d.public() for d in result.due],
                               "deleted": result.deleted}, indent=2, ensure_ascii=False))
        return
    held = sum(d.held for d in result.due)
    click.echo(f"Retention as at {now.isoformat()}: {len(result.due)} due ({held} on legal hold); "
               f"{'nothing deleted (dry run)' if dry_run else f'{result.deleted} deleted'}")
    for d in result.due:
        what = d.reference or (f"message {d.message_id}" if d.message_id else f"{d.count} records")
        closed = f"closed {d.closed_on.isoformat()}" if d.closed_on else ""
        click.echo(f"  {what:<18} {d.rule:<11} due {d.due_on.isoformat()} {closed}{'  HELD: not deleted' if d.held else ''}")


def register(cli: click.Group) -> None:
    cli.add_command(retention)
