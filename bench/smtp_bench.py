"""SMTP intake benchmark: Heard's intake against a do-nothing aiosmtpd server, side by side.

Each run sends N messages from concurrent smtplib clients over loopback, first to aiosmtpd
with a handler that only says 250, then to `heard serve --only email` on a fresh database;
Heard's throughput is reported as a ratio to the do-nothing server's in the same run, since
on a shared machine absolute figures say more about the neighbours than about Heard (one
message goes through first, so that Heard's worker has loaded the classifier). Then
it waits for Heard's email worker (classifier on) to turn every stored message into a case
and reports the worker's rate: overall (first message stored → last processed, during the
burst and after it), and draining the backlog once the senders have stopped. Load average is
printed with every run.

    .venv/bin/python bench/smtp_bench.py [--messages 5000] [--clients 8] [--runs 3]
                                         [--postgres URL --workers 2]
"""

from __future__ import annotations

import argparse
import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import free_port, heard_env  # noqa: E402

NULL_SERVER = """
import asyncio, sys
from aiosmtpd.smtp import SMTP
class Null:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
async def main():
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(Null(), enable_SMTPUTF8=True), "127.0.0.1", int(sys.argv[1]))
    print("Press Ctrl-C", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def message(n: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"Parent {n} <parent{n % 500}@example.org>"
    m["To"] = "complaints@council.example"
    m["Subject"] = f"Contact for my son (#{n})"
    m["Message-ID"] = make_msgid(domain="bench.example")
    m.set_content(f"Dear team,\n\nNobody has rung me back about contact, message {n}. The taxi was late again.\n\nRegards,\nA parent\n" * 3)
    return m.as_bytes().replace(b"\n", b"\r\n")


def rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (Heard's email workers are some)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            total += rss_kb(int(child))
    except OSError:
        pass
    return total


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def drive(port: int, pid: int, total: int, clients: int) -> dict:
    payloads = [message(n) for n in range(total)]
    latencies: list[float] = []
    memory: list[tuple[int, int]] = []
    lock = threading.Lock()
    done = [0]
    refused = [0]

    def client(share: list[bytes]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
            for raw in share:
                while True:
                    start = time.perf_counter()
                    try:
                        smtp.sendmail("parent@example.org", ["complaints@council.example"], raw)
                        break
                    except smtplib.SMTPDataError as exc:  # 451: try again, as a sending server would
                        if exc.smtp_code != 451:
                            raise
                        with lock:
                            refused[0] += 1
                        time.sleep(1)
                with lock:
                    latencies.append(time.perf_counter() - start)
                    done[0] += 1

    def watch() -> None:
        while done[0] < total:
            memory.append((done[0], rss_kb(pid)))
            time.sleep(0.5)

    threads = [threading.Thread(target=client, args=(payloads[i::clients],)) for i in range(clients)]
    watcher = threading.Thread(target=watch, daemon=True)
    began = time.perf_counter()
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rate": total / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "memory": memory + [(total, rss_kb(pid))],
        "refused": refused[0],
        "last_250": datetime.now(UTC),
    }


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Press Ctrl-C" in line:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining its output
            return proc
    raise SystemExit(f"server did not start: {' '.join(cmd)}")


@dataclass
class Worker:
    overall: float  # messages / (first stored → last processed)
    drain: float  # messages left at the last 250 / (last 250 → last processed)
    left: int
    drain_s: float
    cases: int
    last_id: int


def warm_up(port: int, url: str) -> int:
    """One message through, so the worker has loaded the classifier before the clock starts;
    the id it got (the measured messages come after it)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
        smtp.sendmail("parent@example.org", ["complaints@council.example"], message(-1))
    return worker_rates(url, 0, datetime.now(UTC), after=0).last_id


