"""The email processing worker: a separate process, so turning mail into cases never competes
with the SMTP intake for the interpreter. The database is the queue between them.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

log = logging.getLogger("heard.email")


@dataclass(frozen=True)
class WorkerConfig:
    database_url: str
    policy_file: Path | None
    timezone: str
    our_addresses: tuple[str, ...]
    attachment_max_bytes: int
    poll_seconds: float = 0.2
    parent_pid: int = 0  # Heard's process: if it is gone, so is the worker
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
    from models import make_engine
    from scheduler.clock import Clock
    from scheduler.policy import load_policy
    from triage.suggest import suggest_with_classifier

    parent = config.parent_pid or os.getppid()
    engine = make_engine(config.database_url)
    processor = EmailProcessor(
        engine, Clock(load_policy(config.policy_file)), ZoneInfo(config.timezone), list(config.our_addresses),
        classify=suggest_with_classifier(), limits=Limits(config.attachment_max_bytes),
    )

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await processor.start(idle=config.poll_seconds)
        while not stopping.is_set() and os.getppid() == parent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), 1.0)
        await processor.stop()

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
    config = dataclasses.replace(config, parent_pid=os.getpid())
    process = multiprocessing.get_context("spawn").Process(target=run, args=(config,), name="heard-email-worker")
    process.start()
    return process


def stop(process: multiprocessing.Process, timeout: float = 15) -> None:
    """SIGTERM lets the message in hand finish; a worker that will not stop is killed."""
    if process.is_alive():
        process.terminate()
        process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
