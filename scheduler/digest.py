"""The daily digest to the complaints team: on working days, once, from the policy's digest time."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models import Case, Deadline
from models.enums import CaseStatus, TriageState
from scheduler.chase import RESPONSES
from scheduler.clock import Clock, day_label
from scheduler.outbox import enqueue, exists, row

if TYPE_CHECKING:
    from scheduler.sweep import SweepResult

C, D = Case.__table__, Deadline.__table__
LIVE = [CaseStatus.open.value, CaseStatus.responded.value]


def digest_pass(conn: Connection, clock: Clock, zone: ZoneInfo, today: date, now: datetime, result: SweepResult) -> None:
    key = f"digest:{today.isoformat()}"
    if not clock.calendar.is_working_day(today) or now.astimezone(zone).time() < clock.policy.reminders.digest_time:
        return
    if exists(conn, key):
        return
    soon = clock.calendar.add_working_days(today, 3).end
    responses = [k.value for k in RESPONSES]

    def count(*where: sa.ColumnElement[bool], deadlines: bool = False) -> int:
        query = sa.select(sa.func.count(sa.distinct(C.c.id))).select_from(C)
        if deadlines:
            query = query.join(D, D.c.case_id == C.c.id)
        return conn.execute(query.where(C.c.status.in_(LIVE), *where)).scalar_one()

    figures = {
        "need review": count(C.c.triage_state == TriageState.needs_review.value),
        "safeguarding disclosures with no referral": count(C.c.safeguarding_level == "disclosure",
                                                           C.c.safeguarding_referral_at.is_(None)),
        "possible safeguarding concerns to check": count(C.c.safeguarding_level == "possible",
                                                         C.c.triage_state == TriageState.needs_review.value),
        "due today": count(D.c.due_on == today, D.c.status == "open", D.c.kind.in_(responses), deadlines=True),
        "due in the next 3 working days": count(D.c.due_on > today, D.c.due_on <= soon, D.c.status == "open",
                                                D.c.kind.in_(responses), deadlines=True),
        "overdue": count(D.c.status == "missed", D.c.met_on.is_(None), D.c.kind.in_(responses), deadlines=True),
    }
    lines = [f"{label.capitalize()}: {n}" for label, n in figures.items()]
    body = f"Heard, {day_label(today)}\n\n" + "\n".join(lines) + "\n\nSafeguarding flags come first in the queue.\n"
    enqueue(conn, [row(key, "digest", "email", clock.policy.council.complaints_team_email,
                       f"Complaints digest for {day_label(today)}", body, now)])
    result.actions.append({"action": "digest", "date": today.isoformat(), **figures})
