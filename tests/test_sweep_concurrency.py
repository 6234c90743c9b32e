"""Two schedulers on one PostgreSQL, and a sweep killed half-way: nothing sent twice, nothing lost."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine

from bots.email.relay import MailSender, Relay
from models import Deadline, OutboxItem, make_engine
from scheduler.clock import Clock
from scheduler.policy import load_policy
from tests.factories import seed_deadlines
from tests.helpers import ROOT, free_port, heard_env

CLOCK = Clock(load_policy())
TODAY = date(2026, 11, 24)


def sweep_process(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "heard", "sweep", "--now", f"{TODAY}T07:00", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=heard_env(database_url=url))


def reminder_keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(OutboxItem.idempotency_key).where(OutboxItem.purpose == "reminder")).scalars())


@pytest.mark.postgres
@pytest.mark.slow
def test_two_schedulers_on_postgres_take_turns_and_send_nothing_twice(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("two scheduler processes on one PostgreSQL")
    due = seed_deadlines(engine, CLOCK, cases=4000, due_every=4, today=TODAY)
    url = engine.url.render_as_string(hide_password=False)
    first, second = sweep_process(url), sweep_process(url)
    results = [json.loads(p.communicate(timeout=120)[0]) for p in (first, second)]
    reminded = [a["deadline_id"] for r in results for a in r["actions"] if a["action"] == "reminder"]
    assert sorted(reminded) == sorted(set(reminded))  # no deadline handled by both
    assert len(reminded) == due
    assert len(reminder_keys(engine)) == due  # one recipient each: the team manager

    # Both processes' senders at once, against one relay: every message arrives once.
    received: list[str] = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            received.append(envelope.original_content.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0].decode())
            return "250 OK"

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        def send_all() -> None:
            engine_here = make_engine(url)
            sender = MailSender(engine_here, Relay("127.0.0.1", port, starttls=False),
                                now=lambda: datetime(2026, 11, 24, 12, tzinfo=UTC))  # the sweep's day
            while asyncio.run(sender.send_due()):
                pass
            engine_here.dispose()

        threads = [threading.Thread(target=send_all) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        controller.stop()
    assert len(received) == len(set(received)) == due


@pytest.mark.slow
def test_a_sweep_killed_half_way_loses_nothing_and_repeats_nothing(sqlite_engine: Engine) -> None:
    due = seed_deadlines(sqlite_engine, CLOCK, cases=40_000, due_every=2, today=TODAY)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    victim = sweep_process(url)
    time.sleep(1.0)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    assert len(reminder_keys(sqlite_engine)) in (0, due)  # one transaction: all or nothing
    again = sweep_process(url)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    keys = reminder_keys(sqlite_engine)
    assert len(keys) == len(set(keys)) == due
    with sqlite_engine.connect() as conn:
        waiting = conn.execute(sa.select(sa.func.count()).select_from(Deadline).where(Deadline.next_action_on <= TODAY)).scalar_one()
    assert waiting == 0


@pytest.mark.postgres
def test_a_sweep_that_deadlocks_with_another_writer_runs_again_and_finishes(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    """Two writers updating the same deadlines in opposite orders: PostgreSQL rolls the sweep
    back whole (it notices first), and the sweep runs again instead of failing."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: nothing to deadlock with")
    from scheduler.sweep import Sweep
    from zoneinfo import ZoneInfo

    seed_deadlines(engine, CLOCK, cases=3, due_every=100, today=TODAY)
    with engine.begin() as conn:
        first, second = conn.execute(sa.select(Deadline.id).order_by(Deadline.id).limit(2)).scalars().all()
        conn.execute(sa.update(Deadline).where(Deadline.id.in_([first, second])).values(due_on=date(2026, 11, 2)))
    # PostgreSQL looks for a deadlock once, `deadlock_timeout` after a wait begins: the sweep
    # looks after 3 s (by then the other is waiting on it, however busy the machine), the
    # other only after 60 s, so the sweep is the one rolled back.
    engine.dispose()
    sa.event.listen(engine, "connect", lambda dbapi, _record: (dbapi.execute("SET deadlock_timeout = '3s'"), dbapi.commit()))
    other = engine.connect()
    other.begin()
    other.exec_driver_sql("SET LOCAL deadlock_timeout = '60s'")
    other.execute(sa.update(Deadline).where(Deadline.id == second).values(next_action_on=None))
    outcome: list[object] = []
    sweeping = threading.Thread(target=lambda: outcome.append(
        Sweep(engine, CLOCK, ZoneInfo("Europe/London")).run(datetime(2026, 11, 24, 7, tzinfo=UTC))))
    with caplog.at_level("WARNING", logger="heard.scheduler"):
        sweeping.start()
        with engine.connect() as watch:  # until the sweep has marked the first missed and waits for the second
            waiting = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
            stop = time.monotonic() + 30
            while not watch.execute(waiting).scalar() and time.monotonic() < stop:
                time.sleep(0.02)
        other.execute(sa.update(Deadline).where(Deadline.id == first).values(next_action_on=None))  # opposite order
        other.rollback()
        other.close()
        sweeping.join(60)
    assert outcome and outcome[0].missed == 2, outcome  # type: ignore[attr-defined]
    assert "sweep deadlocked with another writer" in caplog.text


@pytest.mark.postgres
def test_a_sweep_beside_one_that_is_rolled_back_still_sends_every_reminder(engine: Engine) -> None:
    """Another sweep holds the deadlines, then is rolled back (as a deadlock does). This sweep
    waits its turn and does them all; it once skipped the rows held, marked them missed when
    they were let go, and left their escalation to a next sweep that a `heard sweep --now` by
    hand never has (seen in the soak test)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: no sweep runs beside another")
    from scheduler.outbox import take_write_lock
    from scheduler.sweep import Sweep
    from zoneinfo import ZoneInfo

    due = seed_deadlines(engine, CLOCK, cases=20, due_every=1, today=TODAY)
    other = engine.connect()
    other.begin()
    take_write_lock(other)  # the other sweep, in flight
    other.execute(sa.select(Deadline.id).with_for_update())
    outcome: list[object] = []
    sweeping = threading.Thread(target=lambda: outcome.append(
        Sweep(engine, CLOCK, ZoneInfo("Europe/London")).run(datetime(2026, 11, 24, 7, tzinfo=UTC))))
    sweeping.start()
    sweeping.join(1.5)
    other.rollback()
    other.close()
    sweeping.join(60)
    assert outcome and outcome[0].count("reminder") == due, outcome  # type: ignore[attr-defined]
    assert len(reminder_keys(engine)) == due
