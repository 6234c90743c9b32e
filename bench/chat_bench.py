"""Chat intake speed: Telegram updates per second through the dispatcher into the database,
and web chat reply latency with many chats at once. Prints its figures.

    .venv/bin/python bench/chat_bench.py                      # both, SQLite in a temp dir
    .venv/bin/python bench/chat_bench.py --updates 5000 --chats 50 --rounds 12
    .venv/bin/python bench/chat_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Telegram: updates are queued on a fake Bot API server (aiohttp, loopback, its own process)
and taken by the bot's own long polling: stored raw, deduplicated, dispatched by aiogram, one
conversation turn each (the bot's replies sent back over HTTP). Timed from the bot's start to
the last update handled. Each chat's first update is its greeting (three replies sent), so
fewer, longer chats run faster than many new ones: try --chats.

Web chat: the router served by uvicorn in a separate process; N chats at once, each a client
posting one message after another (a story, "That's everything", the answers, /status) with
a person's pause between posts (--think; 0 means flat out), timed per post from request to
reply (as the page's script does it: JSON, only what is new).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, func, select  # noqa: E402

from models import Message, make_engine  # noqa: E402
from models.enums import Direction, MessageState  # noqa: E402
from models.migrate import upgrade  # noqa: E402


def fresh_database(url: str | None, tmp: Path, name: str) -> str:
    if url:
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        database = f"heard_bench_{name}_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
        admin.dispose()
        url = make_url(url).set(database=database).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp / f'{name}.db'}"
    upgrade(url)
    return url


WORDS = ["Nobody rang me back about my pathway plan.", "It has been three weeks now.",
         "My worker said she would call on Monday.", "I still do not know about my savings."]


async def fake_api(port: int, updates: int, chats: int) -> None:
    """The fake Bot API in its own process (Telegram's cost is not Heard's), updates queued."""
    from tests.telegram_fake import FakeBotAPI

    fake = FakeBotAPI()
    await fake.start(port)
    for i in range(updates):
        fake.text(100000 + i % chats, WORDS[i % len(WORDS)])
    print("ready", flush=True)
    await asyncio.Event().wait()


async def telegram(url: str, updates: int, chats: int) -> None:
    from zoneinfo import ZoneInfo

    from bots.telegram.service import TelegramConfig, TelegramService
    from scheduler.policy import load_policy
    from tests.helpers import free_port
    from tests.telegram_fake import TOKEN

    engine = make_engine(url)
    port = free_port()
    api = subprocess.Popen([sys.executable, __file__, "--fake-api", str(port), "--updates", str(updates),
                            "--chats", str(chats)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert api.stdout is not None and api.stdout.readline().strip() == "ready"
    config = TelegramConfig(token=TOKEN, api_base=f"http://127.0.0.1:{port}", polling_timeout=1, sweep_seconds=3600,
                            outbox_seconds=3600)
    service = TelegramService(engine, load_policy(), ZoneInfo("Europe/London"), config)

    def handled() -> int:
        with Session(engine) as session:
            return session.exec(select(func.count()).select_from(Message).where(
                Message.direction == Direction.inbound, Message.state != MessageState.stored)).one()

    try:
        started = time.perf_counter()
        await service.start()
        while await asyncio.to_thread(handled) < updates:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        await service.stop()
    finally:
        api.terminate()
        api.wait(timeout=10)
    with Session(engine) as session:
        stored = session.exec(select(func.count()).select_from(Message).where(Message.direction == Direction.inbound)).one()
        said = session.exec(select(func.count()).select_from(Message).where(Message.direction == Direction.outbound)).one()
    engine.dispose()
    print(f"telegram: {updates} updates from {chats} chats in {elapsed:.2f} s = {updates / elapsed:,.0f} updates/s "
          f"(stored raw {stored}, replies {said}; target >= 500/s)")


def serve(url: str, port: int) -> None:
    """The web chat alone, as `heard serve` would mount it (run in a child process)."""
    import uvicorn
    from fastapi import FastAPI

    from bots.webchat import webchat_router
    from scheduler.policy import load_policy

    from fastapi import Form
    from fastapi.responses import JSONResponse

    app = FastAPI()
    app.include_router(webchat_router(make_engine(url), load_policy(), secure_cookies=False))

    @app.post("/ceiling")
    def ceiling(text: str = Form(""), button: str = Form(""), once: str = Form("")) -> JSONResponse:
        """The same HTTP, form and JSON work with no conversation: what this machine can do at best."""
        return JSONResponse({"messages": [{"id": 1, "from": "heard", "text": text or button, "buttons": []}]})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def webchat(url: str, chats: int, rounds: int, think: float, path: str = "/chat") -> None:
    import httpx

    from tests.helpers import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", url, "--port", str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(200):
                try:
                    if (await probe.get(f"{base}/chat")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        script = ["My worker said she would call.", "Nobody rang me back for weeks.", "It is about my pathway plan."]
        posts = [{"text": t} for t in script] + [{"button": "done"}, {"button": "kind:complaint"},
                                                 {"button": "role:young"}, {"button": "advocate:yes"},
                                                 {"button": "command:status"}]
        latencies: list[float] = []
        by_step: dict[str, list[float]] = {}

        async def one_chat(n: int) -> None:
            rng = random.Random(n)
            after = 0
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                await asyncio.sleep(rng.uniform(0, think))  # people do not all arrive in the same instant
                for i in range(rounds):
                    form = dict(posts[i % len(posts)], once=f"{n}-{i}", after=str(after))
                    if i and i % len(posts) == 0:
                        form = {"button": "command:new", "once": f"{n}-{i}", "after": str(after)}
                    t0 = time.perf_counter()
                    response = await client.post(path, data=form, headers={"accept": "application/json"})
                    latencies.append(time.perf_counter() - t0)
                    step = "first words" if i == 0 else form.get("button") or "more words"
                    by_step.setdefault(step, []).append(latencies[-1])
                    assert response.status_code == 200, response.text
                    shown = response.json()["messages"]
                    after = shown[-1]["id"] if shown else after
                    await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))  # reading and typing

        started = time.perf_counter()
        await asyncio.gather(*(one_chat(n) for n in range(chats)))
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    what = "web chat" if path == "/chat" else "ceiling (do-nothing form handler)"
    print(f"{what}: {chats} concurrent chats x {rounds} posts (think time ~{think:g} s) = {len(latencies)} replies in {elapsed:.2f} s "
          f"({len(latencies) / elapsed:,.0f}/s); reply p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, "
          f"p99 {q[98] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms" + (" (target p99 < 100 ms)" if path == "/chat" else ""))
    if path == "/chat":
        print("  by step (p50 / max ms): " + "; ".join(
            f"{name} {statistics.median(ts) * 1000:.0f}/{max(ts) * 1000:.0f}" for name, ts in by_step.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="", help="PostgreSQL server URL (a bench database is made on it)")
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=8, help="posts per web chat")
    parser.add_argument("--think", type=float, default=2.0,
                        help="mean seconds a person takes to read and type between posts (0: all at once, flat out)")
    parser.add_argument("--only", choices=["telegram", "webchat"])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fake-api", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake_api:
        asyncio.run(fake_api(args.fake_api, args.updates, args.chats))
        return
    if args.serve:
        serve(args.serve, args.port)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "telegram"):
            asyncio.run(telegram(fresh_database(args.database_url or None, Path(tmp), "telegram"), args.updates, args.chats))
        if args.only in (None, "webchat"):
            url = fresh_database(args.database_url or None, Path(tmp), "webchat")
            asyncio.run(webchat(url, args.chats, args.rounds, args.think, "/ceiling"))
            asyncio.run(webchat(url, args.chats, args.rounds, args.think))


if __name__ == "__main__":
    main()
