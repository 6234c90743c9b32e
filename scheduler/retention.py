"""The retention schedule: what personal data is due for deletion, by which rule, and the run
that deletes it (daily from the scheduler, or `heard retention`).

Rules (periods from the policy's `[retention]`):
1. `case`: a closed case, `case_years` after the day it closed (local date, same day and month);
2. `compliment`: a closed compliment, `compliment_years` after it closed;
3. `not_a_case`: an auto-reply or bounce that never became a case, `not_a_case_days` after it came;
4. `raw_email`: an email's original bytes, `raw_email_days` after it was read; its text stays
   with its case until the case goes.
5. `sign_ins`: officers' sign-ins (the address and browser each came from) `sign_in_days` after
   they ended, and sign-in attempts as long after they were made: kept that long to look into
   a break-in, then personal data of the council's own staff with no use left.
A case on legal hold is listed (with `held`) and never deleted, nor are its raw emails. Each
case goes in a transaction of its own, claimed by a conditional update, so two runs at once
delete it once; the audit records the reference, the rule and how many rows went.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import AuditEvent, Case, Message, OfficerSession, SignInAttempt
from models.db import session_scope
from models.enums import CaseStatus, Channel, Direction, Kind, MessageState
from models.retention import Erased, erase_case, erase_messages, forget_contacts, held_case_ids
from scheduler.policy import RetentionPolicy

ACTOR = "retention"
READ = (MessageState.processed, MessageState.ignored)


@dataclass(frozen=True)
class Due:
    """One thing the schedule says should go, and why."""

    rule: str
    due_on: date
    held: bool = False
    reference: str | None = None
    closed_on: date | None = None
    case_id: int | None = None
    message_id: int | None = None
    count: int | None = None  # records due together under one rule (sign-ins), listed as one line

    def public(self) -> dict[str, Any]:
        row = asdict(self)
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items() if v is not None or k in ("reference", "closed_on")}


@dataclass
class RunResult:
    due: list[Due] = field(default_factory=list)
    deleted: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def years_after(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone).date()


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


class Schedule:
    """What is due on a day, under one council's retention policy."""

    def __init__(self, policy: RetentionPolicy, zone: ZoneInfo) -> None:
        self.policy, self.zone = policy, zone

    def case_rule(self, kind: Kind | None) -> tuple[str, int]:
        if kind is Kind.compliment:
            return "compliment", self.policy.compliment_years
        return "case", self.policy.case_years

    def cases(self, session: Session, until: date) -> list[Due]:
        """Closed cases whose period ends on or before `until` (held ones included, marked)."""
        shortest = min(self.policy.case_years, self.policy.compliment_years)
        closed_before = _start_of(years_after(until + timedelta(days=1), -shortest), self.zone)
        c = Case.__table__  # type: ignore[attr-defined]
        held = set(session.execute(held_case_ids()).scalars())
        rows = session.execute(
            sa.select(c.c.id, c.c.reference, c.c.kind, c.c.closed_at)
            .where(c.c.status == CaseStatus.closed, c.c.erased_at.is_(None), c.c.closed_at.is_not(None),
                   c.c.closed_at < closed_before)
            .order_by(c.c.closed_at, c.c.id))
        due = []
        for case_id, reference, kind, closed_at in rows:
            rule, years = self.case_rule(Kind(kind) if kind else None)
            closed_on = _local_day(closed_at, self.zone)
            due_on = years_after(closed_on, years)
            if due_on <= until:
                due.append(Due(rule, due_on, case_id in held, reference, closed_on, case_id))
        return due

    def _not_a_case(self, until: date) -> sa.Select:  # type: ignore[type-arg]
        m = Message.__table__  # type: ignore[attr-defined]
        cutoff = _start_of(until - timedelta(days=self.policy.not_a_case_days - 1), self.zone)
        return sa.select(m.c.id, m.c.received_at).where(
            m.c.case_id.is_(None), m.c.state == MessageState.ignored, m.c.direction == Direction.inbound, m.c.received_at < cutoff)

    def _raw_emails(self, until: date) -> sa.Select:  # type: ignore[type-arg]
        m = Message.__table__  # type: ignore[attr-defined]
        cutoff = _start_of(until - timedelta(days=self.policy.raw_email_days - 1), self.zone)
        read_at = sa.func.coalesce(m.c.processed_at, m.c.received_at)
        c = Case.__table__  # type: ignore[attr-defined]
        return sa.select(m.c.id, read_at, m.c.case_id, c.c.reference).select_from(m.outerjoin(c, c.c.id == m.c.case_id)).where(
            m.c.channel == Channel.email, m.c.raw_bytes.is_not(None), m.c.state.in_(READ), read_at < cutoff,
            sa.or_(m.c.case_id.is_(None), m.c.case_id.not_in(held_case_ids())))

    def messages(self, session: Session, until: date, cases_due: set[int] = frozenset()) -> list[Due]:  # type: ignore[assignment]
        """Messages due on their own: not those of a case due, which go with it."""
        m = Message.__table__  # type: ignore[attr-defined]
        not_a_case = [Due("not_a_case", _local_day(at, self.zone) + timedelta(days=self.policy.not_a_case_days), message_id=i)
                      for i, at in session.execute(self._not_a_case(until).order_by(m.c.id))]
        gone = {d.message_id for d in not_a_case}
        raw = [Due("raw_email", _local_day(at, self.zone) + timedelta(days=self.policy.raw_email_days), reference=reference, message_id=i)
               for i, at, case_id, reference in session.execute(self._raw_emails(until).order_by(m.c.id))
               if i not in gone and case_id not in cases_due]
        return not_a_case + raw

    def _sign_ins(self, until: date) -> list[tuple[sa.Table, sa.ColumnElement[bool]]]:
        """Sign-ins that ended (or reached their lifetime), and attempts made, before the cutoff."""
        cutoff = _start_of(until - timedelta(days=self.policy.sign_in_days - 1), self.zone)
        s, a = OfficerSession.__table__, SignInAttempt.__table__  # type: ignore[attr-defined]
        return [(s, sa.func.coalesce(s.c.ended_at, s.c.expires_at) < cutoff), (a, a.c.at < cutoff)]

    def sign_ins(self, session: Session, until: date) -> list[Due]:
        found = sum(session.execute(sa.select(sa.func.count()).select_from(table).where(old)).scalar_one()
                    for table, old in self._sign_ins(until))
        return [Due("sign_ins", until, count=found)] if found else []

    def due(self, session: Session, until: date) -> list[Due]:
        cases = self.cases(session, until)
        return (cases + self.messages(session, until, {d.case_id for d in cases if not d.held})  # type: ignore[misc]
                + self.sign_ins(session, until))