def worker_rates(url: str, total: int, last_250: datetime, after: int) -> Worker:
    """Wait until nothing is stored, then read the rates from the messages' own timestamps
    (those with ids above `after`)."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from models import Case, Message, make_engine
    from models.enums import MessageState

    engine = make_engine(url)
    try:
        while True:
            with Session(engine) as session:
                if not session.execute(sa.select(Message.id).where(Message.state == MessageState.stored).limit(1)).first():
                    break
            time.sleep(0.2)
        with Session(engine) as session:
            first, last, last_id = session.execute(sa.select(
                sa.func.min(Message.received_at), sa.func.max(Message.processed_at), sa.func.max(Message.id)
            ).where(Message.id > after)).one()
            left = session.execute(sa.select(sa.func.count()).select_from(Message)
                                   .where(Message.id > after, Message.processed_at > last_250)).scalar_one()
            cases = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    finally:
        engine.dispose()
    drain_s = max((last - last_250).total_seconds(), 1e-9)
    return Worker(total / max((last - first).total_seconds(), 1e-9), left / drain_s if left else float("nan"),
                  left, drain_s, cases, last_id)


@contextmanager
def database(postgres: str, tmp: str, run: int) -> Iterator[str]:
    """A fresh database for each run: an SQLite file, or a database made (and dropped) on the server."""
    if not postgres:
        yield f"sqlite:///{tmp}/bench{run}.db"
        return
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    name = f"heard_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def line(name: str, r: dict) -> str:
    mem = r["memory"]
    marks = [mem[0], mem[len(mem) // 2], mem[-1]]
    return (f"  {name:<24} {r['rate']:6.0f} msg/s   p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:7.2f} ms   RSS "
            + " → ".join(f"{kb / 1024:.0f} MB@{n}" for n, kb in marks)
            + (f"   {r['refused']} answered 451 and retried" if r["refused"] else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="each run measures the do-nothing server, then Heard")
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL the bench may create databases on (default: SQLite)")
    parser.add_argument("--workers", type=int, default=1, help="HEARD_EMAIL_WORKERS (more than one: PostgreSQL only)")
    args = parser.parse_args()
    where = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.messages} messages from {args.clients} concurrent clients over loopback, {args.runs} runs; "
          f"Heard on {where}, {args.workers} email worker(s); {os.cpu_count()} cores")

    ratios: list[float] = []
    overall: list[float] = []
    drains: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(1, args.runs + 1):
            print(f"run {run}  load average {load()} (1/5/15 min)")
            port = free_port()
            null = start([sys.executable, "-c", NULL_SERVER, str(port)], dict(os.environ))
            try:
                ceiling = drive(port, null.pid, args.messages, args.clients)
            finally:
                null.terminate()
                null.wait()
            print(line("aiosmtpd, no-op handler", ceiling))
            with database(args.postgres, tmp, run) as url:
                env = heard_env(database_url=url, smtp_port=str(free_port()), complaint_addresses="complaints@council.example",
                                email_workers=str(args.workers))
                subprocess.run([sys.executable, "-m", "heard", "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
                heard = start([sys.executable, "-m", "heard", "serve", "--only", "email"], env)
                try:
                    after = warm_up(int(env["HEARD_SMTP_PORT"]), url)
                    result = drive(int(env["HEARD_SMTP_PORT"]), heard.pid, args.messages, args.clients)
                    worker = worker_rates(url, args.messages, result["last_250"], after)
                finally:
                    heard.send_signal(2)
                    heard.wait(60)
            ratio = result["rate"] / ceiling["rate"]
            ratios.append(ratio)
            overall.append(worker.overall)
            if worker.left >= args.messages // 10:  # a drain too short to time says nothing
                drains.append(worker.drain)
            print(line(f"Heard intake ({where})", result) + f"   = {ratio:.0%} of the no-op server")
            print(f"  {'Heard email worker':<24} {worker.overall:6.0f} msg/s from the first stored to the last processed; "
                  f"{worker.left} were left at the last 250, drained at {worker.drain:.0f} msg/s in {worker.drain_s:.1f} s; "
                  f"{worker.cases - 1} cases   (load now {load()})")
    print(f"summary: intake {min(ratios):.0%}–{max(ratios):.0%} of the no-op server (median {statistics.median(ratios):.0%}); "
          f"worker {min(overall):.0f}–{max(overall):.0f} msg/s overall"
          + (f", {min(drains):.0f}–{max(drains):.0f} msg/s draining" if drains else ""))


if __name__ == "__main__":
    main()
