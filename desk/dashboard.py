"""The dashboard: what is open at each stage, what is due this week (the next 5 working
days), what is overdue, how timely this year's responses were, what needs review and which
safeguarding flags are open, how much email is waiting to be read, and whether what Heard
sends is getting out; for managers, the same by team. Each figure about cases links to the
queue filtered to exactly those cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from models import Case, Deadline, Message, StageRecord, Team
from models.enums import Channel, DeadlineStatus, MessageState, OfficerRole, SafeguardingLevel, Stage, TriageState
from scheduler.calendar import WorkingDayCalendar
from desk import deps
from desk.auth import at_least
from desk.delivery import DeliveryTrouble, delivery_trouble
from desk.queue import LIVE, OFFICER_DEADLINES, WORKING, week_end

router = APIRouter()


def financial_year_start(today: date) -> date:
    """Annual reports run 1 April – 31 March."""
    return date(today.year if today.month >= 4 else today.year - 1, 4, 1)


@dataclass
class Timeliness:
    """Stage 1 responses sent this financial year, by working days taken (the report's bands)."""

    within_10: int = 0
    within_20: int = 0
    over_20: int = 0
    on_time: int = 0
    total: int = 0

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.total if self.total else None


@dataclass
class Backlog:
    """Email stored (its 250 sent) but not yet read into cases. A few for a moment is normal;
    many, or an oldest that keeps ageing, means the email worker is behind or stopped."""

    waiting: int = 0
    oldest_seconds: int | None = None

    @property
    def oldest(self) -> str:
        s = self.oldest_seconds
        if s is None:
            return ""
        if s < 120:
            return f"{s} s"
        if s < 2 * 3600:
            return f"{s // 60} min"
        return f"{s // 3600} h {s % 3600 // 60} min"

    @property
    def behind(self) -> bool:
        return (self.oldest_seconds or 0) > 600


def email_backlog(session: Session, now: datetime) -> Backlog:
    """Two index lookups on the stored messages only (`ix_message_stored`): cheap however long the record."""
    stored = (Message.channel == Channel.email, Message.state == MessageState.stored)
    waiting = session.execute(sa.select(sa.func.count()).select_from(Message).where(*stored)).scalar_one()
    if not waiting:
        return Backlog()
    oldest = session.execute(sa.select(Message.received_at).where(*stored).order_by(Message.id).limit(1)).scalar()
    return Backlog(waiting, max(0, int((now - oldest).total_seconds())) if oldest else None)


@dataclass
class Dashboard:
    by_stage: dict[str, int]
    due_this_week: int
    overdue: int
    needs_review: int
    safeguarding_open: int  # disclosures
    safeguarding_unreferred: int
    safeguarding_possible: int  # possible concerns for officers to check
    timeliness: Timeliness
    year_from: date
    email_backlog: Backlog = field(default_factory=Backlog)
    delivery: DeliveryTrouble = field(default_factory=DeliveryTrouble)
    due_until: date | None = None  # the last day "due this week" counts
    teams: list[dict[str, Any]] = field(default_factory=list)


def _open_deadline_cases(session: Session, *conds: Any, team: Any = None) -> int:
    query = (sa.select(sa.func.count(sa.distinct(Deadline.case_id))).join(Case, Case.id == Deadline.case_id)
             .where(Deadline.status.in_(LIVE), Deadline.kind.in_(OFFICER_DEADLINES), Case.status.in_(WORKING), *conds))
    if team is not None:
        query = query.where(Case.team_id == team)
    return session.execute(query).scalar_one()


def timeliness(session: Session, calendar: WorkingDayCalendar, zone, since: date, team: Any = None) -> Timeliness:  # type: ignore[no-untyped-def]
    query = (sa.select(Case.received_at, StageRecord.responded_on, Deadline.due_on)
             .join(Case, Case.id == StageRecord.case_id)
             .outerjoin(Deadline, sa.and_(Deadline.case_id == Case.id, Deadline.kind == "stage_1", Deadline.status == DeadlineStatus.met))
             .where(StageRecord.stage == Stage.stage_1, StageRecord.responded_on >= since))
    if team is not None:
        query = query.where(Case.team_id == team)
    t = Timeliness()
    for received_at, responded_on, due_on in session.execute(query):
        received = calendar.next_working_day(received_at.astimezone(zone).date())
        taken = calendar.working_days_between(received, responded_on)
        t.total += 1
        if taken <= 10:
            t.within_10 += 1
        elif taken <= 20:
            t.within_20 += 1
        else:
            t.over_20 += 1
        if due_on is None or responded_on <= due_on:
            t.on_time += 1
    return t


def build(session: Session, w: deps.Web, *, with_teams: bool) -> Dashboard:
    today = w.today
    until = week_end(w.clock.calendar, today)
    by_stage = {(stage or "no stage"): n for stage, n in session.execute(
        sa.select(Case.stage, sa.func.count()).where(Case.status.in_(WORKING)).group_by(Case.stage))}
    open_cases = Case.status.in_(WORKING)
    count = lambda *c: session.execute(sa.select(sa.func.count()).select_from(Case).where(open_cases, *c)).scalar_one()  # noqa: E731
    since = financial_year_start(today)
    board = Dashboard(
        by_stage={str(getattr(k, "value", k)): v for k, v in sorted(by_stage.items(), key=lambda kv: str(kv[0]))},
        due_this_week=_open_deadline_cases(session, Deadline.due_on >= today, Deadline.due_on <= until),
        overdue=_open_deadline_cases(session, Deadline.due_on < today),
        needs_review=count(Case.triage_state == TriageState.needs_review),
        safeguarding_open=count(Case.safeguarding_level == SafeguardingLevel.disclosure),
        safeguarding_unreferred=count(Case.safeguarding_level == SafeguardingLevel.disclosure,
                                      Case.safeguarding_referral_at.is_(None)),
        safeguarding_possible=count(Case.safeguarding_level == SafeguardingLevel.possible),
        timeliness=timeliness(session, w.clock.calendar, w.zone, since),
        year_from=since,
        email_backlog=email_backlog(session, w.now()),
        delivery=delivery_trouble(session, w.now(), w.mail_out_configured),
        due_until=until,
    )
    if with_teams:
        for team in session.execute(sa.select(Team).order_by(Team.name)).scalars():
            board.teams.append({
                "id": team.id, "name": team.name,
                "open": count(Case.team_id == team.id),
                "overdue": _open_deadline_cases(session, Deadline.due_on < today, team=team.id),
                "timeliness": timeliness(session, w.clock.calendar, w.zone, since, team=team.id),
            })
    return board


@router.get("/", include_in_schema=False)
def dashboard_page(request: Request, who=Depends(deps.officer), session: Session = deps.DB) -> Response:  # type: ignore[no-untyped-def]
    board = build(session, deps.web(request), with_teams=at_least(who, OfficerRole.manager))
    return deps.render(request, "dashboard.html", board=board)