def audit(session: Session, now: datetime, case_id: int | None, action: str, **detail: Any) -> None:
    """The fact and the rule, never the content."""
    session.add(AuditEvent(at=now, actor=ACTOR, case_id=case_id, action=action, detail=detail))


def claim_case(session: Session, case_id: int, now: datetime) -> bool:
    """Mark a closed, unheld, not yet erased case as being erased; false when another run (or a
    hold, or a reopening) got there first."""
    c = Case.__table__  # type: ignore[attr-defined]
    claimed = session.execute(sa.update(c).where(
        c.c.id == case_id, c.c.erased_at.is_(None), c.c.status == CaseStatus.closed,
        c.c.id.not_in(held_case_ids())).values(erased_at=now))
    return claimed.rowcount == 1


def run(engine: Engine, policy: RetentionPolicy, zone: ZoneInfo, now: datetime, *, dry_run: bool = False) -> RunResult:
    """List what is due as at `now` and, unless `dry_run`, delete it (held cases excepted)."""
    today = _local_day(now, zone)
    schedule = Schedule(policy, zone)
    with Session(engine) as session:
        result = RunResult(due=schedule.due(session, today))
    if dry_run:
        return result
    counts: dict[str, int] = {}
    for item in result.due:
        if item.case_id is None or item.held:
            continue
        with session_scope(engine) as session:
            if not claim_case(session, item.case_id, now):
                continue
            case = session.get(Case, item.case_id)
            erased = erase_case(session, case, item.rule, now)  # type: ignore[arg-type]
            audit(session, now, item.case_id, "retention_deleted", reference=item.reference, rule=item.rule,
                  closed_on=item.closed_on.isoformat() if item.closed_on else None, **erased.counts())
        result.deleted += 1
        counts[item.rule] = counts.get(item.rule, 0) + 1
    with session_scope(engine) as session:
        not_a_case = [i for i, _at in session.execute(schedule._not_a_case(today))]
        if not_a_case:
            erase_messages(session, not_a_case, [], erased := Erased())
            forget_contacts(session, erased.contact_ids)
            counts["not_a_case"] = erased.messages
        m = Message.__table__  # type: ignore[attr-defined]
        raw_ids = sa.select(schedule._raw_emails(today).subquery().c.id)
        dropped = session.execute(sa.update(m).where(m.c.id.in_(raw_ids)).values(raw_bytes=None)).rowcount
        if dropped:
            counts["raw_email"] = dropped
        sign_ins = sum(session.execute(sa.delete(table).where(old)).rowcount for table, old in schedule._sign_ins(today))
        if sign_ins:
            counts["sign_ins"] = sign_ins
        result.deleted += counts.get("not_a_case", 0) + dropped + sign_ins
        if counts:
            audit(session, now, None, "retention_run", deleted=result.deleted, **{f"by_{k}": v for k, v in sorted(counts.items())})
    result.counts = counts
    return result
