"""What officers do to a case, as plain functions over a session: each checks its input,
changes the record, recomputes deadlines through the clock, and writes the audit trail.

The web pages and the JSON API both call these, so a rule lives in one place. Every
function takes `now` (time is injected) and the acting officer. A refusal is a `Refused`
whose message is shown to the officer as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from models import AuditEvent, Case, ChannelIdentity, Deadline, Message, Officer, OutboxItem, StageRecord, Team
from models.enums import CaseStatus, DeadlineKind, DeadlineStatus, Kind, Procedure, SafeguardingLevel, Stage
from scheduler import wording
from scheduler.clock import CaseEvents, Clock

LIVE = (DeadlineStatus.open, DeadlineStatus.missed)
STAGE_DEADLINE = {
    Stage.initial_feedback: DeadlineKind.initial_feedback,
    Stage.stage_1: DeadlineKind.stage_1,
    Stage.stage_2: DeadlineKind.stage_2,
    Stage.stage_3: DeadlineKind.stage_3_response,
}
# Windows that run after a response; asking for the next stage closes them.
REQUEST_WINDOW = {Stage.stage_2: DeadlineKind.stage_2_request, Stage.stage_3: DeadlineKind.stage_3_request}


class Refused(Exception):
    """The action cannot be done as asked; the message says why, for the officer."""


class Stale(Refused):
    """Another officer saved the case after this officer's page showed it: nothing is saved."""


@dataclass(frozen=True)
class Actor:
    officer: Officer
    now: datetime
    zone: ZoneInfo

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()


def audit(session: Session, actor: Actor, case: Case | None, action: str, **detail: Any) -> None:
    session.add(AuditEvent(at=actor.now, actor=actor.officer.name, officer_id=actor.officer.id,
                           case_id=case.id if case else None, action=action, detail=detail))


def save_on(session: Session, case: Case, actor: Actor, based_on: int | None) -> None:
    """Move the case's version on for an officer's save, or refuse a save based on an older one.

    The version is checked and moved in one conditional UPDATE, so of two saves based on the
    same version exactly one wins, even when they race (PostgreSQL makes the second wait for
    the first's row lock, then finds the version moved). `based_on` None (the JSON API, the
    queue's inline confirm) saves without the check but still moves the version on."""
    expected = case.version if based_on is None else based_on
    moved = session.execute(
        sa.update(Case).where(Case.id == case.id, Case.version == expected)
        .values(version=Case.version + 1, changed_by=actor.officer.name, changed_at=actor.now)
        .execution_options(synchronize_session=False))
    session.refresh(case)
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Stale(changed_since(case, actor.zone))


def changed_since(case: Case, zone: ZoneInfo) -> str:
    """The refusal of a stale save, in words: who changed the case and when."""
    at = case.changed_at.astimezone(zone) if case.changed_at else None
    when = f" at {at:%H:%M} on {at:%a %d %b %Y}" if at else ""
    who = case.changed_by or "another officer"
    return (f"{case.reference} was changed by {who}{when}, after you opened it. Nothing was saved: "
            "read what changed, then save again.")


def live_case(case: Case) -> None:
    if case.status in (CaseStatus.closed, CaseStatus.merged):
        raise Refused(f"{case.reference} is {case.status.value}; reopen it first" if case.status is CaseStatus.closed
                      else f"{case.reference} was merged into another case")


# --- the clock ---------------------------------------------------------------------------

def case_events(session: Session, case: Case, zone: ZoneInfo) -> CaseEvents:
    """What has happened on a case, in the clock's terms, from its stage records and deadlines."""
    stages = {s.stage: s for s in session.exec(select(StageRecord).where(StageRecord.case_id == case.id))}
    extended = {d.kind for d in session.exec(select(Deadline).where(Deadline.case_id == case.id)) if d.original_due_on}

    def responded(stage: Stage) -> date | None:
        record = stages.get(stage)
        return record.responded_on if record else None

    def started(stage: Stage) -> date | None:
        record = stages.get(stage)
        return record.started_on if record else None

    return CaseEvents(
        received_on=case.received_at.astimezone(zone).date(),
        procedure=case.procedure,
        kind=case.kind,
        stage_1_extended=DeadlineKind.stage_1 in extended,
        stage_1_responded_on=responded(Stage.stage_1),
        stage_2_requested_on=started(Stage.stage_2),
        stage_2_statement_agreed_on=started(Stage.stage_2),
        stage_2_extended=DeadlineKind.stage_2 in extended,
        stage_2_responded_on=responded(Stage.stage_2),
        stage_3_requested_on=started(Stage.stage_3),
    )


