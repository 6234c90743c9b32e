"""`heard backup FILE` and `heard restore FILE`: the whole case record in one file, and back.

Everything Heard keeps is in its database — cases, each email's original bytes, attachments'
content, the audit chain, officers — so one file holds it all. (`var/secret_key`, when Heard
made one, only signs forms' CSRF tokens: losing it makes forms open at the time ask to be sent
again, nothing more; it is not in the backup.)

- SQLite: SQLite's online backup API, in one step, so the copy is one consistent moment of the
  database even while Heard runs and writes (WAL lets writers carry on while it reads). The file
  is written beside FILE and renamed into place only when complete and checked.
- PostgreSQL: `pg_dump --format=custom` and `pg_restore`, the commands README.md documents, run
  here with the password in PGPASSWORD rather than on the command line.

A restore checks that the file is a Heard backup of this kind of database and not from a newer
Heard, refuses to replace a database that already holds cases unless told to, and is all or
nothing: SQLite's backup API writes the database in one transaction, pg_restore runs with
--single-transaction.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import click
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"


class Refused(click.ClickException):
    """Nothing was written; the message says why and what to do."""


# --- what a database holds ----------------------------------------------------------------------

@dataclass(frozen=True)
class Contents:
    revision: str | None
    cases: int
    messages: int
    originals: int
    attachments: int
    audit_entries: int

    def __str__(self) -> str:
        return (f"revision {self.revision}; {self.cases:,} cases, {self.messages:,} messages "
                f"({self.originals:,} original emails), {self.attachments:,} attachments, {self.audit_entries:,} audit entries")


def contents(engine: sa.engine.Engine) -> Contents:
    from models import Attachment, AuditEvent, Case, Message

    def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()

    with engine.connect() as conn:
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        message = Message.__table__
        return Contents(revision, count(Case.__table__), count(message), count(message, message.c.raw_bytes.is_not(None)),
                        count(Attachment.__table__, Attachment.__table__.c.content.is_not(None)), count(AuditEvent.__table__))


def cases_held(engine: sa.engine.Engine) -> int | None:
    """How many cases the database holds; None when it has no case table (empty, or not Heard's)."""
    from models import Case

    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(Case.__table__.name):
            return None
        return conn.execute(sa.select(sa.func.count()).select_from(Case.__table__)).scalar_one()


def _known_revision(revision: str | None, file: Path) -> None:
    """A backup from a newer Heard would be a schema this code does not understand."""
    from alembic.script import ScriptDirectory

    from models.migrate import alembic_config, head

    if revision is None:
        raise Refused(f"{file} is not a Heard backup: it has no migration revision (alembic_version)")
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()}
    if revision not in known:
        raise Refused(f"{file} was made by a newer Heard (revision {revision}; this Heard knows up to {head()}): "
                      "restore it with that version of Heard; nothing was changed")


def _after_restore(revision: str | None) -> str:
    from models.migrate import head

    if revision == head():
        return ""
    return f"\nThe backup is at revision {revision} and this Heard at {head()}: run `heard db upgrade` before `heard serve`."


def _size(path: Path) -> str:
    size = path.stat().st_size
    if size < 1000:
        return f"{size} bytes"
    unit = next((u for n, u in ((1e9, "GB"), (1e6, "MB")) if size >= n), "kB")
    return f"{size / {'GB': 1e9, 'MB': 1e6, 'kB': 1e3}[unit]:,.1f} {unit}"


def _kind_of(file: Path) -> str:
    with file.open("rb") as f:
        start = f.read(len(SQLITE_HEADER))
    if start.startswith(SQLITE_HEADER):
        return "sqlite"
    if start.startswith(PG_DUMP_HEADER):
        return "postgresql"
    return "neither"


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _readable_backup(file: Path, backend: str) -> None:
    if not file.is_file():
        raise Refused(f"no such file: {file}")
    kind = _kind_of(file)
    names = {"sqlite": "an SQLite database", "postgresql": "a PostgreSQL dump (pg_dump --format=custom)"}
    if kind == "neither":
        raise Refused(f"{file} is not a Heard backup: it is neither an SQLite database nor a PostgreSQL custom-format dump")
    if kind != backend:
        raise Refused(f"{file} is {names[kind]}, and HEARD_DATABASE_URL names {backend}: "
                      "a backup restores only into the kind of database it came from")


