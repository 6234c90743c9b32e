"""Plain-function factories: cases with their deadlines, as intake would write them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from models import Advocacy, Case, ChannelIdentity, Contact, Deadline, Officer, Team, session_scope
from models.enums import Channel, Kind, Role, Stage
from scheduler.chase import bookmark_for, first_action_on
from scheduler.clock import CaseEvents, Clock

LONDON = ZoneInfo("Europe/London")
_counter = [0]


def at(day: date, hour: int = 9) -> datetime:
    """A moment on a London day, in UTC."""
    return datetime.combine(day, time(hour), LONDON).astimezone(UTC)


def open_case(engine: Engine, clock: Clock, received: date, *, kind: Kind = Kind.complaint, owner: str | None = "owner@council.example",
              manager: str | None = "manager@council.example", channel: Channel = Channel.email, address: str | None = None,
              role: Role | None = None, advocate_offered: bool = False) -> int:
    _counter[0] += 1
    with session_scope(engine) as session:
        team_id = officer_id = None
        if manager:
            team = Team(name=f"Team {_counter[0]}", manager_email=manager)
            session.add(team)
            session.flush()
            team_id = team.id
        if owner:
            officer = Officer(name=f"Officer {_counter[0]}", email=owner)
            session.add(officer)
            session.flush()
            officer_id = officer.id
        contact = Contact(display_name="Sam", role=role)
        session.add(contact)
        session.flush()
        session.add(ChannelIdentity(contact_id=contact.id, channel=channel, address=address or f"person{_counter[0]}@example.org"))
        case = Case(reference=f"CSC-{received.year}-{_counter[0]:05d}", kind=kind, channel=channel, contact_id=contact.id,
                    team_id=team_id, owner_id=officer_id, received_at=at(received), complainant_role=role,
                    stage=Stage.initial_feedback if kind is Kind.initial_feedback else Stage.stage_1)
        session.add(case)
        session.flush()
        before = clock.policy.reminders.before_due
        for d in clock.deadlines(CaseEvents(received_on=received, kind=kind)):
            session.add(Deadline(case_id=case.id, kind=d.kind, due_on=d.due_on, explanation=d.explanation,
                                 next_action_on=bookmark_for(clock.calendar, d.kind, d.due_on, before)))
        if advocate_offered:
            session.add(Advocacy(case_id=case.id, contact_id=contact.id, offered_at=at(received), offered_on_channel=channel))
        return case.id  # type: ignore[return-value]


def seed_deadlines(engine: Engine, clock: Clock, *, cases: int, due_every: int, today: date, chunk: int = 20_000) -> int:
    """Many cases fast (Core bulk inserts): each has a stage 1 deadline; every `due_every`-th is due
    for a reminder today. Returns how many are due."""
    import sqlalchemy as sa

    due_soon = clock.calendar.add_working_days(today, 1).end  # its "1 day before" reminder falls today
    later = clock.calendar.add_working_days(today, 30).end
    before = clock.policy.reminders.before_due
    later_bookmark = first_action_on(clock.calendar, later, before)
    with engine.begin() as conn:
        team = conn.execute(sa.insert(Team.__table__).values(name=f"Bulk {today}", service_area="", manager_email="manager@council.example")
                            .returning(Team.__table__.c.id)).scalar_one()
        start = (conn.execute(sa.select(sa.func.max(Case.__table__.c.id))).scalar() or 0) + 1
        due = 0
        for first in range(0, cases, chunk):
            ids = range(start + first, start + min(first + chunk, cases))
            conn.execute(sa.insert(Case.__table__), [
                {"id": i, "reference": f"CSC-BULK-{i:08d}", "kind": "complaint", "reasons": [], "procedure": "statutory",
                 "stage": "stage_1", "status": "open", "channel": "email", "team_id": team, "summary": "",
                 "triage_state": "confirmed", "triage_detail": {}, "safeguarding": False, "safeguarding_signals": [],
                 "eligibility_flags": [], "possible_escalation": False, "adr": False, "adr_note": "", "compensation_pence": 0,
                 "learning": "", "child_ethnicity": "", "received_at": at(today), "created_at": at(today)} for i in ids])
            rows = []
            for i in ids:
                is_due = i % due_every == 0
                due += is_due
                rows.append({"case_id": i, "kind": "stage_1", "due_on": due_soon if is_due else later, "explanation": "",
                             "status": "open", "extension_reason": "", "last_action": "", "created_at": at(today),
                             "next_action_on": today if is_due else later_bookmark})
            conn.execute(sa.insert(Deadline.__table__), rows)
    return due
