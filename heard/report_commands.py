"""`heard import` (historic representations from CSV or Excel) and `heard report` (the annual report)."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from reports.importer import ImportResult

FORMATS = {"html": "html", "csv": "csv.zip", "json": "json"}
SHOWN_ERRORS = 50


def _context():  # type: ignore[no-untyped-def]
    """The `heard` Context (imported here, not at the top: heard.cli imports this module)."""
    from heard.cli import Context

    return click.get_current_context().ensure_object(Context)


def _migrated(ctx) -> None:  # type: ignore[no-untyped-def]
    from models.migrate import current, head

    ctx.engine().dispose()
    if current(ctx.settings.database_url) != head():
        raise click.ClickException("the database is not up to date: run `heard db upgrade` first")


def _last_complete_year(today: date) -> int:
    start = today.year if today.month >= 4 else today.year - 1
    return start - 1


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-bad", is_flag=True, help="Import the good rows and list the bad ones (default: a bad row stops the whole import).")
@click.option("--dry-run", is_flag=True, help="Read and check everything, and say what would be imported; write nothing.")
@click.option("--sheet", metavar="NAME", help="The worksheet of an Excel workbook to read (default: the first).")
def import_command(file: Path, skip_bad: bool, dry_run: bool, sheet: str | None) -> None:
    """Load historic representations from a CSV file or an Excel workbook (.xlsx) (layout in
    README.md, "Importing past records").

    Every row is checked. If any row is bad, its line (or sheet and row) and reason are printed
    and nothing at all is imported, unless --skip-bad is given.
    """
    from reports.importer import ImportFailed, import_csv
    from reports.sources import is_workbook

    if sheet is not None and not is_workbook(file):
        raise click.BadParameter(f"is for Excel workbooks (.xlsx), and {file.name} is not one", param_hint="--sheet")

    ctx = _context()
    _migrated(ctx)
    engine = ctx.engine()
    size = file.stat().st_size
    try:
        with click.progressbar(length=size, label=f"Importing {file.name}", file=sys.stderr, show_eta=True) as bar:
            result = import_csv(engine, file, clock=ctx.clock, tz=ctx.settings.zone, now=datetime.now(UTC), skip_bad=skip_bad, dry_run=dry_run, sheet=sheet, progress=bar.update)
    except ImportFailed as exc:
        if exc.result:
            _print_errors(exc.result, SHOWN_ERRORS)
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise click.ClickException(f"the database refused the import, so nothing was imported: {reason}") from None
    finally:
        engine.dispose()
    if result.error_count:
        click.echo(f"{'Would skip' if dry_run else 'Skipped'} {result.error_count:,} bad row(s):", err=True)
        _print_errors(result, result.error_count)  # a row skipped is a row listed
    source = file.name if result.sheet is None else f"{file.name} (sheet {result.sheet!r})"
    teams = f"; new teams: {', '.join(result.teams_created)}" if result.teams_created else ""
    if dry_run:
        click.echo(f"Would import {result.imported:,} representation(s) from {source}{teams}; nothing was written (dry run).")
    else:
        click.echo(f"Imported {result.imported:,} representation(s) from {source}{teams}.")


def _print_errors(result: ImportResult, shown: int) -> None:
    for line, reason in result.errors[:shown]:
        click.echo(f"  {result.place(line)}: {reason}", err=True)
    if result.error_count > shown:
        click.echo(f"  … and {result.error_count - shown:,} more", err=True)


@click.command()
@click.option("--year", type=click.IntRange(2000, 2200), help="Financial year by its first calendar year: 2025 is 1 April 2025 to 31 March 2026. Default: the last complete one.")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="html", show_default=True, help="html: one self-contained page with charts; csv: a zip of one CSV per table; json: one document.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), help="Where to write it ('-' for standard output). Default: complaints-annual-report-YYYY-YY.<format> here.")
@click.option("--suppress-below", type=click.IntRange(1, 100), default=5, show_default=True, help="In tables about people, counts from 1 to this minus one are shown as '<N'.")
@click.option("--years", type=click.IntRange(2, 10), default=2, show_default=True, help="Years side by side: more than 2 adds a trend table and chart (councils publish 3 to 5).")
def report(year: int | None, fmt: str, output: str | None, suppress_below: int, years: int) -> None:
    """Produce the statutory annual report (regulation 13) for a financial year, beside the year before."""
    from reports.compute import build_report
    from reports.exports import to_csv_zip, to_json
    from reports.html import render_document

    ctx = _context()
    _migrated(ctx)
    engine = ctx.engine()
    today = datetime.now(ctx.settings.zone).date()
    year = year if year is not None else _last_complete_year(today)
    try:
        built = build_report(engine, ctx.policy, year, today=today, tz=ctx.settings.zone, suppress_below=suppress_below, years=years)
    finally:
        engine.dispose()
    content: bytes = (
        render_document(built).encode("utf-8") if fmt == "html" else to_csv_zip(built) if fmt == "csv" else to_json(built).encode("utf-8")
    )
    target = output or f"complaints-annual-report-{built.year.label.replace('/', '-')}.{FORMATS[fmt]}"
    if target == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    try:
        Path(target).write_bytes(content)
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc.strerror}") from None
    click.echo(f"Wrote the {built.year.label} annual report ({fmt}) to {target}")


def register(cli: click.Group) -> None:
    """Add `heard import` and `heard report` to the `heard` group."""
    cli.add_command(import_command)
    cli.add_command(report)
