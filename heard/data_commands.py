"""`heard audit verify` and `heard subject-access`: a council's answers about the data it holds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import click


def register(cli: click.Group) -> None:
    from heard.cli import Context, _iso_date, pass_context

    @cli.group()
    def audit() -> None:
        """The audit log: who looked at and changed what."""

    @audit.command("verify")
    @pass_context
    def audit_verify(ctx: Context) -> None:
        """Check the audit log's hash chain: exit 0 when it is whole, 1 naming the first broken entry."""
        from models import session_scope
        from models.audit_chain import verify

        engine = ctx.engine()
        try:
            with session_scope(engine) as session:
                verdict = verify(session)
        finally:
            engine.dispose()
        if verdict.whole:
            click.echo(f"the audit log is whole: {verdict.checked} entries, each following the one before")
            return
        click.echo(f"the audit log is broken at {verdict.reason} ({verdict.checked} entries before it are whole)", err=True)
        raise SystemExit(1)

    @cli.command("subject-access")
    @click.argument("address")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="The .zip file to write (index.html, data.json, the originals and attachments).")
    @click.option("--received", callback=_iso_date, help="Day the request arrived (YYYY-MM-DD; default today): it is due one calendar month later.")
    @pass_context
    def subject_access(ctx: Context, address: str, out: Path, received: date | None) -> None:
        """Everything held about a person, by email address, phone number or Telegram identity
        (the chat id or @username): their cases, messages (text and original), attachments,
        outbox items and audit entries, with third parties' details withheld where officers marked them."""
        from desk.subject_access import NobodyFound, export, record_request
        from models import session_scope
        from models import values

        now = datetime.now(UTC)
        engine = ctx.engine()
        try:
            with session_scope(engine) as session:
                try:
                    request = record_request(session, address, received or now.astimezone(ctx.settings.zone).date(),
                                             actor="heard (command line)", now=now)
                    archive = export(session, request, actor="heard (command line)", now=now)
                except (NobodyFound, values.BadValue) as exc:
                    raise click.ClickException(str(exc)) from None
        finally:
            engine.dispose()
        out.write_bytes(archive.data)
        click.echo(f"wrote {out}: {archive.summary}; the request is due by {request.due_on:%a %d %b %Y}")
