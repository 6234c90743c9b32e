"""APScheduler is only the clock that runs the sweep (and the daily retention run); the
database holds what is due.

Each sweep writes the scheduler's heartbeat (models/heartbeat.py) as it begins and, when it has
finished, again with when it began and how long it took: /readyz reads the first (is a scheduler
alive?), /metrics the second (`heard_sweep_last_*`), from any process. A sweep that fails leaves
the last good one's figures in place, so its age shows the failure."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from models import heartbeat
from scheduler import retention
from scheduler.clock import Clock
from scheduler.sweep import Sweep

log = logging.getLogger("heard.scheduler")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SweepClock:
    """An AsyncIOScheduler that sweeps every `interval_seconds` (coalesced, never overlapping,
    no misfire limit), and that stops only after a sweep in progress has finished: a sweep is
    one transaction, and cutting it off would only waste it."""

    def __init__(self, engine: Engine, clock: Clock, zone: ZoneInfo, interval_seconds: int,
                 now: Callable[[], datetime] = _utcnow) -> None:
        self.sweeper, self.now = Sweep(engine, clock, zone), now
        self.interval, self.started = interval_seconds, now()
        self.engine, self.retention, self.zone = engine, clock.policy.retention, zone
        self.in_flight = 0  # sweeps handed to the executor and not yet finished
        self.scheduler = AsyncIOScheduler(timezone=zone)
        self.scheduler.add_listener(self._count, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self.scheduler.add_job(self.sweep, "interval", seconds=interval_seconds, id="sweep", coalesce=True,
                               max_instances=1, misfire_grace_time=None, next_run_time=now())
        # Retention once at start and then every day: a run finds by the date what is due, so
        # a day the process was down is caught up by the next run.
        self.scheduler.add_job(self.retain, "interval", days=1, id="retention", coalesce=True,
                               max_instances=1, misfire_grace_time=None, next_run_time=now())

    def sweep(self) -> None:
        began = self.now()
        self._beat(began)
        clock = time.perf_counter()
        result = self.sweeper.run(began)
        self._beat(self.now(), ran_at=began, ran_seconds=time.perf_counter() - clock)
        for action in result.actions:  # a line each, with its case: a reminder, an escalation, a referral…
            log.info("sweep: %s", action["action"], extra={"case": action.get("case")})
        if result.actions or result.missed:
            log.info("sweep: %d action(s), %d deadline(s) now missed", len(result.actions), result.missed)

    def _beat(self, now: datetime, **run: Any) -> None:
        try:
            heartbeat.beat(self.engine, "scheduler", self.interval, now, started_at=self.started, **run)
        except Exception as exc:  # the database is down: the sweep will fail too, and say so
            log.warning("scheduler heartbeat not written: %s", exc)

    def retain(self) -> None:
        result = retention.run(self.engine, self.retention, self.zone, self.now())
        if result.deleted:
            log.info("retention: %d deleted (%s)", result.deleted, ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())))

    def _count(self, event: JobEvent) -> None:
        self.in_flight += 1 if event.code == EVENT_JOB_SUBMITTED else -1

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self, patience: float = 60) -> None:
        self.scheduler.pause()
        for _ in range(int(patience / 0.05)):
            if self.in_flight <= 0:
                break
            await asyncio.sleep(0.05)
        self.scheduler.shutdown(wait=False)
