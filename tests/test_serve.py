"""`heard serve` as an operator meets it: it starts, answers, and stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import ROOT, free_port, heard_env, run_heard


def start(tmp_path: Path, **settings: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "heard", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=heard_env(database_url=f"sqlite:///{tmp_path / 'heard.db'}", web_port=str(port), smtp_port=str(free_port()), **settings),
    )
    return proc, port


def wait_for(proc: subprocess.Popen[str], text: str, timeout: float = 30) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"never printed {text!r}; got:\n{''.join(seen)}")


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[Path]:
    assert run_heard("db", "upgrade", database_url=f"sqlite:///{tmp_path / 'heard.db'}").returncode == 0
    yield tmp_path


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_then_stops_cleanly(migrated: Path, stop_signal: signal.Signals) -> None:
    proc, port = start(migrated)
    try:
        banner = wait_for(proc, "Press Ctrl-C to stop.")
        assert f"web app       http://127.0.0.1:{port}/" in banner
        assert "email intake  smtp://127.0.0.1:" in banner
        assert "mail out held in the outbox (no HEARD_RELAY_HOST)" in banner
        assert "scheduler     sweeping every 30 s" in banner
        assert "telegram bot  off (set HEARD_TELEGRAM_TOKEN to start it)" in banner
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "database": "ok"}
        proc.send_signal(stop_signal)
        rest, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "Stopped." in rest
    assert "Traceback" not in rest


def test_serve_refuses_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    proc, _ = start(tmp_path)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "the database is not up to date: run `heard db upgrade` first" in out


def test_serve_says_when_its_port_is_taken(migrated: Path) -> None:
    first, port = start(migrated)
    try:
        wait_for(first, "Press Ctrl-C to stop.")
        second = subprocess.run(
            [sys.executable, "-m", "heard", "serve", "--only", "web"],
            capture_output=True, text=True, timeout=30, cwd=ROOT,
            env=heard_env(database_url=f"sqlite:///{migrated / 'heard.db'}", web_port=str(port)),
        )
        assert second.returncode != 0
        assert "Traceback" not in second.stderr
        assert f"cannot start: the web app cannot listen on 127.0.0.1:{port}: Address already in use" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=20)
