"""Plain-function helpers for tests: run the real `heard` command, find a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def heard_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARD_")}
    env.update({f"HEARD_{k.upper()}": v for k, v in settings.items()})
    return env


def run_heard(*args: str, timeout: float = 60, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "heard", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=heard_env(**settings),
        cwd=ROOT,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
