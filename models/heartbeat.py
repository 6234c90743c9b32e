"""Heartbeats: each email worker and scheduler process says, every so often, that it is alive.

Heard may run as many processes on one database (`heard serve --only email`, `--only
scheduler` twice…), so whether a part is running is a fact about the database, not about the
process answering /readyz. One row per process (part, host, pid), written with its interval:
a part is alive when its freshest row is recent enough for that interval. A dead process's row
simply ages; it never hides a live one of the same part, and a live one deletes its part's rows
that have not beaten for a day, so the table stays as small as the number of processes. A
process that stops, cleanly or not, leaves its row to age: a part nobody runs any more is not
ready, which is what /readyz must say until one runs again.

The scheduler's row also carries its last sweep (when it started and how long it took), so the
last sweep's time is known to every process — /metrics reads it from here.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from models.columns import utc_field

FORGET_AFTER = timedelta(days=1)  # a row of the same part not seen for this long is a dead process's
GRACE = timedelta(seconds=30)  # beyond two missed beats: a slow write, a busy database


class Heartbeat(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("part", "host", "pid", name="uq_heartbeat_process"),)

    id: int | None = Field(default=None, primary_key=True)
    part: str = Field(max_length=32)  # "email" (a worker) or "scheduler"
    host: str = Field(max_length=255)
    pid: int
    interval_seconds: float  # how often this process promises to beat
    started_at: datetime = utc_field(nullable=False)
    seen_at: datetime = utc_field(nullable=False)
    last_run_at: datetime | None = utc_field()  # scheduler: when its last finished sweep began
    last_run_seconds: float | None = Field(default=None)  # …and how long it took


TABLE = Heartbeat.__table__


def late_after(interval_seconds: float) -> timedelta:
    """How long after its last beat a process counts as gone: two missed beats and a grace."""
    return timedelta(seconds=2 * interval_seconds) + GRACE


def beat(engine: Engine, part: str, interval_seconds: float, now: datetime, *, started_at: datetime,
         ran_at: datetime | None = None, ran_seconds: float | None = None) -> None:
    """This process is alive (and, for a sweep, how its last run went). One short transaction;
    a failure is the caller's to log — a heartbeat that cannot be written is itself the signal."""
    me = {"part": part, "host": socket.gethostname()[:255], "pid": os.getpid()}
    values: dict[str, object] = {"seen_at": now, "interval_seconds": float(interval_seconds)}
    if ran_at is not None:
        values |= {"last_run_at": ran_at, "last_run_seconds": ran_seconds}
    with engine.begin() as conn:
        where = [TABLE.c[k] == v for k, v in me.items()]
        if not conn.execute(sa.update(TABLE).where(*where).values(**values)).rowcount:
            conn.execute(sa.insert(TABLE).values(**me, started_at=started_at, **values))
        conn.execute(sa.delete(TABLE).where(TABLE.c.part == part, TABLE.c.seen_at < now - FORGET_AFTER))


@dataclass(frozen=True)
class PartSeen:
    """A part as its processes last reported: the freshest beat decides."""

    part: str
    processes: int  # rows, live or not yet forgotten
    live: int  # of them, beating within their interval
    last_seen: datetime
    interval_seconds: float  # the freshest row's
    last_run_at: datetime | None
    last_run_seconds: float | None

    @property
    def alive(self) -> bool:
        return self.live > 0


def parts(conn: Connection, now: datetime) -> dict[str, PartSeen]:
    """Every part that has reported in, by its freshest row. The table has a row per process
    (a handful), so reading it whole is cheaper than any index."""
    rows = conn.execute(sa.select(TABLE.c.part, TABLE.c.seen_at, TABLE.c.interval_seconds, TABLE.c.last_run_at,
                                  TABLE.c.last_run_seconds)).all()
    seen: dict[str, PartSeen] = {}
    for part in sorted({r.part for r in rows}):
        mine = [r for r in rows if r.part == part]
        freshest = max(mine, key=lambda r: r.seen_at)
        ran = max((r for r in mine if r.last_run_at is not None), key=lambda r: r.last_run_at, default=None)
        live = sum(1 for r in mine if now - r.seen_at <= late_after(r.interval_seconds))
        seen[part] = PartSeen(part, len(mine), live, freshest.seen_at, freshest.interval_seconds,
                              ran.last_run_at if ran else None, ran.last_run_seconds if ran else None)
    return seen
