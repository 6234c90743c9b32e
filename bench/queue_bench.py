"""Triage queue benchmark: the queue's first page with a million cases, on SQLite and PostgreSQL.

Builds (once, then reuses) a database of N cases spread over four years — most closed,
a few percent open, about 2% flagged for safeguarding (half disclosures, half possible concerns) — with their deadlines, then signs in
and times GET /queue through the real app (query, working days and HTML rendering), plus
a few filtered views, and prints p50/p95/p99. The target: first page under 150 ms p95.

    .venv/bin/python bench/queue_bench.py [--cases 1000000] [--runs 100] [--backend sqlite|postgresql|both]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--rebuild]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from kept_databases import kept_databases, percentile, ready  # noqa: E402

from models import Officer, make_engine, session_scope  # noqa: E402
from models.enums import OfficerRole  # noqa: E402

BENCH_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DP"
from models.migrate import upgrade  # noqa: E402
from scheduler.policy import load_policy  # noqa: E402

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
OPENINGS = [
    "Nobody rang me back about contact with my brother and it has been three weeks.",
    "I want to complain about how my social worker spoke to me at my review.",
    "My foster carer treats me differently from her own kids and nobody listens.",
    "I still have not got my savings from when I was in care and I am 19 now.",
    "The assessment is full of mistakes and I want them corrected before court.",
    "Thank you to the leaving care team for helping me move into my flat.",
    "We were promised a carer's allowance review in March and we are still waiting.",
    "My fifth social worker in two years and none of them said goodbye.",
    "The taxi to contact was late again and my daughter missed seeing her mum.",
    "My information was shared with my ex-partner without my consent.",
]
REASONS = ["communication", "staff_conduct", "decision", "assessment", "delay", "lack_of_support",
           "family_time", "placement_care", "finance", "confidentiality_records", "change_of_worker", "voice_not_heard"]
ROLES = ["child_or_young_person", "care_leaver", "parent_or_family", "foster_carer", "professional", "other"]


def _rows(n: int, seed: int = 42):  # type: ignore[no-untyped-def]
    """(case tuple, [deadline tuples]) for n cases, reproducibly."""
    rnd = random.Random(seed)
    start = datetime(2022, 12, 1, tzinfo=UTC)
    span = (NOW - start).total_seconds()
    for i in range(1, n + 1):
        received = start + timedelta(seconds=span * i / n)
        age_days = (NOW - received).days
        is_open = age_days < 60 and rnd.random() < 0.6 or rnd.random() < 0.02
        kind = rnd.choices(["complaint", "initial_feedback", "compliment"], [60, 30, 10])[0]
        stage = {"complaint": "stage_1", "initial_feedback": "initial_feedback", "compliment": None}[kind]
        safeguarding = rnd.random() < 0.02
        needs_review = is_open and rnd.random() < 0.5
        reasons = [] if kind == "compliment" else rnd.sample(REASONS, rnd.choice([1, 1, 2, 3]))
        case = (
            i, f"CSC-{received.year}-{i:07d}", kind, json.dumps(reasons), reasons[0] if reasons else None,
            rnd.choice(ROLES), "statutory", stage, "open" if is_open else "closed", rnd.choice(["email", "telegram", "webchat"]),
            rnd.randint(1, 6), rnd.choice(OPENINGS), "needs_review" if needs_review else "confirmed",
            round(rnd.uniform(0.4, 0.99), 2), "{}", safeguarding,
            (rnd.choice(["disclosure", "possible"]) if safeguarding else None), json.dumps(["self_harm"] if safeguarding else []),
            "[]", False, False, "", 0, "", "", received, None if is_open else received + timedelta(days=20), received,
        )
        deadlines = []
        if kind != "compliment":
            received_day = received.date()
            due = received_day + timedelta(days=14 if kind == "complaint" else 7)
            ack = received_day + timedelta(days=4)
            deadlines.append(("acknowledgement", ack, "met", ack))
            if is_open:
                deadlines.append((stage, due, "missed" if due < TODAY else "open", None))
            else:
                deadlines.append((stage, due, "met", due - timedelta(days=rnd.randint(0, 5))))
        yield case, deadlines


CASE_COLUMNS = ("id, reference, kind, reasons, primary_reason, complainant_role, procedure, stage, status, channel, "
                "team_id, summary, triage_state, triage_confidence, triage_detail, safeguarding, safeguarding_level, safeguarding_signals, "
                "eligibility_flags, possible_escalation, adr, adr_note, compensation_pence, learning, child_ethnicity, "
                "received_at, closed_at, created_at")
DEADLINE_COLUMNS = "case_id, kind, due_on, explanation, status, met_on, extension_reason, created_at"


def build(url: str, n: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        from models import Team
        from desk.auth import add_officer

        for name in ["Children in Care", "Leaving Care", "Fostering", "Family Support", "Disabled Children", "Front Door"]:
            s.add(Team(name=name))
        bench = add_officer(s, "bench", OfficerRole.manager, "bench-password-1")
        bench.totp_secret, bench.totp_confirmed_at = BENCH_TOTP, NOW  # a manager signs in with a code
    t0 = time.perf_counter()
    if engine.dialect.name == "sqlite":
        _load_sqlite(engine, n)
    else:
        _load_postgres(engine, n)
    # Fresh statistics, as a running database has them (PostgreSQL's autovacuum, SQLite's ANALYZE).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    print(f"  built {n:,} cases in {time.perf_counter() - t0:.0f} s")
    engine.dispose()


def _deadline_columns(engine) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """The columns to fill, with later NOT NULL text columns (e.g. last_action) given ''."""
    extra = [c["name"] for c in sa.inspect(engine).get_columns("deadline")
             if not c["nullable"] and c["name"] not in DEADLINE_COLUMNS and c["name"] != "id"]
    return ", ".join([DEADLINE_COLUMNS, *extra]), len(extra)


def _load_sqlite(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    columns, extra = _deadline_columns(engine)
    raw = engine.raw_connection()
    cur = raw.cursor()
    cur.execute("PRAGMA synchronous=OFF")
    marks = ",".join("?" * len(CASE_COLUMNS.split(",")))
    cases, deadlines = [], []
    iso = lambda d: d.isoformat(sep=" ") if isinstance(d, datetime) else d  # noqa: E731
    for case, dls in _rows(n):
        cases.append(tuple(iso(v) for v in case))
        deadlines.extend((case[0], k, d.isoformat(), "", st, met.isoformat() if met else None, "", iso(case[-1]), *[""] * extra)
                         for k, d, st, met in dls)
        if len(cases) >= 50_000:
            cur.executemany(f'INSERT INTO "case" ({CASE_COLUMNS}) VALUES ({marks})', cases)
            cur.executemany(f"INSERT INTO deadline ({columns}) VALUES ({','.join('?' * (8 + extra))})", deadlines)
            raw.commit()
            cases, deadlines = [], []
    if cases:
        cur.executemany(f'INSERT INTO "case" ({CASE_COLUMNS}) VALUES ({marks})', cases)
        cur.executemany(f"INSERT INTO deadline ({columns}) VALUES ({','.join('?' * (8 + extra))})", deadlines)
    raw.commit()
    raw.close()


def _load_postgres(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    columns, extra = _deadline_columns(engine)
    raw = engine.raw_connection()
    cur = raw.cursor()
    with cur.copy(f'COPY "case" ({CASE_COLUMNS}) FROM STDIN') as copy_cases:
        deadlines = io.StringIO()
        for case, dls in _rows(n):
            copy_cases.write_row(case)
            for k, d, st, met in dls:
                deadlines.write(f"{case[0]}\t{k}\t{d}\t\t{st}\t{met or chr(92) + 'N'}\t\t{case[-1].isoformat()}{chr(9) * extra}\n")
    with cur.copy(f"COPY deadline ({columns}) FROM STDIN") as copy_deadlines:
        copy_deadlines.write(deadlines.getvalue())
    cur.execute("SELECT setval(pg_get_serial_sequence('\"case\"', 'id'), (SELECT max(id) FROM \"case\"))")
    raw.commit()
    raw.close()


def measure(url: str, runs: int) -> None:
    from fastapi.testclient import TestClient

    from desk import create_app

    engine = make_engine(url)
    app = create_app(engine, load_policy(None), secret_key="b" * 32, now=lambda: NOW, public_url="https://bench")
    client = TestClient(app, base_url="https://bench")
    with session_scope(engine) as s:  # the clock stands still at NOW: a kept database's manager has used NOW's code already
        s.execute(sa.update(Officer).where(Officer.name == "bench").values(totp_last_step=0))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)  # type: ignore[union-attr]
    client.post("/signin", data={"name": "bench", "password": "bench-password-1", "csrf_token": token})
    import pyotp

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin/code").text).group(1)  # type: ignore[union-attr]
    client.post("/signin/code", data={"code": pyotp.TOTP(BENCH_TOTP).at(NOW), "csrf_token": token})
    assert client.get("/queue", follow_redirects=False).status_code == 200, "the benchmark could not sign in"
    views = {
        "first page (needs review, default)": "/queue",
        "all open": "/queue?review=all",
        "overdue only": "/queue?review=all&overdue=1",
        "one team": "/queue?team=3",
        "complaints about delay": "/queue?kind=complaint&reason=delay",
        "page 20": "/queue?review=all&page=20",
        "JSON API first page": "/api/queue",
    }
    print(f"  {'view':<36} {'p50':>8} {'p95':>8} {'p99':>8}  rows")
    for label, path in views.items():
        for _ in range(3):
            client.get(path)  # warm caches, as a running server is
        times = []
        for _ in range(runs if label.startswith("first") else max(20, runs // 5)):
            t0 = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.text[:300]
        rows = response.text.count("data-row") if not path.startswith("/api") else len(response.json()["items"])
        print(f"  {label:<36} {percentile(times, 50):6.1f}ms {percentile(times, 95):6.1f}ms {percentile(times, 99):6.1f}ms  {rows}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("HEARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--rebuild", action="store_true", help="Build the database again even if it exists.")
    args = parser.parse_args()
    targets = kept_databases("queue", args.cases, args.backend, args.postgres_url, args.rebuild)
    print(f"load average before measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    for label, url in targets:
        print(f"{label}: {args.cases:,} cases")
        ready(url, "case", args.cases, build)
        measure(url, args.runs)


if __name__ == "__main__":
    main()