def sync_deadlines(session: Session, case: Case, clock: Clock, actor: Actor) -> list[str]:
    """Bring the case's deadlines in line with the clock: add new ones, move changed ones,
    supersede ones that no longer apply. Met deadlines are history and never touched."""
    wanted = {d.kind: d for d in clock.deadlines(case_events(session, case, actor.zone))}
    rows = list(session.exec(select(Deadline).where(Deadline.case_id == case.id)))
    changes: list[str] = []
    for kind, due in wanted.items():
        mine = [r for r in rows if r.kind == kind]
        live = [r for r in mine if r.status in LIVE]
        if live:
            row = live[0]
            if row.due_on != due.due_on:
                changes.append(f"{kind.value}: {row.due_on} → {due.due_on}")
                row.due_on, row.explanation = due.due_on, due.explanation
                row.status = DeadlineStatus.open if due.due_on >= actor.today else DeadlineStatus.missed
        elif not any(r.status is DeadlineStatus.met for r in mine) and not (kind is DeadlineKind.acknowledgement and mine):
            session.add(Deadline(case_id=case.id, kind=kind, due_on=due.due_on, explanation=due.explanation,
                                 status=DeadlineStatus.open if due.due_on >= actor.today else DeadlineStatus.missed,
                                 created_at=actor.now))
            changes.append(f"{kind.value}: due {due.due_on}")
    for row in rows:
        if row.status in LIVE and row.kind not in wanted:
            row.status = DeadlineStatus.superseded
            changes.append(f"{row.kind.value}: no longer applies")
    return changes


def _meet(session: Session, case: Case, kind: DeadlineKind, on: date) -> None:
    for row in session.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == kind)):
        if row.status in LIVE:
            row.status, row.met_on = DeadlineStatus.met, on


def first_stage(kind: Kind | None) -> Stage | None:
    if kind is Kind.compliment:
        return None
    return Stage.initial_feedback if kind is Kind.initial_feedback else Stage.stage_1


# --- actions -----------------------------------------------------------------------------

def assign(session: Session, case: Case, actor: Actor, *, owner_id: int | None, team_id: int | None) -> None:
    live_case(case)
    if owner_id is not None and session.get(Officer, owner_id) is None:
        raise Refused("no such officer")
    if team_id is not None and session.get(Team, team_id) is None:
        raise Refused("no such team")
    before = {"owner_id": case.owner_id, "team_id": case.team_id}
    case.owner_id, case.team_id = owner_id, team_id
    audit(session, actor, case, "assigned", before=before, owner_id=owner_id, team_id=team_id)


def convert(session: Session, case: Case, clock: Clock, actor: Actor, to: Kind) -> list[str]:
    """Initial feedback ↔ complaint: the stage and the deadlines follow."""
    live_case(case)
    if to not in (Kind.initial_feedback, Kind.complaint):
        raise Refused("only initial feedback and complaints convert into each other")
    if case.kind is to:
        raise Refused(f"{case.reference} is already {to.value.replace('_', ' ')}")
    if case.stage not in (None, Stage.initial_feedback, Stage.stage_1):
        raise Refused("a case past stage 1 cannot be converted")
    before = case.kind
    case.kind, case.stage = to, first_stage(to)
    changes = sync_deadlines(session, case, clock, actor)
    audit(session, actor, case, "converted", before=before.value if before else None, after=to.value, deadlines=changes)
    return changes


def merge(session: Session, into: Case, other: Case, actor: Actor) -> None:
    """Fold `other` into `into`: its messages join the story, its clock stops, intake follows the link."""
    if into.id == other.id:
        raise Refused("a case cannot be merged into itself")
    live_case(into)
    live_case(other)
    for message in session.exec(select(Message).where(Message.case_id == other.id)):
        message.case_id = into.id
    for row in session.exec(select(Deadline).where(Deadline.case_id == other.id)):
        if row.status in LIVE:
            row.status = DeadlineStatus.superseded
    other.status, other.merged_into_id, other.closed_at = CaseStatus.merged, into.id, actor.now
    into.flag_safeguarding(other.safeguarding_level, other.safeguarding_signals)
    audit(session, actor, other, "merged_into", into=into.reference)
    audit(session, actor, into, "merged_from", other=other.reference)


