"""How soon Heard answers after `heard serve` says it is ready: the Telegram bot's first reply,
against a warm reply in the same run (the baseline). Prints its figures.

    .venv/bin/python bench/startup_bench.py [--runs 3]

Each run starts `heard serve` (every part) as a person would (a fresh
process, a fresh SQLite database in a temporary directory), pointed at a fake Bot API on
loopback. The moment it prints "Press Ctrl-C" (ready), a child sends their story and
"that's everything"; the figure is the time until the bot sends their reference (the greeting,
the story closed, the classifier and the language check run, the case opened). A second
chat's story, once everything is warm, is the baseline. Target: within 2 s of ready.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S = 2.0


async def _story(fake, chat: int, text: str) -> float:  # type: ignore[no-untyped-def]
    """A child's first message and "that's everything": when the reference arrives (the classifier has run)."""
    fake.text(chat, text)
    fake.text(chat, "that's everything")
    await fake.wait_for(lambda: any("CSC-" in t for t in fake.texts_to(chat)), timeout=60)
    return time.perf_counter()


async def one_run() -> tuple[float, float]:
    from tests.helpers import free_port
    from tests.telegram_fake import TOKEN, FakeBotAPI

    fake = FakeBotAPI()
    port = free_port()
    await fake.start(port)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HEARD_DATABASE_URL": f"sqlite:///{tmp}/heard.db", "HEARD_TELEGRAM_TOKEN": TOKEN,
               "HEARD_TELEGRAM_API_BASE": f"http://127.0.0.1:{port}", "HEARD_WEB_PORT": str(free_port()),
               "HEARD_SMTP_PORT": str(free_port())}
        heard = [sys.executable, "-m", "heard"]
        subprocess.run([*heard, "db", "upgrade"], env=env, cwd=tmp, check=True, capture_output=True)
        server = await asyncio.create_subprocess_exec(*heard, "serve",
                                                      env=env, cwd=tmp, stdout=asyncio.subprocess.PIPE,
                                                      stderr=asyncio.subprocess.DEVNULL)
        try:
            assert server.stdout is not None
            while b"Press Ctrl-C" not in (line := await server.stdout.readline()):
                if not line:
                    raise RuntimeError("heard serve stopped before it was ready")
            ready = time.perf_counter()
            first = await _story(fake, 4242, "my pocket money has not been paid for two months") - ready
            warm_start = time.perf_counter()
            warm = await _story(fake, 4343, "nobody rang me back about contact with my brother") - warm_start
        finally:
            server.terminate()
            await server.wait()
            await fake.stop()
    return first, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    firsts, warms = [], []
    for n in range(args.runs):
        first, warm = asyncio.run(one_run())
        firsts.append(first)
        warms.append(warm)
        print(f"run {n + 1}: first reference {first:.2f} s after ready; once warm {warm:.2f} s", flush=True)
    load = os.getloadavg()[0]
    ok = "ok  " if max(firsts) < TARGET_S else "MISS"
    print(f"{ok} first reference after ready: median {statistics.median(firsts):.2f} s, worst {max(firsts):.2f} s "
          f"(target < {TARGET_S:.0f} s); once warm: median {statistics.median(warms):.2f} s "
          f"(first/warm {statistics.median(firsts) / max(statistics.median(warms), 1e-6):.1f}x); load average {load:.1f}")


if __name__ == "__main__":
    main()
