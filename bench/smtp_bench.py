"""SMTP intake benchmark: Heard's intake against a do-nothing aiosmtpd server, side by side.

8 concurrent smtplib clients send N messages over loopback; it prints messages per second,
time-to-250 percentiles, the server's resident memory as the run goes, and how long Heard
took to finish turning the stored mail into cases.

    .venv/bin/python bench/smtp_bench.py [--messages 5000] [--clients 8]
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
    """Resident memory of a process and its children (Heard's email worker is one)."""
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
    }


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Press Ctrl-C" in line:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining its output
            return proc
    raise SystemExit(f"server did not start: {' '.join(cmd)}")


def report(name: str, r: dict) -> None:
    mem = r["memory"]
    marks = [mem[0], mem[len(mem) // 2], mem[-1]]
    print(f"{name:<22} {r['rate']:8.0f} msg/s   p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms   "
          f"RSS (with children) " + " → ".join(f"{kb / 1024:.0f} MB@{n}" for n, kb in marks)
          + (f"   {r['refused']} answered 451 and retried" if r["refused"] else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    print(f"{args.messages} messages from {args.clients} concurrent clients over loopback")

    port = free_port()
    null = start([sys.executable, "-c", NULL_SERVER, str(port)], dict(os.environ))
    try:
        report("aiosmtpd, no-op handler", drive(port, null.pid, args.messages, args.clients))
    finally:
        null.terminate()
        null.wait()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        env = heard_env(database_url=url, smtp_port=str(free_port()), complaint_addresses="complaints@council.example")
        subprocess.run([sys.executable, "-m", "heard", "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        heard = start([sys.executable, "-m", "heard", "serve", "--only", "email"], env)
        try:
            result = drive(int(env["HEARD_SMTP_PORT"]), heard.pid, args.messages, args.clients)
            report("Heard intake (SQLite)", result)
            began = time.perf_counter()
            import sqlalchemy as sa

            engine = sa.create_engine(url)
            while True:
                with engine.connect() as conn:
                    left = conn.execute(sa.text("SELECT count(*) FROM message WHERE state = 'stored'")).scalar_one()
                if left == 0:
                    break
                time.sleep(0.5)
            with engine.connect() as conn:
                cases = conn.execute(sa.text('SELECT count(*) FROM "case"')).scalar_one()
            print(f"{'':<22} all {args.messages} stored before 250; {cases} cases opened, "
                  f"processing finished {time.perf_counter() - began:.1f} s after the last 250")
        finally:
            heard.send_signal(2)
            heard.wait(30)


if __name__ == "__main__":
    main()
