"""`heard backup` and `heard restore`, as an operator runs them: a database with years of cases, their
original emails and attachments and the audit chain, backed up, restored into an empty database,
and found identical — every row, every byte, the annual report, the chain."""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from models import Attachment, Case, Message, make_engine, metadata, session_scope, write_audit
from models.enums import Channel, Direction, Kind, MessageState
from heard.backup_commands import backup_sqlite
from models.migrate import head, upgrade
from tests.conftest import POSTGRES_URL, _postgres_database
from tests.helpers import ROOT, run_heard
from tests.retention_helpers import SECRET, lived_case, not_a_case
from tests.test_import import SAMPLE, run_import

EVERY_BYTE = bytes(range(256)) * 4  # an original and a file must come back byte for byte, not as text


def populate(engine: Engine) -> None:
    """Three years of imported history (1,200 representations), cases as intake and officers leave
    them (an email's original, attachments, a reply, a stage response), open and closed, an
    auto-reply that never became a case, and audit entries on the chain."""
    run_import(engine, SAMPLE)
    first = lived_case(engine, date(2023, 5, 2), date(2023, 7, 14))
    lived_case(engine, date(2025, 1, 6), date(2025, 2, 3))
    open_one = lived_case(engine, date(2026, 10, 5), None, kind=Kind.initial_feedback)
    not_a_case(engine, datetime(2026, 9, 1, 8, tzinfo=UTC))
    with session_scope(engine) as session:
        case = session.get(Case, open_one)
        message = Message(dedupe_key="email:binary", channel=Channel.email, direction=Direction.inbound,
                          state=MessageState.processed, case_id=open_one, contact_id=case.contact_id,
                          raw_bytes=b"Content-Type: application/octet-stream\r\n\r\n" + EVERY_BYTE, sender="x@example.org",
                          subject="Zoë's scan – ½", text="Zoë sent a scan", received_at=datetime(2026, 10, 6, 9, tzinfo=UTC))
        session.add(message)
        session.flush()
        session.add(Attachment(message_id=message.id, filename="scan ½.png", content_type="image/png", content=EVERY_BYTE,
                               size=len(EVERY_BYTE)))
        write_audit(session, at=datetime(2026, 10, 6, 10, tzinfo=UTC), actor="sam", action="case.viewed", case_id=first,
                    why="checking the backup")


def every_row(engine: Engine) -> dict[str, list[tuple]]:
    """Every table of the case record, each row in primary-key order."""
    found = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            found[table.name] = [tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]
    return found


