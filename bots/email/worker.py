"""The email processing worker: a separate process, so turning mail into cases never competes
with the SMTP intake for the interpreter. The database is the queue between them.

Two things a worker tells the world, since nobody can ask its process directly:
- a heartbeat row every `HEARTBEAT_SECONDS` (models/heartbeat.py), which /readyz reads;
- how long the classifier took on each message, sent to its parent (the `heard serve`
  process), whose /metrics serves `heard_classifier_seconds`: a Prometheus registry lives in one
  process, and a worker's would be out of reach of any scrape.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger("heard.email")

HEARTBEAT_SECONDS = 10.0


@dataclass(frozen=True)
class WorkerConfig:
    database_url: str
    policy_file: Path | None
    timezone: str
    our_addresses: tuple[str, ...]
    attachment_max_bytes: int
    poll_seconds: float = 0.2
    parent_pid: int = 0  # Heard's process: if it is gone, so is the worker
    timings: Any = None  # a multiprocessing queue to the parent for the classifier's timings (set by `start`)
    # Sets up logging as in Heard's process (a spawned process starts with none); picklable, e.g. a partial.
    setup_logs: Callable[[], None] | None = None


def _die_with_parent() -> None:
    """Linux: if Heard is killed, its worker goes too (no orphan taking mail alone)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run(config: WorkerConfig) -> None:
    _die_with_parent()
    if config.setup_logs:
        config.setup_logs()
    if config.parent_pid and os.getppid() != config.parent_pid:
        return  # Heard died while this worker was starting, before the death signal was armed
    from bots.email.processor import EmailProcessor, Limits
    from models import heartbeat, make_engine
    from scheduler.clock import Clock
    from scheduler.policy import load_policy
    from triage.suggest import suggest_with_classifier
    from triage.timed import timed

    parent = config.parent_pid or os.getppid()
    engine = make_engine(config.database_url)
    took: list[float] = []  # the classifier's seconds per message, not yet sent to the parent
    processor = EmailProcessor(
        engine, Clock(load_policy(config.policy_file)), ZoneInfo(config.timezone), list(config.our_addresses),
        classify=timed(suggest_with_classifier(), took.append), limits=Limits(config.attachment_max_bytes),
    )
    started = datetime.now(UTC)
    last_beat = float("-inf")  # the first beat at once

    async def report() -> None:
        """Once a second at most: the timings to the parent; every HEARTBEAT_SECONDS, the heartbeat."""
        nonlocal last_beat
        if took and config.timings is not None:
            sent, took[:] = took[:], []
            with contextlib.suppress(Exception):  # the parent gone: nothing to tell
                config.timings.put(sent)
        clock = asyncio.get_running_loop().time()
        if clock - last_beat >= HEARTBEAT_SECONDS:
            last_beat = clock
            try:
                await asyncio.to_thread(heartbeat.beat, engine, "email", HEARTBEAT_SECONDS, datetime.now(UTC),
                                        started_at=started)
            except Exception as exc:  # the database is down: /readyz will say so; the worker carries on
                log.warning("email worker heartbeat not written: %s", exc)

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await processor.start(idle=config.poll_seconds)
        while not stopping.is_set() and os.getppid() == parent:
            await report()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), 1.0)
        await processor.stop()
        await report()

    try:
        asyncio.run(main())
    finally:
        engine.dispose()


def how_many(wanted: int, dialect: str) -> int:
    """Workers to start: as many as asked on PostgreSQL, where each claims its own batches;
    one on SQLite, whose single writer would have them take turns."""
    if dialect == "sqlite" and wanted > 1:
        log.warning("HEARD_EMAIL_WORKERS=%d: SQLite has one writer, so one email worker runs", wanted)
        return 1
    return wanted


def start(config: WorkerConfig) -> multiprocessing.Process:
    """A worker process, and a thread here that puts its classifier timings into this process's
    `heard_classifier_seconds` (ended by `stop`)."""
    from triage.timed import CLASSIFIER_SECONDS

    context = multiprocessing.get_context("spawn")
    timings = context.SimpleQueue()
    config = dataclasses.replace(config, parent_pid=os.getpid(), timings=timings)
    process = context.Process(target=run, args=(config,), name="heard-email-worker")
    process.start()

    def observe() -> None:
        with contextlib.suppress(Exception):  # a worker killed mid-write leaves half a message: stop reading
            while (batch := timings.get()) is not None:
                for seconds in batch:
                    CLASSIFIER_SECONDS.observe(seconds)

    reader = threading.Thread(target=observe, name="heard-email-timings", daemon=True)
    reader.start()
    process.timings, process.timings_reader = timings, reader  # type: ignore[attr-defined]
    return process


def stop(process: multiprocessing.Process, timeout: float = 15) -> None:
    """SIGTERM lets the message in hand finish; a worker that will not stop is killed."""
    if process.is_alive():
        process.terminate()
        process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
    if (timings := getattr(process, "timings", None)) is not None:
        timings.put(None)  # after the worker's last timings: the reader takes those, then ends
        process.timings_reader.join(5)  # type: ignore[attr-defined]
