"""Sweep benchmark: one sweep over 1,000,000 open deadlines of which 1% are due, on SQLite and
(with --postgres URL) on PostgreSQL. Prints seeding time, sweep time and what it wrote.

    .venv/bin/python bench/sweep_bench.py [--cases 500000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Each case carries two open deadlines (an acknowledgement and stage 1), so 500,000 cases are
1,000,000 open deadlines; every 50th stage 1 is due for a reminder today (1%).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import Deadline, make_engine  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from scheduler.clock import Clock  # noqa: E402
from scheduler.policy import load_policy  # noqa: E402
from scheduler.sweep import Sweep  # noqa: E402
from tests.factories import LONDON, at, seed_deadlines  # noqa: E402

TODAY = date(2026, 11, 24)


def run(url: str, cases: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    clock = Clock(load_policy())
    began = time.perf_counter()
    due = seed_deadlines(engine, clock, cases=cases, due_every=50, today=TODAY)
    with engine.begin() as conn:  # a second open deadline per case: its acknowledgement, not due yet
        conn.execute(sa.text(
            "INSERT INTO deadline (case_id, kind, due_on, explanation, status, extension_reason, last_action, created_at, next_action_on) "
            "SELECT id, 'acknowledgement', :d, '', 'open', '', '', created_at, :n FROM \"case\""),
            {"d": date(2026, 12, 31), "n": date(2027, 1, 4)})
    with engine.connect() as conn:
        open_deadlines = conn.execute(sa.select(sa.func.count()).select_from(Deadline).where(Deadline.status == "open")).scalar_one()
    print(f"{engine.dialect.name:<10} seeded {open_deadlines:,} open deadlines ({due:,} due) in {time.perf_counter() - began:.1f} s")
    sweeper = Sweep(engine, clock, LONDON)
    began = time.perf_counter()
    result = sweeper.run(at(TODAY, 7))
    took = time.perf_counter() - began
    print(f"{engine.dialect.name:<10} sweep: {took:.2f} s, {result.count('reminder'):,} reminders written")
    began = time.perf_counter()
    again = sweeper.run(at(TODAY, 8))
    print(f"{engine.dialect.name:<10} second sweep the same day: {time.perf_counter() - began:.2f} s, {len(again.actions)} actions")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL to create a scratch database on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/sweep.db", args.cases)
    if args.postgres:
        admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"heard_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            run(sa.engine.make_url(args.postgres).set(database=name).render_as_string(hide_password=False), args.cases)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
