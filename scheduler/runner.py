"""APScheduler is only the clock that runs the sweep; the database holds what is due."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from scheduler.clock import Clock
from scheduler.sweep import Sweep

log = logging.getLogger("heard.scheduler")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def build_scheduler(
    engine: Engine, clock: Clock, zone: ZoneInfo, interval_seconds: int, now: Callable[[], datetime] = _utcnow
) -> AsyncIOScheduler:
    """An AsyncIOScheduler that sweeps every `interval_seconds`, never overlapping itself."""
    sweeper = Sweep(engine, clock, zone)

    def run_sweep() -> None:
        result = sweeper.run(now())
        if result.actions or result.missed:
            log.info("sweep: %d action(s), %d deadline(s) now missed", len(result.actions), result.missed)

    scheduler = AsyncIOScheduler(timezone=zone)
    scheduler.add_job(
        run_sweep,
        "interval",
        seconds=interval_seconds,
        id="sweep",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        next_run_time=now(),
    )
    return scheduler
