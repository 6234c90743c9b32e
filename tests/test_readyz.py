"""/readyz: 200 when the database answers, is migrated and each expected part has reported in
within its interval; 503 naming what failed. Heartbeats come from the real writers: the
scheduler's sweep, an email worker process, `heard serve` itself."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import make_engine
from models.heartbeat import TABLE, beat
from models.migrate import upgrade
from scheduler.clock import Clock
from scheduler.policy import load_policy
from scheduler.runner import SweepClock
from tests.helpers import ROOT, free_port, heard_env, run_heard
from tests.web_helpers import Now, client, make_app

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def sweep_at(engine: Engine, at: datetime) -> None:
    """One sweep as the running scheduler does it (heartbeat and all), every 30 s."""
    SweepClock(engine, Clock(load_policy()), ZoneInfo("Europe/London"), 30, now=lambda: at).sweep()


def ready(app) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    response = client(app).get("/readyz")
    return response.status_code, response.json()


def test_ready_when_the_database_is_migrated_and_both_parts_report_in(engine: Engine) -> None:
    now = Now(T0)
    app = make_app(engine, now=now)
    sweep_at(engine, T0)
    beat(engine, "email", 10, T0, started_at=T0)
    now.later(seconds=20)
    status, body = ready(app)
    assert status == 200, body
    assert body["status"] == "ready" and body["failing"] == []
    assert {name for name, check in body["checks"].items() if check["ok"]} == {"database", "migrations", "email", "scheduler"}
    assert body["checks"]["scheduler"]["last_seen_seconds_ago"] == 20


def test_a_stale_heartbeat_is_named_and_a_live_process_of_the_part_outweighs_a_dead_one(engine: Engine) -> None:
    now = Now(T0)
    app = make_app(engine, now=now)
    sweep_at(engine, T0)
    beat(engine, "email", 10, T0, started_at=T0)
    now.later(seconds=91)  # a 30 s scheduler: two missed sweeps and half a minute's grace are 90 s
    status, body = ready(app)
    assert status == 503
    assert body["failing"] == ["email", "scheduler"]
    assert body["checks"]["scheduler"]["detail"] == "stale: last reported in 91 s ago, every 30 s"

    # Another process of each part reports in (the dead ones' rows are still there): ready again.
    with engine.begin() as conn:
        conn.execute(sa.update(TABLE).values(pid=TABLE.c.pid + 100000))  # as if written by processes now gone
    sweep_at(engine, now())
    beat(engine, "email", 10, now(), started_at=now())
    status, body = ready(app)
    assert status == 200, body
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(TABLE)).scalar() == 4  # two dead, two live
    assert body["checks"]["email"]["live_processes"] == 1


def test_a_part_that_never_reported_in_fails_only_when_it_is_expected(engine: Engine) -> None:
    sweep_at(engine, T0)
    status, body = ready(make_app(engine, now=Now(T0)))
    assert status == 503 and body["failing"] == ["email"]
    assert body["checks"]["email"] == {"ok": False, "expected": True, "detail": "never reported in"}

    status, body = ready(make_app(engine, now=Now(T0), ready_parts=["scheduler"]))
    assert status == 200 and "email" not in body["checks"]
    status, body = ready(make_app(engine, now=Now(T0 + timedelta(hours=1)), ready_parts=[]))
    assert status == 200  # reported, but not expected: shown, never failing
    assert body["checks"]["scheduler"]["ok"] and body["checks"]["scheduler"]["detail"].startswith("stale")


def test_a_dead_processes_row_is_forgotten_a_day_later_by_a_live_one(engine: Engine) -> None:
    beat(engine, "email", 10, T0, started_at=T0)
    with engine.begin() as conn:
        conn.execute(sa.update(TABLE).values(pid=TABLE.c.pid + 100000))
    beat(engine, "email", 10, T0 + timedelta(days=1, seconds=1), started_at=T0)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(TABLE)).scalar() == 1


def test_an_unmigrated_or_old_database_is_not_ready(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        status, body = ready(make_app(engine, now=Now(T0)))
        assert status == 503 and body["failing"] == ["migrations"]
        assert body["checks"]["migrations"]["detail"] == "not migrated: run heard db upgrade"
        upgrade(database_url, "0013")
        status, body = ready(make_app(engine, now=Now(T0)))
        assert status == 503 and body["checks"]["migrations"]["detail"] == "at 0013, newest is 0014"
        assert body["checks"]["database"]["ok"]
    finally:
        engine.dispose()


def test_an_unreachable_database_is_not_ready(engine: Engine) -> None:
    app = make_app(engine, now=Now(T0))
    app.state.web.engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere")
    status, body = ready(app)
    assert status == 503 and body["failing"] == ["database"]
    assert body["checks"]["database"]["detail"].startswith("unreachable")
    assert client(app).get("/healthz").status_code == 503


@pytest.mark.slow
def test_heard_serve_becomes_ready_once_its_worker_and_scheduler_report_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'heard.db'}"
    assert run_heard("db", "upgrade", database_url=url).returncode == 0
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "heard", "serve"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT, env=heard_env(database_url=url, web_port=str(port), smtp_port=str(free_port())))
    try:
        deadline, body = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            body = response.json()
            if response.status_code == 200:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"never ready: {body}")
        assert body["checks"]["email"]["live_processes"] == 1 and body["checks"]["scheduler"]["ok"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