def _place(tmp: Path, target: Path, force: bool) -> None:
    """Put the finished file at `target`: without --force, never over a file that appeared meanwhile."""
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    if force:
        os.replace(tmp, target)
    else:
        try:
            os.link(tmp, target)  # fails if target exists, atomically
        except FileExistsError:
            raise Refused(f"{target} already exists: choose another name, or add --force to replace it") from None
        finally:
            tmp.unlink(missing_ok=True)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.partial")


# --- SQLite -----------------------------------------------------------------------------------------

def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise Refused(f"{_shown(url)} is an in-memory database: there is nothing to back up or restore into")
    return Path(url.database)


def backup_sqlite(url: URL, target: Path, force: bool) -> str:
    database = _sqlite_file(url)
    if not database.is_file():
        raise Refused(f"no database at {_shown(url)}: nothing to back up")
    tmp = _partial(target)
    source = sqlite3.connect(f"file:{database}?mode=rw", uri=True, timeout=30)  # rw: never creates it
    try:
        destination = sqlite3.connect(tmp)
        try:
            source.backup(destination)  # one step: one consistent moment, however busy the database is
            destination.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            problem = destination.execute("PRAGMA quick_check").fetchone()[0]
            has_version = destination.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone()
        finally:
            destination.close()
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise click.ClickException(f"cannot back up {_shown(url)}: {exc}; nothing was written") from None
    finally:
        source.close()
    if problem != "ok" or not has_version:
        tmp.unlink(missing_ok=True)
        why = f"the copy failed its check ({problem})" if problem != "ok" else "it is not a Heard database (no alembic_version)"
        raise click.ClickException(f"cannot back up {_shown(url)}: {why}; nothing was written")
    engine = sa.create_engine(f"sqlite:///{tmp}")
    try:
        held = contents(engine)
    finally:
        engine.dispose()
    _place(tmp, target, force)
    return f"backed up {_shown(url)} to {target} ({_size(target)}): {held}"


def restore_sqlite(url: URL, file: Path, force: bool) -> str:
    _readable_backup(file, "sqlite")
    source = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    try:
        try:
            problem = source.execute("PRAGMA quick_check").fetchone()[0]
            revision = source.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error as exc:
            raise Refused(f"{file} is not a Heard backup: {exc}") from None
        if problem != "ok":
            raise Refused(f"{file} is damaged ({problem}); nothing was changed")
        _known_revision(revision[0] if revision else None, file)
        database = _sqlite_file(url)
        if database.is_file():
            _refuse_if_cases(url, force)
        database.parent.mkdir(parents=True, exist_ok=True)
        destination = sqlite3.connect(database, timeout=30)
        try:
            source.backup(destination)  # into the live file through SQLite, so its WAL stays consistent
        except sqlite3.Error as exc:
            raise click.ClickException(f"cannot restore into {_shown(url)}: {exc}; it is as it was") from None
        finally:
            destination.close()
    finally:
        source.close()
    return _restored(url, file)


def _refuse_if_cases(url: URL, force: bool) -> None:
    from models import make_engine

    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        held = cases_held(engine)
    except sa.exc.SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read {_shown(url)}: {str(getattr(exc, 'orig', exc)).splitlines()[0]}") from None
    finally:
        engine.dispose()
    if held and not force:
        raise Refused(f"{_shown(url)} already holds {held:,} cases, and a restore replaces everything in it; nothing was "
                      "changed. To replace them, stop Heard and run again with --force (back it up first)")


def _restored(url: URL, file: Path) -> str:
    from models import make_engine

    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        held = contents(engine)
    finally:
        engine.dispose()
    return f"restored {file} into {_shown(url)}: {held}{_after_restore(held.revision)}"


# --- PostgreSQL -------------------------------------------------------------------------------------

def libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL as libpq takes it (postgresql://user@host:port/db?…), and the environment carrying the
    password: a password on a command line is visible to every user of the machine."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    conninfo = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                          query=url.query).render_as_string(hide_password=False)
    return conninfo, env


def _program(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise click.ClickException(f"{name} not found: install PostgreSQL's client programs (Debian: postgresql-client), "
                                   "of the server's major version or newer")
    return found


def _run(args: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(args, env=env, capture_output=True)
    if done.returncode != 0:
        words = done.stderr.decode(errors="replace").strip().splitlines()
        raise click.ClickException(f"{what} failed: {' / '.join(words[:3]) or f'exit status {done.returncode}'}")
    return done


def pg_dump_command(conninfo: str, file: Path) -> list[str]:
    return [_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={file}", conninfo]


def pg_restore_command(conninfo: str, file: Path, *, clean: bool) -> list[str]:
    return [_program("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
            *(["--clean", "--if-exists"] if clean else []), f"--dbname={conninfo}", str(file)]


def dump_revision(file: Path, env: dict[str, str]) -> str | None:
    """The migration revision inside a custom-format dump, read without restoring it."""
    listing = _run([_program("pg_restore"), "--list", str(file)], env, f"reading {file}").stdout.decode(errors="replace")
    if not re.search(r"TABLE DATA \S+ alembic_version ", listing):
        return None
    data = _run([_program("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(file)], env,
                f"reading {file}").stdout.decode(errors="replace")
    found = re.search(r"^COPY \S*alembic_version \(version_num\) FROM stdin;\n([^\n\\]+)\n", data, re.MULTILINE)
    return found[1] if found else None


def backup_postgresql(url: URL, target: Path, force: bool) -> str:
    from models.db import DatabaseUnavailable, check_reachable, make_engine

    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        check_reachable(engine)
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    conninfo, env = libpq(url)
    tmp = _partial(target)
    try:
        _run(pg_dump_command(conninfo, tmp), env, "pg_dump")
        revision = dump_revision(tmp, env)
        if revision is None:
            raise click.ClickException(f"cannot back up {_shown(url)}: it is not a Heard database (no alembic_version)")
        _place(tmp, target, force)
    finally:
        tmp.unlink(missing_ok=True)
    return (f"backed up {_shown(url)} to {target} ({_size(target)}, pg_dump custom format): revision {revision}; "
            "every table, with the raw emails and attachments")


def restore_postgresql(url: URL, file: Path, force: bool) -> str:
    from models.db import DatabaseUnavailable, check_reachable, make_engine

    _readable_backup(file, "postgresql")
    conninfo, env = libpq(url)
    _known_revision(dump_revision(file, env), file)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        check_reachable(engine)
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
    except DatabaseUnavailable as exc:
        raise click.ClickException(f"{exc}; create the (empty) database first") from None
    finally:
        engine.dispose()
    if tables:
        _refuse_if_cases(url, force)
    _run(pg_restore_command(conninfo, file, clean=bool(tables)), env, f"pg_restore (nothing was changed in {_shown(url)})")
    return _restored(url, file)


# --- the commands --------------------------------------------------------------------------------------

def _database_url() -> URL:
    from heard.cli import Context

    ctx = click.get_current_context().ensure_object(Context)
    url = make_url(ctx.settings.database_url)
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise Refused(f"{_shown(url)}: Heard backs up SQLite and PostgreSQL only")
    return url


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def backup(file: Path, force: bool) -> None:
    """Write the whole case record to FILE: on SQLite, a copy made with SQLite's online backup API
    (safe while Heard runs); on PostgreSQL, a pg_dump in its custom format. The originals of
    emails and every attachment are in the database, so they are in FILE."""
    url = _database_url()
    if file.exists() and not force:
        raise Refused(f"{file} already exists: choose another name, or add --force to replace it")
    if not file.parent.is_dir():
        raise Refused(f"no such folder: {file.parent}")
    done = backup_sqlite(url, file, force) if url.get_backend_name() == "sqlite" else backup_postgresql(url, file, force)
    click.echo(done)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds cases.")
def restore(file: Path, force: bool) -> None:
    """Put a backup made by `heard backup` into the database HEARD_DATABASE_URL names (an SQLite
    file, made if missing; or an existing PostgreSQL database, best empty). Refuses a database that
    already holds cases unless --force, and a backup from a newer Heard. Stop Heard first."""
    url = _database_url()
    done = restore_sqlite(url, file, force) if url.get_backend_name() == "sqlite" else restore_postgresql(url, file, force)
    click.echo(done)


def register(cli: click.Group) -> None:
    cli.add_command(backup)
    cli.add_command(restore)
