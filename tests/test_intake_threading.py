"""Threading by reference: a message naming a case joins it only when its sender is already a
contact on that case (references are sequential, anyone can guess one). A stranger naming it
gets a case of their own, linked for officers, and hears nothing about the other case."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Case, ChannelIdentity, Message, Officer, OutboxItem, session_scope
from models.enums import CaseStatus, Channel, Direction, Kind, Reason, Role, TriageState
from scheduler.clock import Clock
from scheduler.policy import load_policy
from triage.intake import Suggestion, take_in
from desk.casework import Actor, merge

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.9, reasons=[Reason.communication], role=Role.parent_or_family,
                       needs_review=False)
_n = itertools.count(1)


def arrive(engine: Engine, text: str, *, sender: str = "mum@example.org", subject: str = "contact",
           channel: Channel = Channel.email, message_ids: list[str] | None = None, external_id: str = "") -> tuple[str, bool]:
    """One message through intake, as the email adapter sends it; the case's reference and whether it opened."""
    with session_scope(engine) as session:
        message = Message(dedupe_key=f"test:{next(_n)}", channel=channel, direction=Direction.inbound, sender=sender,
                          subject=subject, text=text, clean_text=text, received_at=NOW, external_id=external_id)
        session.add(message)
        session.flush()
        outcome = take_in(session, message, clock=Clock(load_policy(None)), zone=LONDON, now=NOW,
                          classify=lambda _t: COMPLAINT, message_ids=message_ids, acknowledge_to=sender)
        return outcome.case.reference, outcome.opened


def case(engine: Engine, reference: str) -> Case:
    with Session(engine) as session:
        return session.exec(select(Case).where(Case.reference == reference)).one()


def messages_on(engine: Engine, reference: str) -> list[Message]:
    with Session(engine) as session:
        c = session.exec(select(Case).where(Case.reference == reference)).one()
        return list(session.exec(select(Message).where(Message.case_id == c.id, Message.direction == Direction.inbound)))


def acknowledgement(engine: Engine, reference: str) -> OutboxItem:
    with Session(engine) as session:
        c = session.exec(select(Case).where(Case.reference == reference)).one()
        return session.exec(select(OutboxItem).where(OutboxItem.case_id == c.id, OutboxItem.purpose == "acknowledgement")).one()


def test_the_cases_own_contact_naming_its_reference_joins_it(engine: Engine) -> None:
    first, _ = arrive(engine, "Nobody rang me back about contact.")
    joined, opened = arrive(engine, f"Still nothing. My reference is {first}.", subject="again")
    assert (joined, opened) == (first, False)
    assert len(messages_on(engine, first)) == 2


def test_the_same_person_on_another_channel_is_a_contact_too(engine: Engine) -> None:
    first, _ = arrive(engine, "Nobody rang me back about contact.")
    with session_scope(engine) as session:  # one person, two ways to reach us
        session.add(ChannelIdentity(contact_id=case(engine, first).contact_id, channel=Channel.telegram, address="777"))
    joined, opened = arrive(engine, f"It's me again about {first}", sender="777", channel=Channel.telegram)
    assert (joined, opened) == (first, False)


def test_a_stranger_naming_a_reference_gets_a_case_of_their_own_linked_for_officers(engine: Engine) -> None:
    first, _ = arrive(engine, "Nobody rang me back about contact.")
    theirs, opened = arrive(engine, f"I am writing about {first}. Please tell me what is happening.", sender="someone@example.net",
                            subject=f"Re: {first}")
    assert opened and theirs != first
    new, named = case(engine, theirs), case(engine, first)
    assert new.names_case_id == named.id and new.triage_state is TriageState.needs_review
    assert new.kind is Kind.complaint  # classified as usual, with its own clock
    assert len(messages_on(engine, first)) == 1  # the named case gained nothing
    ack = acknowledgement(engine, theirs)
    assert theirs in ack.body and first not in ack.body and first not in ack.subject
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.case_id == new.id, AuditEvent.action == "names_another_case")).one()
        assert event.detail["reference"] == first
        assert session.exec(select(AuditEvent).where(AuditEvent.case_id == named.id, AuditEvent.action == "threaded")).all() == []


def test_a_stranger_cannot_answer_the_offer_or_reopen_review_on_someone_elses_case(engine: Engine) -> None:
    first, _ = arrive(engine, "Nobody rang me back about contact.")
    with session_scope(engine) as session:
        c = session.exec(select(Case).where(Case.reference == first)).one()
        c.status, c.triage_state = CaseStatus.responded, TriageState.confirmed
    arrive(engine, f"I am not happy with {first}, take it to stage 2", sender="someone@example.net")
    named = case(engine, first)
    assert not named.possible_escalation and named.triage_state is TriageState.confirmed


def test_a_second_person_who_already_wrote_on_the_case_may_name_it(engine: Engine) -> None:
    first, _ = arrive(engine, "Nobody rang me back about contact.", external_id="<m1@example.org>")
    # The young person replies to their parent's email (an unguessable id): that joins the case.
    joined, _ = arrive(engine, "That is about me.", sender="kid@example.org", message_ids=["<m1@example.org>"])
    assert joined == first
    again, opened = arrive(engine, f"Me again about {first}", sender="kid@example.org")
    assert (again, opened) == (first, False)


def test_a_reply_on_its_own_case_naming_another_stays_on_its_own_and_officers_are_told(engine: Engine) -> None:
    first, _ = arrive(engine, "Nobody rang me back about contact.")
    mine, _ = arrive(engine, "The taxi was late.", sender="dad@example.org", external_id="<d1@example.org>")
    joined, opened = arrive(engine, f"Also see {first}", sender="dad@example.org", message_ids=["<d1@example.org>"])
    assert (joined, opened) == (mine, False)
    assert len(messages_on(engine, first)) == 1
    with Session(engine) as session:
        actions = list(session.exec(select(AuditEvent.action).where(AuditEvent.case_id == case(engine, mine).id)))
    assert "names_another_case" in actions


def test_of_several_references_it_joins_the_one_the_sender_is_a_contact_on(engine: Engine) -> None:
    first, _ = arrive(engine, "Nobody rang me back about contact.")
    mine, _ = arrive(engine, "The taxi was late.", sender="dad@example.org")
    joined, opened = arrive(engine, f"Like {first}, and about {mine}: still late", sender="dad@example.org", subject=f"Re: {first}")
    assert (joined, opened) == (mine, False)


def test_a_reference_that_does_not_exist_opens_an_ordinary_case(engine: Engine) -> None:
    theirs, opened = arrive(engine, "About CSC-2026-09999: nobody rang back.")
    assert opened and case(engine, theirs).names_case_id is None


def test_after_a_merge_the_sender_is_a_contact_on_the_case_it_joined(engine: Engine) -> None:
    first, _ = arrive(engine, "Nobody rang me back about contact.")
    theirs, _ = arrive(engine, f"About {first}: I am his dad.", sender="dad@example.org")
    with session_scope(engine) as session:
        into = session.exec(select(Case).where(Case.reference == first)).one()
        other = session.exec(select(Case).where(Case.reference == theirs)).one()
        officer = Officer(name="olu")
        session.add(officer)
        session.flush()
        merge(session, into, other, Actor(officer=officer, now=NOW, zone=LONDON))
    joined, opened = arrive(engine, f"More about {first}", sender="dad@example.org")
    assert (joined, opened) == (first, False)
    again, _ = arrive(engine, f"More about {theirs}", sender="dad@example.org")  # the merged reference follows the merge
    assert again == first