def extend(session: Session, case: Case, clock: Clock, actor: Actor, reason: str) -> Deadline:
    """Extend the current stage's response deadline once (stage 1 to 20 working days, stage 2 to 65)."""
    live_case(case)
    reason = reason.strip()
    if not reason:
        raise Refused("say why the deadline is extended: the complainant is told the reason")
    if case.stage not in (Stage.stage_1, Stage.stage_2):
        raise Refused("only a stage 1 or stage 2 response deadline can be extended")
    kind = STAGE_DEADLINE[case.stage]
    row = session.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == kind,
                                              Deadline.status.in_(LIVE))).first()
    if row is None:
        raise Refused("there is no open response deadline to extend")
    if row.original_due_on is not None:
        raise Refused("this deadline has already been extended once; it cannot be extended again")
    original = row.due_on
    events = case_events(session, case, actor.zone)
    events = replace(events, **{"stage_1_extended" if kind is DeadlineKind.stage_1 else "stage_2_extended": True})
    due = next(d for d in clock.deadlines(events) if d.kind == kind)
    row.original_due_on, row.due_on, row.explanation = original, due.due_on, due.explanation
    row.extension_reason, row.extended_by_id = reason, actor.officer.id
    row.status = DeadlineStatus.open if due.due_on >= actor.today else DeadlineStatus.missed
    audit(session, actor, case, "extended", deadline=kind.value, before=str(original), after=str(due.due_on), reason=reason)
    _tell_the_new_date(session, case, row, reason, actor.now)
    return row


def _tell_the_new_date(session: Session, case: Case, deadline: Deadline, reason: str, now: datetime) -> None:
    """The complainant is told why and the new date, on the channel they used (through the outbox)."""
    address = session.exec(select(ChannelIdentity.address).where(
        ChannelIdentity.contact_id == case.contact_id, ChannelIdentity.channel == case.channel.written_on)).first()
    if address is None:
        return
    session.add(OutboxItem(
        idempotency_key=f"extension-notice:{deadline.id}", purpose="extension_notice", channel=case.channel.written_on,
        recipient=address, case_id=case.id, contact_id=case.contact_id, subject=f"Your new date [{case.reference}]",
        body=wording.extension_notice(case.reference, deadline.due_on, reason), next_attempt_at=now, created_at=now,
    ))


def extension_state(session: Session, case: Case) -> tuple[Deadline | None, AuditEvent | None]:
    """The current stage's live response deadline (None when it has none that can be extended)
    and the officer's pending request to extend it, if any."""
    if case.stage not in (Stage.stage_1, Stage.stage_2):
        return None, None
    row = session.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == STAGE_DEADLINE[case.stage],
                                              Deadline.status.in_(LIVE))).first()
    requests = session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.action == "extension_requested")
                            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    # Requests made before they named their stage are taken to be for stage 1.
    pending = next((e for e in requests if e.detail.get("stage", Stage.stage_1.value) == case.stage.value), None)
    if pending is not None and session.exec(select(AuditEvent.id).where(
            AuditEvent.case_id == case.id, AuditEvent.action == "extension_declined", AuditEvent.id > pending.id)).first():
        pending = None  # a manager declined it (desk/extensions.py): the officer may ask again
    return row, pending


def request_extension(session: Session, case: Case, actor: Actor, reason: str) -> None:
    """An officer asks, once per stage; a manager approves (by extending)."""
    live_case(case)
    if not reason.strip():
        raise Refused("say why the deadline should be extended")
    row, pending = extension_state(session, case)
    if row is None:
        raise Refused("there is no open stage 1 or stage 2 response deadline to extend")
    if row.original_due_on is not None:
        raise Refused("this deadline has already been extended once; it cannot be extended again")
    if pending is not None:
        raise Refused(f"{pending.actor} already asked for an extension of this stage; a manager will decide")
    audit(session, actor, case, "extension_requested", reason=reason.strip(), stage=case.stage.value)  # type: ignore[union-attr]


def record_response(session: Session, case: Case, clock: Clock, actor: Actor, *, outcome, on: date, note: str) -> StageRecord:  # type: ignore[no-untyped-def]
    """The stage response was sent: its outcome, the deadline met, the next stage's window opened."""
    live_case(case)
    if case.stage is None or case.stage is Stage.ombudsman:
        raise Refused("this case has no council stage to respond to")
    if on > actor.today:
        raise Refused("a response cannot be recorded for a day that has not come")
    record = session.exec(select(StageRecord).where(StageRecord.case_id == case.id, StageRecord.stage == case.stage)).first()
    if record is None:
        record = StageRecord(case_id=case.id, stage=case.stage, started_on=case.received_at.astimezone(actor.zone).date())
        session.add(record)
    if on < record.started_on:
        raise Refused("the response cannot be before the stage started")
    record.responded_on, record.outcome, record.note, record.recorded_by_id = on, outcome, note.strip(), actor.officer.id
    _meet(session, case, STAGE_DEADLINE[case.stage], on)
    if case.stage is Stage.stage_3:
        for kind in (DeadlineKind.stage_3_panel, DeadlineKind.stage_3_report):
            _meet(session, case, kind, on)
    case.status, case.possible_escalation = CaseStatus.responded, False
    session.flush()
    changes = sync_deadlines(session, case, clock, actor)
    audit(session, actor, case, "responded", stage=case.stage.value, outcome=outcome.value, on=str(on), deadlines=changes)
    return record