def report_json(url: str) -> str:
    result = run_heard("report", "--year", "2025", "--years", "3", "--format", "json", "-o", "-", database_url=url)
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_identical(before: Engine, before_url: str, after_url: str) -> None:
    after = make_engine(after_url)
    try:
        rows, restored = every_row(before), every_row(after)
        assert len(rows["case"]) > 1_200
        for table in rows:
            assert restored[table] == rows[table], f"table {table} differs after the restore"
        with after.connect() as conn:
            raws = conn.execute(sa.select(Message.__table__.c.raw_bytes).where(Message.__table__.c.dedupe_key == "email:binary")).scalar_one()
            files = conn.execute(sa.select(Attachment.__table__.c.content).where(Attachment.__table__.c.filename == "scan ½.png")).scalar_one()
        assert raws.endswith(EVERY_BYTE) and files == EVERY_BYTE
        from desk.search import search
        with session_scope(before) as session, session_scope(after) as restored_session:
            found = [r.reference for r in search(session, SECRET.split("-")[0])]
            assert len(found) == 3
            assert [r.reference for r in search(restored_session, SECRET.split("-")[0])] == found  # the search index came back
    finally:
        after.dispose()
    assert report_json(after_url) == report_json(before_url)
    verified = run_heard("audit", "verify", database_url=after_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert re.match(r"the audit log is whole: \d+ entries", verified.stdout)


# --- SQLite --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_sqlite_database_comes_back_identical_in_an_empty_one(sqlite_engine: Engine, tmp_path: Path) -> None:
    populate(sqlite_engine)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    backup = tmp_path / "heard-backup.db"
    made = run_heard("backup", str(backup), database_url=url)
    assert made.returncode == 0, made.stderr
    assert re.match(rf"backed up {re.escape(url)} to {re.escape(str(backup))} \([\d.,]+ [kMG]B\): revision {head()}; "
                    r"1,20\d cases, \d+ messages \(\d+ original emails\), \d+ attachments, \d+ audit entries", made.stdout)
    assert not list(tmp_path.glob(".*partial"))
    fresh = f"sqlite:///{tmp_path / 'elsewhere' / 'heard.db'}"
    restored = run_heard("restore", str(backup), database_url=fresh)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith(f"restored {backup} into {fresh}: revision {head()}; 1,20")
    assert "heard db upgrade" not in restored.stdout
    assert_identical(sqlite_engine, url, fresh)


def test_a_backup_never_overwrites_a_file_unless_forced(sqlite_engine: Engine, tmp_path: Path) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    target = tmp_path / "precious.db"
    target.write_bytes(b"yesterday's backup")
    refused = run_heard("backup", str(target), database_url=url)
    assert refused.returncode == 1
    assert f"Error: {target} already exists: choose another name, or add --force to replace it" in refused.stderr
    assert target.read_bytes() == b"yesterday's backup"
    forced = run_heard("backup", str(target), "--force", database_url=url)
    assert forced.returncode == 0, forced.stderr
    assert target.read_bytes().startswith(b"SQLite format 3\x00")


def test_a_backup_taken_while_heard_writes_is_one_consistent_moment(sqlite_engine: Engine, tmp_path: Path) -> None:
    """A writer keeps adding audit entries (on the chain) and emails while `heard backup` runs: it is
    never held up, and the backup holds a whole chain and every email up to one moment."""
    populate(sqlite_engine)
    with session_scope(sqlite_engine) as session:  # 24 MB of attachments, so the copy takes a while
        message_id = session.execute(sa.select(sa.func.min(Message.__table__.c.id))).scalar_one()
        for n in range(6):
            session.add(Attachment(message_id=message_id, filename=f"big-{n}.bin", content=os.urandom(4_000_000), size=4_000_000))
    url = sqlite_engine.url.render_as_string(hide_password=False)
    writer_engine = make_engine(url)
    stop, committed, errors = threading.Event(), [], []  # committed: the moment each write was committed

    def write() -> None:
        while not stop.is_set():
            try:
                with session_scope(writer_engine) as session:
                    n = len(committed)
                    write_audit(session, at=datetime.now(UTC), actor="writer", action="case.viewed", n=n)
                    session.add(Message(dedupe_key=f"busy:{n}", channel=Channel.email, direction=Direction.inbound,
                                        raw_bytes=f"Subject: {n}\r\n\r\nbusy".encode(), received_at=datetime.now(UTC)))
                committed.append(time.monotonic())
            except Exception as exc:  # noqa: BLE001 - the test reports any
                errors.append(exc)
                return

    thread = threading.Thread(target=write)
    thread.start()
    try:
        time.sleep(0.3)
        began = time.monotonic()
        said = backup_sqlite(make_url(url), tmp_path / "busy.db", force=False)  # what `heard backup` runs, timed here
        ended = time.monotonic()
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join(30)
        writer_engine.dispose()
    assert said.startswith(f"backed up {url} to {tmp_path / 'busy.db'}")
    assert errors == []
    assert sum(began < t < ended for t in committed) > 0, "the writer was held up for the whole backup"
    restored = f"sqlite:///{tmp_path / 'restored.db'}"
    assert run_heard("restore", str(tmp_path / "busy.db"), database_url=restored).returncode == 0
    copy = make_engine(restored)
    try:
        with copy.connect() as conn:
            busy = conn.execute(sa.text("SELECT count(*) FROM message WHERE dedupe_key LIKE 'busy:%'")).scalar_one()
            audited = conn.execute(sa.text("SELECT count(*) FROM auditevent WHERE actor = 'writer'")).scalar_one()
    finally:
        copy.dispose()
    assert 0 < busy <= len(committed)
    assert audited == busy  # each transaction is in the backup whole, or not at all
    verified = run_heard("audit", "verify", database_url=restored)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_restore_refuses_a_database_that_already_holds_cases(sqlite_engine: Engine, tmp_path: Path) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    empty_backup = tmp_path / "empty.db"
    assert run_heard("backup", str(empty_backup), database_url=url).returncode == 0
    lived_case(sqlite_engine, date(2026, 3, 2), None)
    refused = run_heard("restore", str(empty_backup), database_url=url)
    assert refused.returncode == 1
    assert (f"Error: {url} already holds 1 cases, and a restore replaces everything in it; nothing was changed. "
            "To replace them, stop Heard and run again with --force") in refused.stderr
    with sqlite_engine.connect() as conn:
        assert conn.execute(sa.text('SELECT count(*) FROM "case"')).scalar_one() == 1
    forced = run_heard("restore", str(empty_backup), "--force", database_url=url)
    assert forced.returncode == 0, forced.stderr
    with sqlite_engine.connect() as conn:
        assert conn.execute(sa.text('SELECT count(*) FROM "case"')).scalar_one() == 0


def test_restore_takes_only_a_heard_backup(sqlite_engine: Engine, tmp_path: Path) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    (tmp_path / "notes.txt").write_text("not a database")
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.commit()
    (tmp_path / "pg.dump").write_bytes(b"PGDMP\x01\x0e\x00")
    for file, words in (("notes.txt", "is not a Heard backup: it is neither an SQLite database nor a PostgreSQL custom-format dump"),
                        ("other.db", "is not a Heard backup: no such table: alembic_version"),
                        ("pg.dump", "is a PostgreSQL dump (pg_dump --format=custom), and HEARD_DATABASE_URL names sqlite"),
                        ("missing.db", "no such file")):
        refused = run_heard("restore", str(tmp_path / file), database_url=url)
        assert refused.returncode == 1, file
        assert words in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr


def test_a_backup_from_a_newer_heard_is_refused_and_an_older_one_says_to_upgrade(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    upgrade(f"sqlite:///{newer}")
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    target = f"sqlite:///{tmp_path / 'heard.db'}"
    refused = run_heard("restore", str(newer), database_url=target)
    assert refused.returncode == 1
    assert f"was made by a newer Heard (revision 0099; this Heard knows up to {head()})" in refused.stderr
    assert not (tmp_path / "heard.db").exists()
    older = tmp_path / "older.db"
    upgrade(f"sqlite:///{older}", "0011")
    restored = run_heard("restore", str(older), database_url=target)
    assert restored.returncode == 0, restored.stderr
    assert f"The backup is at revision 0011 and this Heard at {head()}: run `heard db upgrade` before `heard serve`." in restored.stdout
    assert run_heard("db", "upgrade", database_url=target).returncode == 0


# --- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def second_postgres_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("set HEARD_TEST_POSTGRES_URL to run the PostgreSQL tests")
    yield from _postgres_database()


@pytest.mark.postgres
@pytest.mark.slow
def test_a_postgresql_database_comes_back_identical_in_an_empty_one(postgres_url: str, second_postgres_url: str,
                                                                     tmp_path: Path) -> None:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    try:
        populate(engine)
        dump = tmp_path / "heard.dump"
        made = run_heard("backup", str(dump), database_url=postgres_url)
        assert made.returncode == 0, made.stderr
        assert made.stdout.startswith(f"backed up {postgres_url} to {dump} (")
        assert f"pg_dump custom format): revision {head()}" in made.stdout
        assert dump.read_bytes().startswith(b"PGDMP")
        restored = run_heard("restore", str(dump), database_url=second_postgres_url)  # an empty database
        assert restored.returncode == 0, restored.stderr
        assert restored.stdout.startswith(f"restored {dump} into {second_postgres_url}: revision {head()}; 1,20")
        assert_identical(engine, postgres_url, second_postgres_url)
        again = run_heard("restore", str(dump), database_url=second_postgres_url)
        assert again.returncode == 1
        assert "already holds 1,20" in again.stderr and "nothing was changed" in again.stderr
    finally:
        engine.dispose()
    after = make_engine(second_postgres_url)
    try:  # the sequences came back too: a new case takes the next id
        lived_case(after, date(2026, 11, 2), None)
    finally:
        after.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_restore_into_a_migrated_empty_postgresql_database_and_with_force(postgres_url: str, second_postgres_url: str,
                                                                          tmp_path: Path) -> None:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    try:
        lived_case(engine, date(2025, 6, 2), date(2025, 6, 30))
    finally:
        engine.dispose()
    dump = tmp_path / "one.dump"
    assert run_heard("backup", str(dump), database_url=postgres_url).returncode == 0
    upgrade(second_postgres_url)  # what `heard db upgrade` leaves: tables, no cases
    restored = run_heard("restore", str(dump), database_url=second_postgres_url)
    assert restored.returncode == 0, restored.stderr
    assert ": revision " in restored.stdout and "1 cases" in restored.stdout
    forced = run_heard("restore", str(dump), "--force", database_url=second_postgres_url)
    assert forced.returncode == 0, forced.stderr
    assert "1 cases" in forced.stdout


def readme_commands() -> list[str]:
    """The pg_dump and pg_restore lines of README.md's "Backups" section, as an operator copies them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Backups"):]
    section = section[:section.index("\n## ", 1)]
    return [line for line in section.splitlines() if line.startswith(("pg_dump ", "pg_restore "))]


@pytest.mark.postgres
def test_the_documented_pg_dump_and_pg_restore_commands_round_trip(postgres_url: str, second_postgres_url: str,
                                                                   tmp_path: Path) -> None:
    """README's commands, run as written with the example database and file names replaced."""
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    try:
        lived_case(engine, date(2024, 9, 2), date(2024, 10, 1))
        lived_case(engine, date(2026, 2, 2), None)
        dump_line, restore_line = readme_commands()
        source, target = (make_url(u).set(drivername="postgresql").render_as_string(hide_password=False)
                          for u in (postgres_url, second_postgres_url))
        file = str(tmp_path / "heard.dump")
        for line, url in ((dump_line, source), (restore_line, target)):
            args = [a.replace("postgresql://heard@db.example:5432/heard", url).replace("heard.dump", file)
                    for a in shlex.split(line)]
            done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "PGPASSWORD": ""})
            assert done.returncode == 0, f"{line}: {done.stderr}"
        after = make_engine(second_postgres_url)
        try:
            assert every_row(after) == every_row(engine)
        finally:
            after.dispose()
    finally:
        engine.dispose()
    verified = run_heard("audit", "verify", database_url=second_postgres_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_postgresql_password_goes_in_the_environment_never_on_the_command_line(tmp_path: Path) -> None:
    from heard.backup_commands import libpq, pg_dump_command, pg_restore_command

    conninfo, env = libpq(make_url("postgresql+psycopg://heard:s3cr%40t@db.example:5433/heard?sslmode=require"))
    assert conninfo == "postgresql://heard@db.example:5433/heard?sslmode=require"
    assert env["PGPASSWORD"] == "s3cr@t"
    for command in (pg_dump_command(conninfo, tmp_path / "x.dump"), pg_restore_command(conninfo, tmp_path / "x.dump", clean=True)):
        assert not any("s3cr" in part for part in command)
