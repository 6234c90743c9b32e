"""Plain-function factories: cases with their deadlines, as intake would write them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from models import Advocacy, Case, ChannelIdentity, Contact, Deadline, Officer, Team, session_scope
from models.enums import Channel, Kind, Role, Stage
from scheduler.chase import RESPONSES, first_action_on
from scheduler.clock import CaseEvents, Clock

LONDON = ZoneInfo("Europe/London")
_counter = [0]


def at(day: date, hour: int = 9) -> datetime:
    """A moment on a London day, in UTC."""
    return datetime.combine(day, time(hour), LONDON).astimezone(UTC)


def open_case(engine: Engine, clock: Clock, received: date, *, kind: Kind = Kind.complaint, owner: str | None = "owner@council.example",
              manager: str | None = "manager@council.example", channel: Channel = Channel.email, address: str = "parent@example.org",
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
        session.add(ChannelIdentity(contact_id=contact.id, channel=channel, address=address))
        case = Case(reference=f"CSC-{received.year}-{_counter[0]:05d}", kind=kind, channel=channel, contact_id=contact.id,
                    team_id=team_id, owner_id=officer_id, received_at=at(received), complainant_role=role,
                    stage=Stage.initial_feedback if kind is Kind.initial_feedback else Stage.stage_1)
        session.add(case)
        session.flush()
        before = clock.policy.reminders.before_due
        for d in clock.deadlines(CaseEvents(received_on=received, kind=kind)):
            session.add(Deadline(case_id=case.id, kind=d.kind, due_on=d.due_on, explanation=d.explanation,
                                 next_action_on=first_action_on(clock.calendar, d.due_on, before) if d.kind in RESPONSES else None))
        if advocate_offered:
            session.add(Advocacy(case_id=case.id, contact_id=contact.id, offered_at=at(received), offered_on_channel=channel))
        return case.id  # type: ignore[return-value]