def escalate(session: Session, case: Case, clock: Clock, actor: Actor, *, to: Stage, requested_on: date) -> list[str]:
    live_case(case)
    order = [Stage.stage_1, Stage.stage_2, Stage.stage_3]
    if to not in (Stage.stage_2, Stage.stage_3) or case.stage not in order or order.index(to) != order.index(case.stage) + 1:
        raise Refused(f"a case at {case.stage.value.replace('_', ' ') if case.stage else 'no stage'} cannot go to {to.value.replace('_', ' ')}")
    if to is Stage.stage_3 and case.procedure is Procedure.corporate:
        raise Refused("the corporate procedure has no stage 3; the next step is the Ombudsman")
    if requested_on > actor.today:
        raise Refused("the request date cannot be in the future")
    _meet(session, case, REQUEST_WINDOW[to], requested_on)
    session.add(StageRecord(case_id=case.id, stage=to, started_on=requested_on))
    case.stage, case.status, case.possible_escalation = to, CaseStatus.open, False
    session.flush()
    changes = sync_deadlines(session, case, clock, actor)
    audit(session, actor, case, "escalated", to=to.value, requested_on=str(requested_on), deadlines=changes)
    return changes


def record_remedies(session: Session, case: Case, actor: Actor, *, adr: bool, adr_note: str, compensation_pence: int, learning: str) -> None:
    if compensation_pence < 0:
        raise Refused("compensation cannot be negative")
    before = {"adr": case.adr, "compensation_pence": case.compensation_pence}
    case.adr, case.adr_note, case.compensation_pence, case.learning = adr, adr_note.strip(), compensation_pence, learning.strip()
    audit(session, actor, case, "remedies", before=before, adr=adr, compensation_pence=compensation_pence,
          learning=bool(case.learning))


def record_referral(session: Session, case: Case, actor: Actor, note: str) -> None:
    if case.safeguarding_referral_at is not None:
        raise Refused("a safeguarding referral is already recorded for this case")
    case.safeguarding_referral_at = actor.now
    case.set_safeguarding(SafeguardingLevel.disclosure)  # referred: it is treated as a disclosure
    audit(session, actor, case, "safeguarding_referral", note=note.strip())


def add_note(session: Session, case: Case, actor: Actor, text: str) -> None:
    if not text.strip():
        raise Refused("the note is empty")
    audit(session, actor, case, "note", text=text.strip())


def close(session: Session, case: Case, actor: Actor, why: str, *, confirmed: bool = True) -> None:
    """Close the case; the page asks the officer to confirm first (a tick box, so it works without scripts)."""
    live_case(case)
    if not confirmed:
        raise Refused("tick “Yes, close this case” to confirm: a closed case leaves the queue and its deadlines stop")
    if case.safeguarding and case.safeguarding_referral_at is None:
        what = "safeguarding disclosure" if case.disclosure else "possible safeguarding concern"
        raise Refused(f"this case carries a {what}: record the referral (or clear the flag in triage) before closing")
    for row in session.exec(select(Deadline).where(Deadline.case_id == case.id)):
        if row.status in LIVE:
            row.status = DeadlineStatus.superseded
    case.status, case.closed_at = CaseStatus.closed, actor.now
    audit(session, actor, case, "closed", why=why.strip())


def reopen(session: Session, case: Case, clock: Clock, actor: Actor) -> None:
    if case.status is not CaseStatus.closed:
        raise Refused(f"{case.reference} is not closed")
    case.status, case.closed_at = CaseStatus.open, None
    changes = sync_deadlines(session, case, clock, actor)
    audit(session, actor, case, "reopened", deadlines=changes)


def officers_and_teams(session: Session) -> tuple[list[Officer], list[Team]]:
    officers = list(session.exec(select(Officer).where(Officer.active == True).order_by(Officer.name)))  # noqa: E712
    return officers, list(session.exec(select(Team).order_by(Team.name)))

