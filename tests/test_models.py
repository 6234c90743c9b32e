"""The case record on SQLite and PostgreSQL: the migrations build exactly the models' schema,
and the database enforces what the product relies on."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import models
from models import Case, Deadline, Message, OutboxItem, session_scope
from models.enums import Channel, DeadlineKind, Direction, Kind, Reason
from models.migrate import current, downgrade, head, upgrade
from models.search_index import include_object


def test_the_migrations_build_exactly_the_models_schema(engine: Engine) -> None:
    """The search index's tables (models/search_index.py) are the migrations' alone."""
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object}), models.metadata)
    assert differences == []


def test_the_migrations_go_down_and_up_again(database_url: str) -> None:
    upgrade(database_url)
    assert current(database_url) == head()
    downgrade(database_url, "base")
    assert current(database_url) is None
    upgrade(database_url)
    assert current(database_url) == head()


def test_enums_are_stored_as_plain_strings(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(Case(reference="CSC-2026-00001", kind=Kind.complaint, channel=Channel.email, reasons=[Reason.delay]))
    with engine.connect() as conn:
        kind, reasons = conn.execute(sa.text('SELECT kind, reasons FROM "case"')).one()
        assert kind == "complaint"
        if engine.dialect.name == "postgresql":
            native = conn.execute(sa.text("SELECT count(*) FROM pg_type WHERE typtype = 'e'")).scalar_one()
            assert native == 0


def test_timestamps_come_back_in_utc(engine: Engine) -> None:
    sent = datetime(2026, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))  # 09:30 BST
    with session_scope(engine) as session:
        case = Case(reference="CSC-2026-00002", channel=Channel.webchat, received_at=sent)
        session.add(case)
    with Session(engine) as session:
        back = session.exec(select(Case)).one().received_at
    assert back == datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    assert back.tzinfo is not None


def test_a_naive_timestamp_is_refused(engine: Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with session_scope(engine) as session:
            session.add(Case(reference="CSC-2026-00003", channel=Channel.email, received_at=datetime(2026, 6, 1)))


def test_a_repeat_delivery_collides_on_its_dedupe_key(engine: Engine) -> None:
    raw = b"Subject: hello\r\n\r\nbody\r\n"
    with session_scope(engine) as session:
        session.add(Message(dedupe_key="email:<a@b>:sha", channel=Channel.email, direction=Direction.inbound, raw_bytes=raw))
    with pytest.raises(sa.exc.IntegrityError):
        with session_scope(engine) as session:
            session.add(Message(dedupe_key="email:<a@b>:sha", channel=Channel.email, direction=Direction.inbound, raw_bytes=raw))
    with Session(engine) as session:
        assert [m.raw_bytes for m in session.exec(select(Message))] == [raw]


def test_raw_email_bytes_are_kept_byte_for_byte(engine: Engine) -> None:
    raw = bytes(range(256)) + "€ 日本語 🙂".encode("utf-8") + b"\r\n.\r\n"
    with session_scope(engine) as session:
        session.add(Message(dedupe_key="k", channel=Channel.email, direction=Direction.inbound, raw_bytes=raw))
    with Session(engine) as session:
        assert session.exec(select(Message)).one().raw_bytes == raw


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        with session_scope(engine) as session:
            session.add(Deadline(case_id=424242, kind=DeadlineKind.stage_1, due_on=date(2027, 1, 11)))


def test_the_outbox_idempotency_key_is_unique(engine: Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        with session_scope(engine) as session:
            for _ in range(2):
                session.add(OutboxItem(idempotency_key="ack:1", purpose="acknowledgement", channel=Channel.email, recipient="a@b"))
                session.flush()


def test_sqlite_runs_in_wal_mode(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
