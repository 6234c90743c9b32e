"""Opening cases in bulk: the new cases of a batch of stored messages go in with one insert per
table (contacts, cases, deadlines, advocate offers, audit events, acknowledgements) and one
block of reference numbers, where a case at a time cost a unit-of-work flush, a statement per
row and an update of the reference sequence each. Intake's `take_in` opens its one case the
same way, as a batch of one, so a case is opened one way only.

The block is reserved in the batch's own transaction: a batch that is rolled back gives its
numbers back, so references stay without gaps, and on PostgreSQL the sequence's row is
locked once per batch, near its end, rather than from a batch's first case to its commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from models import Advocacy, Case, ChannelIdentity, Contact, Deadline, Message, audit_chain, upsert_insert
from models.enums import Channel, DeadlineKind, Kind, OutboxStatus, Role, Stage, TriageState
from scheduler import outbox, wording
from scheduler.chase import bookmark_for
from scheduler.clock import CaseEvents, Clock

if TYPE_CHECKING:
    from triage.intake import Suggestion

YOUNG = {Role.child_or_young_person, Role.care_leaver}
SEQUENCE = sa.table("referencesequence", sa.column("year"), sa.column("last"))


@dataclass
class Opening:
    """A stored message that opens a new case, and what intake decided about it. A `contact_id`
    of None is the contact of the message's sender, looked up (or made) with the batch's."""

    message: Message
    suggestion: Suggestion
    contact_id: int | None = None
    names: Case | None = None  # a case it names whose contacts do not include the sender
    acknowledge_to: str | None = None
    acknowledge_suppressed: str = ""
    offer_advocate: bool = True
    acknowledge_on: Channel | None = None  # a call or letter an officer logged is acknowledged by email


def reserve_references(session: Session, year: int, count: int) -> int:
    """Reserve `count` consecutive reference numbers of a year; the first of them.

    One conditional statement, safe under concurrency: the row lock (PostgreSQL) or the write
    lock (SQLite) is held until the transaction ends, and a rollback returns the numbers."""
    bump = sa.update(SEQUENCE).where(SEQUENCE.c.year == year).values(last=SEQUENCE.c.last + count).returning(SEQUENCE.c.last)
    last = session.execute(bump).scalar()
    if last is None:
        try:
            with session.begin_nested():
                session.execute(sa.insert(SEQUENCE).values(year=year, last=count))
            last = count
        except sa.exc.IntegrityError:  # another transaction made the year's row first
            last = session.execute(bump).scalar_one()
    return last - count + 1


def contact_ids(session: Session, channel: Channel, addresses: Iterable[str]) -> dict[str, int]:
    """The contact behind each address, making a contact (and its channel identity) for each
    address not seen before: one look-up, and one insert per table for the new ones.

    Two workers may meet the same new sender at once (PostgreSQL, more than one email
    worker). Identities go in sorted, so the workers wait on each other rather than deadlock,
    and `ON CONFLICT DO NOTHING`: the one that waited finds the other's identity and drops
    the contact it had made for it."""
    wanted = list(dict.fromkeys(addresses))
    if not wanted:
        return {}
    identity, contact = ChannelIdentity.__table__, Contact.__table__

    def look_up(among: list[str]) -> dict[str, int]:
        return dict(session.execute(sa.select(identity.c.address, identity.c.contact_id)
                                    .where(identity.c.channel == channel, identity.c.address.in_(among))).all())

    found = look_up(wanted)
    new = sorted(a for a in wanted if a not in found)
    if new:
        made = dict(zip(new, session.execute(
            sa.insert(contact).returning(contact.c.id, sort_by_parameter_order=True), [{"display_name": ""} for _ in new]
        ).scalars().all(), strict=True))
        stored = set(session.execute(
            upsert_insert(session)(identity).on_conflict_do_nothing(index_elements=["channel", "address"])
            .returning(identity.c.address),
            [{"contact_id": made[a], "channel": channel, "address": a} for a in new]).scalars())
        found.update({a: made[a] for a in stored})
        if lost := [a for a in new if a not in stored]:
            found.update(look_up(lost))
            session.execute(sa.delete(contact).where(contact.c.id.in_([made[a] for a in lost])))
    return found


def open_cases(session: Session, openings: list[Opening], *, clock: Clock, zone: ZoneInfo, now: datetime) -> list[int]:
    """Open a case for each opening, in order; their ids. Each message gets its case and contact.

    1. Contacts: the given ones, and the senders' (looked up or made in bulk).
    2. References: a block per year received, numbered in the openings' order.
    3. Cases, then what hangs on them (deadlines, advocate offers, audit, acknowledgements),
       one insert per table.
    """
    if not openings:
        return []
    by_sender = contact_ids(session, openings[0].message.channel,
                            [o.message.sender for o in openings if o.contact_id is None])
    received_on = [o.message.received_at.astimezone(zone).date() for o in openings]
    first: dict[int, int] = {}
    for year in dict.fromkeys(d.year for d in received_on):
        first[year] = reserve_references(session, year, sum(1 for d in received_on if d.year == year))
    rows, references = [], []
    for o, day in zip(openings, received_on, strict=True):
        if o.contact_id is None:
            o.contact_id = by_sender[o.message.sender]
        references.append(f"CSC-{day.year}-{first[day.year]:05d}")
        first[day.year] += 1
        rows.append(_case_row(o, references[-1]))
    table = Case.__table__
    ids = dict(session.execute(sa.insert(table).returning(table.c.reference, table.c.id), rows).all())
    deadlines, offers, audits, acknowledgements = [], [], [], []
    today = now.astimezone(zone).date()
    for o, day, reference in zip(openings, received_on, references, strict=True):
        s, message, case_id = o.suggestion, o.message, ids[reference]
        message.case_id, message.contact_id = case_id, o.contact_id
        due = clock.deadlines(CaseEvents(received_on=day, kind=s.kind))
        deadlines += [{"case_id": case_id, "kind": d.kind, "due_on": d.due_on, "explanation": d.explanation,
                       "next_action_on": _bookmark(clock, d.kind, d.due_on, today)} for d in due]
        young = s.role in YOUNG and s.kind is not Kind.compliment
        if young and o.offer_advocate:  # the acknowledgement makes the offer; a chat records its own when shown
            offers.append({"case_id": case_id, "contact_id": o.contact_id, "offered_at": now,
                           "offered_on_channel": o.acknowledge_on or message.channel})
        actor = f"intake:{message.channel.value}"
        if o.names is not None:  # officers only: the message names a case its sender is not a contact on
            audits.append({"at": now, "actor": actor, "case_id": case_id, "action": "names_another_case",
                           "detail": {"message_id": message.id, "reference": o.names.reference,
                                      "why": "the sender is not a contact on that case"}})
        audits.append({"at": now, "actor": actor, "case_id": case_id, "action": "opened",
                       "detail": {"message_id": message.id, "reference": reference}})
        if o.acknowledge_to:
            reply_by = next((d.due_on for d in due if d.kind in (DeadlineKind.stage_1, DeadlineKind.initial_feedback)), None)
            acknowledgements.append(_acknowledgement(o, case_id, reference, reply_by, young, now, today))
    for model, values in ((Deadline, deadlines), (Advocacy, offers)):
        if values:
            session.execute(sa.insert(model.__table__), values)
    audit_chain.add_rows(session, audits)  # chained as the batch commits
    if acknowledgements:
        outbox.enqueue(session.connection(), acknowledgements)
    return [ids[r] for r in references]


def _case_row(o: Opening, reference: str) -> dict:
    s, message = o.suggestion, o.message
    return {
        "reference": reference, "kind": s.kind, "reasons": list(s.reasons), "primary_reason": s.primary_reason,
        "complainant_role": s.role, "stage": first_stage(s.kind), "channel": message.channel, "contact_id": o.contact_id,
        "summary": message.clean_text[:500], "triage_state": TriageState.needs_review, "triage_confidence": s.confidence,
        "triage_detail": s.detail, "safeguarding": s.safeguarding, "safeguarding_level": s.safeguarding_level,
        "safeguarding_signals": list(s.signals), "eligibility_flags": list(s.flags), "received_at": message.received_at,
        "names_case_id": o.names.id if o.names is not None else None,
    }


def first_stage(kind: Kind | None) -> Stage | None:
    if kind is Kind.compliment:
        return None
    return Stage.initial_feedback if kind is Kind.initial_feedback else Stage.stage_1


def _bookmark(clock: Clock, kind: DeadlineKind, due_on: date, today: date) -> date | None:
    """When the sweep first looks at a deadline. A representation logged days after it came (a
    letter) may be late already: whoever logs it has today to acknowledge it before the manager
    is alerted."""
    bookmark = bookmark_for(clock.calendar, kind, due_on, clock.policy.reminders.before_due)
    if kind is DeadlineKind.acknowledgement and bookmark is not None:
        bookmark = max(bookmark, clock.calendar.after(today, 1))
    return bookmark


def _acknowledgement(o: Opening, case_id: int, reference: str, reply_by, young: bool, now: datetime, today: date) -> dict:  # type: ignore[no-untyped-def]
    s, channel = o.suggestion, o.acknowledge_on or o.message.channel
    body = wording.acknowledgement(reference, reply_by or today, young_person=young, safeguarding=s.disclosure,
                                   compliment=s.kind is Kind.compliment, late=reply_by is not None and reply_by < today)
    row = outbox.row(f"acknowledgement:{case_id}", "acknowledgement", channel.value, o.acknowledge_to or "",
                     wording.acknowledgement_subject(reference), body, now, case_id=case_id, contact_id=o.contact_id)
    if o.acknowledge_suppressed:
        row.update(status=OutboxStatus.suppressed.value, last_error=o.acknowledge_suppressed)
    return row
