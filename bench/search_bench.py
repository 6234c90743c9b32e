"""Search benchmark: GET /api/search over a million messages, on SQLite (and PostgreSQL with --backend).

Builds (once, then reuses) a database of N messages on N/4 cases, each case with its contact
(a name, an email address or a Telegram name), loaded with bulk inserts through the real
migrations, so the triggers index every message as it is written. Then signs in and times
searches through the app (query, audit, JSON) for common words, rare words, a whole
reference, part of one, part of an email address and a name, printing p50/p95/p99 and the
load average. The target: p95 under 200 ms.

    .venv/bin/python bench/search_bench.py [--messages 1000000] [--runs 50] [--backend sqlite|postgresql|both]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--rebuild]
"""

from __future__ import annotations

import argparse
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

from models import make_engine, session_scope  # noqa: E402
from models.enums import OfficerRole  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from scheduler.policy import load_policy  # noqa: E402

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SENTENCES = [
    "Nobody rang me back about contact with my brother and it has been three weeks.",
    "I want to complain about how my social worker spoke to me at my review.",
    "My foster carer treats me differently from her own kids and nobody listens.",
    "I still have not got my savings from when I was in care and I am 19 now.",
    "The assessment is full of mistakes and I want them corrected before court.",
    "Thank you to the leaving care team for helping me move into my flat.",
    "We were promised a review in March and we are still waiting for a date.",
    "My fifth social worker in two years and none of them said goodbye.",
    "The taxi to contact was late again and my daughter missed seeing her mum.",
    "My information was shared with my ex-partner without my consent.",
    "Can someone please call me back this week, I am worried.",
    "The personal adviser has not answered my emails since the summer.",
    "School were not told about the plan and my son was upset.",
    "I asked for the minutes of the meeting and never got them.",
]
FIRST = ["Amara", "Olga", "Ben", "Priya", "Tom", "Zainab", "Liam", "Chloe", "Musa", "Ewa", "Jack", "Aisha", "Ryan", "Sofia", "Kai", "Maya"]
LAST = ["Okafor", "Petrova", "Smith", "Khan", "Jones", "Nowak", "Brown", "Ahmed", "Taylor", "Williams", "Patel", "Evans", "Hughes",
        "Murphy", "Clarke", "Walker", "Wright", "Green", "Hall", "Wood"]
RARE = "xylophone"  # in one message in 100,000


def _people(n: int, rnd: random.Random):  # type: ignore[no-untyped-def]
    for i in range(1, n + 1):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        channel = rnd.choices(["email", "telegram", "webchat"], [60, 30, 10])[0]
        address = {"email": f"{first.lower()}.{last.lower()}{i}@example.org", "telegram": str(100_000_000 + i),
                   "webchat": f"web-{i:08d}"}[channel]
        yield i, f"{first} {last}", channel, address


def _text(rnd: random.Random, i: int) -> str:
    words = " ".join(rnd.sample(SENTENCES, rnd.randint(2, 4)))
    words += f" My number is 07700 {rnd.randint(100000, 999999)}."
    return words + (f" The {RARE} was broken." if i % 100_000 == 7 else "")


