"""The sweep: turns what is due in the database into action. Time is always passed in.

This first part marks deadlines that have passed without being met as missed, with one
conditional UPDATE, so two sweeps at once cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import Deadline
from models.enums import DeadlineStatus


@dataclass(frozen=True)
class SweepResult:
    at: datetime
    missed: int


def sweep(engine: Engine, now: datetime, zone: ZoneInfo, *, dry_run: bool = False) -> SweepResult:
    today = now.astimezone(zone).date()
    overdue = sa.and_(Deadline.status == DeadlineStatus.open, Deadline.due_on < today)
    with engine.begin() as conn:
        if dry_run:
            missed = conn.execute(sa.select(sa.func.count()).select_from(Deadline).where(overdue)).scalar_one()
        else:
            missed = conn.execute(
                sa.update(Deadline).where(overdue).values(status=DeadlineStatus.missed)
            ).rowcount
    return SweepResult(now, missed)