def _rows(n_messages: int):  # type: ignore[no-untyped-def]
    """(contacts, identities, cases, messages) as tuples, reproducibly: four messages a case."""
    rnd = random.Random(42)
    n_cases = max(1, n_messages // 4)
    start = datetime(2022, 12, 1, tzinfo=UTC)
    span = (NOW - start).total_seconds()
    contacts, identities, cases = [], [], []
    numbers: dict[int, int] = {}
    for i, name, channel, address in _people(n_cases, rnd):
        received = start + timedelta(seconds=span * i / n_cases)
        numbers[received.year] = numbers.get(received.year, 0) + 1
        contacts.append((i, name, True, False, received))
        identities.append((i, channel, address, received))
        cases.append((i, f"CSC-{received.year}-{numbers[received.year]:05d}", "complaint", "[]", "statutory",
                      "open" if rnd.random() < 0.05 else "closed", channel, i, "", "confirmed", "{}", False, "[]", "[]", "",
                      False, False, "", 0, "", "", received, received))
    messages = []
    for m in range(1, n_messages + 1):
        case = (m - 1) % n_cases + 1
        received = cases[case - 1][-1] + timedelta(hours=(m - 1) // n_cases)
        sender = identities[case - 1][2]
        messages.append((m, f"bench:{m}", cases[case - 1][6], "inbound", "processed", case, case, "", "", "", sender, "contact",
                         _text(rnd, m), "", "{}", "", False, received))
    return contacts, identities, cases, messages


TABLES = {
    "contact": "id, display_name, consent_to_contact, unreachable, created_at",
    "channelidentity": "contact_id, channel, address, created_at",
    '"case"': "id, reference, kind, reasons, procedure, status, channel, contact_id, summary, triage_state, triage_detail, "
              "safeguarding, safeguarding_signals, eligibility_flags, interpreter_needed, possible_escalation, adr, adr_note, "
              "compensation_pence, learning, child_ethnicity, received_at, created_at",
    "message": "id, dedupe_key, channel, direction, state, case_id, contact_id, external_id, in_reply_to, \"references\", "
               "sender, subject, text, clean_text, headers, error, possible_escalation, received_at",
}


def build(url: str, n: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        from desk.auth import add_officer

        add_officer(s, "bench", OfficerRole.officer, "bench-password-1")
    t0 = time.perf_counter()
    data = _rows(n)
    raw = engine.raw_connection()
    cur = raw.cursor()
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        cur.execute("PRAGMA synchronous=OFF")
    iso = (lambda v: v.isoformat(sep=" ") if isinstance(v, datetime) else v) if sqlite else (lambda v: v)  # noqa: E731
    for (table, columns), rows in zip(TABLES.items(), data):
        marks = ",".join(["?" if sqlite else "%s"] * len(columns.split(",")))
        for first in range(0, len(rows), 50_000):  # the triggers index each message as it goes in
            cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", [tuple(iso(v) for v in r) for r in rows[first:first + 50_000]])
            raw.commit()
        print(f"  {table}: {len(rows):,} rows, {time.perf_counter() - t0:.0f} s so far", flush=True)
    if not sqlite:
        for table in ("contact", '"case"', "message"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        raw.commit()
    raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE" if not sqlite else "ANALYZE"))
        if sqlite:
            conn.execute(sa.text("INSERT INTO search_fts (search_fts) VALUES ('optimize')"))  # as after a quiet night
    print(f"  built {n:,} messages in {time.perf_counter() - t0:.0f} s")
    engine.dispose()


def queries(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        reference, address = conn.execute(sa.text(
            'SELECT c.reference, i.address FROM "case" c JOIN channelidentity i ON i.contact_id = c.contact_id '
            "WHERE i.channel = 'email' ORDER BY c.id LIMIT 1 OFFSET 1000")).one()
    engine.dispose()
    return {
        "common: contact": "contact", "common: social worker": "social worker", "very common: my": "my",
        "common, prefix: sav": "sav", "name: Amara Okafor": "Amara Okafor",
        f"rare: {RARE}": RARE, f"whole reference {reference}": reference, f"reference part {reference[-5:]}": reference[-5:],
        f"address part {address.split('@')[0]}@": address.split("@")[0] + "@", "no match: qqqzzz": "qqqzzz",
    }


def measure(url: str, runs: int) -> None:
    from fastapi.testclient import TestClient

    from desk import create_app

    engine = make_engine(url)
    app = create_app(engine, load_policy(None), secret_key="b" * 32, now=lambda: NOW, public_url="https://bench")
    client = TestClient(app, base_url="https://bench")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)  # type: ignore[union-attr]
    client.post("/signin", data={"name": "bench", "password": "bench-password-1", "csrf_token": token})
    assert client.get("/api/me").status_code == 200, "the benchmark could not sign in"
    print(f"  {'GET /api/search?q=':<44} {'p50':>8} {'p95':>8} {'p99':>8}  results")
    everything = []
    for label, q in queries(url).items():
        for _ in range(3):
            client.get("/api/search", params={"q": q})  # warm caches, as a running server is
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            response = client.get("/api/search", params={"q": q})
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.text[:300]
        everything += times
        found = len(response.json()["results"])
        print(f"  {label:<44} {percentile(times, 50):6.1f}ms {percentile(times, 95):6.1f}ms {percentile(times, 99):6.1f}ms  {found}")
    print(f"  {'all of them':<44} {percentile(everything, 50):6.1f}ms {percentile(everything, 95):6.1f}ms "
          f"{percentile(everything, 99):6.1f}ms")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("HEARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--rebuild", action="store_true", help="Build the database again even if it exists.")
    args = parser.parse_args()
    targets = kept_databases("search", args.messages, args.backend, args.postgres_url, args.rebuild)
    for label, url in targets:
        print(f"{label}: {args.messages:,} messages")
        ready(url, "message", args.messages, build)
        print(f"  load average before measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        measure(url, args.runs)
        print(f"  load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
