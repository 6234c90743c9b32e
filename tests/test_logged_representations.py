"""Representations an officer logs (phone, letter, in person, councillor, MP): checked values,
intake, the clock from the day received, acknowledgements, the sweep and the annual report."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Advocacy, Attachment, Case, ChannelIdentity, Contact, Deadline, Message, OutboxItem, session_scope
from models.enums import Channel, DeadlineKind, DeadlineStatus, EnquirySource, Kind, Reason, Role
from models.values import BadValue
from reports.compute import build_report
from scheduler.clock import Clock
from scheduler.policy import load_policy
from scheduler.sweep import Sweep, acknowledged
from tests.factories import LONDON, at
from triage.intake import Suggestion
from triage.logged import Typed, log, read, received_at, scan_of

CLOCK = Clock(load_policy())
TODAY = date(2026, 11, 23)  # a Monday
NOW = at(TODAY, 10)
COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8, reasons=[Reason.communication], role=Role.parent_or_family)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def typed(**change: str) -> Typed:
    values = {"channel": "letter", "received_on": "2026-11-16", "text": "Nobody has rung me back about my son's contact.",
              "name": "Jane Jones", "email": "", "phone": "", "postal_address": ""}
    return Typed(**{**values, **change})


def logged(engine: Engine, now: datetime = NOW, suggestion: Suggestion | None = COMPLAINT, once: str = "", **change: str) -> str:
    with session_scope(engine) as session:
        case = log(session, read(typed(**change), now.astimezone(LONDON).date()), once=once or uuid.uuid4().hex,
                   officer="olu", clock=CLOCK, zone=LONDON, now=now,
                   classify=(lambda _text: suggestion) if suggestion else None)
        return case.reference


def one(engine: Engine, reference: str) -> tuple[Case, dict[DeadlineKind, Deadline], list[OutboxItem]]:
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.reference == reference)).one()
        deadlines = {d.kind: d for d in session.exec(select(Deadline).where(Deadline.case_id == case.id))}
        outbox = list(session.exec(select(OutboxItem).where(OutboxItem.case_id == case.id)))
        return case, deadlines, outbox


def sweep(engine: Engine, day: date):  # type: ignore[no-untyped-def]
    return Sweep(engine, CLOCK, LONDON).run(at(day, 7))


# --- the values ---------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "said"), [
    ({"channel": "fax"}, "the channel 'fax' is not one of phone, letter, in_person, councillor, mp"),
    ({"channel": "email"}, "is not one of phone"),  # Heard takes email in itself
    ({"channel": ""}, "say how it came"),
    ({"received_on": "2026-11-24"}, "is after today (Mon 23 Nov 2026): the clock runs from the day the council received it"),
    ({"received_on": "yesterday"}, "is not a date (YYYY-MM-DD)"),
    ({"received_on": "1999-12-31"}, "is before 2000"),
    ({"received_on": ""}, "say the day it was received"),
    ({"text": "   "}, "it is empty"),
    ({"text": "x" * 100_001}, "the most is 100,000"),
    ({"name": ""}, "say who it is from"),
    ({"name": "x" * 201}, "the most is 200"),
    ({"name": "Jane\u202eJones"}, "invisible or control characters (U+202E)"),
    ({"email": "jane at example.org"}, "is not an address like name@example.org"),
    ({"email": "jane@example"}, "is not an address"),
    ({"phone": "call me"}, "is not a phone number"),
    ({"phone": "12345"}, "is not a phone number"),
    ({"phone": "0" * 16}, "is not a phone number"),
    ({"postal_address": "x" * 1001}, "the most is 1,000"),
    ({"text": "a\x00b"}, "NUL"),
])
def test_a_value_that_makes_no_sense_is_refused_with_a_sentence_saying_why(change: dict[str, str], said: str) -> None:
    with pytest.raises(BadValue) as refused:
        read(typed(**change), TODAY)
    assert said in str(refused.value)


def test_values_are_tidied_as_the_rest_of_heard_stores_them() -> None:
    got = read(typed(name="  Jane   Jones ", email=" Jane@Example.ORG ", phone=" +44 (0)7700  900123 ",
                     postal_address="12 High Street\nTown\n"), TODAY)
    assert (got.name, got.email, got.phone, got.postal_address) == ("Jane Jones", "jane@example.org", "+44 (0)7700 900123",
                                                                     "12 High Street\nTown")
    assert got.from_line == "Jane Jones · +44 (0)7700 900123 · jane@example.org · 12 High Street, Town"
    assert read(typed(received_on="2026-11-23"), TODAY).received_on == TODAY  # today is fine
    assert read(typed(received_on="2003-01-06"), TODAY).received_on == date(2003, 1, 6)  # so is long ago


def test_a_scan_is_a_pdf_or_an_image_told_by_its_bytes_and_within_the_limit() -> None:
    scan = scan_of("C:\\scans\\letter from Mrs Jones.pdf", PDF, 1000)
    assert (scan.filename, scan.content_type, len(scan.sha256)) == ("letter from Mrs Jones.pdf", "application/pdf", 64)
    assert scan_of("photo.jpg", b"\xff\xd8\xff\xe0rest", 1000).content_type == "image/jpeg"
    assert scan_of("scan.png", b"\x89PNG\r\n\x1a\nrest", 1000).content_type == "image/png"
    for name, content, said in [("virus.pdf", b"MZ\x90\x00 an executable", "is not a PDF or an image"),
                                ("page.html", b"<html><script>", "is not a PDF or an image"),
                                ("big.pdf", PDF + b"x" * 1000, "the most is 1 KB"),
                                ("empty.pdf", b"", "an empty file")]:
        with pytest.raises(BadValue) as refused:
            scan_of(name, content, 1000)
        assert said in str(refused.value), name


def test_it_was_received_at_noon_of_its_day_or_now_when_that_is_today() -> None:
    assert received_at(TODAY, LONDON, NOW) == NOW
    assert received_at(date(2026, 7, 1), LONDON, NOW) == datetime(2026, 7, 1, 11, tzinfo=UTC)  # noon BST
    assert received_at(date(2026, 11, 16), LONDON, NOW) == datetime(2026, 11, 16, 12, tzinfo=UTC)


# --- intake and the clock -----------------------------------------------------------------

def test_a_letter_logged_a_week_later_is_clocked_from_the_day_it_was_received(engine: Engine) -> None:
    read_by: list[str] = []
    with session_scope(engine) as session:
        case = log(session, read(typed(text="  Nobody has rung me back. \n"), TODAY), once="a", officer="olu", clock=CLOCK,
                   zone=LONDON, now=NOW, classify=lambda text: read_by.append(text) or COMPLAINT)
        reference = case.reference
    assert read_by == ["Nobody has rung me back."]  # the classifier reads the officer's words, once
    case, deadlines, outbox = one(engine, reference)
    assert (case.channel, case.kind, case.reasons, case.received_at) == (
        Channel.letter, Kind.complaint, [Reason.communication], datetime(2026, 11, 16, 12, tzinfo=UTC))
    ack, stage_1 = deadlines[DeadlineKind.acknowledgement], deadlines[DeadlineKind.stage_1]
    assert (ack.due_on, stage_1.due_on) == (date(2026, 11, 19), date(2026, 11, 30))  # 3 and 10 working days from Mon 16
    assert ack.explanation.startswith("received Mon 16 Nov 2026 (day 0)")
    assert outbox == []  # no email address: an officer acknowledges it
    with Session(engine) as session:
        message = session.exec(select(Message).where(Message.case_id == case.id)).one()
        assert message.subject == "Letter received Mon 16 Nov 2026, logged by olu"
        assert message.raw_json["contact"] == {"name": "Jane Jones", "email": "", "phone": "", "postal_address": ""}
        assert (message.text, message.sender) == ("Nobody has rung me back.", "Jane Jones")
        assert session.exec(select(ChannelIdentity)).all() == []  # nothing Heard could write to


def test_the_same_form_sent_twice_is_one_case(engine: Engine) -> None:
    first = logged(engine, once="double-click")
    assert logged(engine, once="double-click") == first
    with Session(engine) as session:
        assert len(session.exec(select(Case)).all()) == 1


def test_someone_who_has_emailed_before_is_the_same_contact_and_a_shared_phone_number_joins_nobody(engine: Engine) -> None:
    a = logged(engine, once="1", email="jane@example.org", phone="07700 900123")
    b = logged(engine, once="2", email="JANE@example.org", name="J Jones")
    c = logged(engine, once="3", phone="07700 900123", name="Kayla Jones")
    with Session(engine) as session:
        contacts = {r: session.exec(select(Case.contact_id).where(Case.reference == r)).one() for r in (a, b, c)}
        assert contacts[a] == contacts[b] != contacts[c]
        assert session.get_one(Contact, contacts[a]).display_name == "Jane Jones"
        identities = session.exec(select(ChannelIdentity.channel, ChannelIdentity.address)).all()
    assert identities == [(Channel.email, "jane@example.org")]


def test_with_an_email_address_the_acknowledgement_goes_by_email(engine: Engine) -> None:
    reference = logged(engine, channel="phone", received_on="2026-11-23", email="jane@example.org")
    case, deadlines, outbox = one(engine, reference)
    [ack] = outbox
    assert (ack.purpose, ack.channel, ack.recipient) == ("acknowledgement", Channel.email, "jane@example.org")
    assert reference in ack.subject and "We will get back to you by Monday 7 December 2026" in ack.body
    with session_scope(engine) as session:
        acknowledged(session.connection(), case.id, TODAY)  # the mail sender, on the day
    assert one(engine, reference)[1][DeadlineKind.acknowledgement].status is DeadlineStatus.met


def test_an_emailed_acknowledgement_after_its_due_date_is_counted_late(engine: Engine) -> None:
    reference = logged(engine, email="jane@example.org")  # received Mon 16: due Thu 19; logged Mon 23
    case = one(engine, reference)[0]
    with session_scope(engine) as session:
        acknowledged(session.connection(), case.id, TODAY)
    ack = one(engine, reference)[1][DeadlineKind.acknowledgement]
    assert (ack.status, ack.met_on) == (DeadlineStatus.missed, TODAY)


def test_a_letter_so_old_its_reply_date_has_passed_is_not_promised_a_past_date(engine: Engine) -> None:
    reference = logged(engine, received_on="2026-11-02", email="jane@example.org")  # stage 1 was due Mon 16 Nov
    [ack] = one(engine, reference)[2]
    assert "We should have got back to you by Monday 16 November 2026, and we are sorry we have not." in ack.body
    assert "We will get back to you by Monday 16" not in ack.body


def test_the_sweep_gives_whoever_logged_a_late_one_the_day_before_alerting_the_manager(engine: Engine) -> None:
    reference = logged(engine)  # received Mon 16, acknowledgement due Thu 19, logged Mon 23
    assert sweep(engine, TODAY).count("acknowledgement_missed") == 0
    assert one(engine, reference)[1][DeadlineKind.acknowledgement].status is DeadlineStatus.missed
    assert sweep(engine, date(2026, 11, 24)).count("acknowledgement_missed") == 1
    escalation = [o for o in one(engine, reference)[2] if o.purpose == "escalation"]
    assert len(escalation) == 1 and "not acknowledged in time" in escalation[0].subject


def test_a_representation_logged_on_the_day_is_alerted_only_once_its_acknowledgement_is_late(engine: Engine) -> None:
    logged(engine, received_on="2026-11-23")  # due Thu 26 Nov
    assert sweep(engine, date(2026, 11, 26)).count("acknowledgement_missed") == 0
    assert sweep(engine, date(2026, 11, 27)).count("acknowledgement_missed") == 1


def test_councillor_and_mp_enquiries_are_marked_as_such(engine: Engine) -> None:
    councillor = logged(engine, channel="councillor", once="c", name="Cllr Amina Patel")
    mp = logged(engine, channel="mp", once="m", name="Office of Sam Lee MP")
    phone = logged(engine, channel="phone", once="p")
    assert [one(engine, r)[0].enquiry_source for r in (councillor, mp, phone)] == [EnquirySource.councillor, EnquirySource.mp, None]


def test_a_young_persons_advocate_offer_is_followed_up_only_where_heard_can_write(engine: Engine) -> None:
    young = Suggestion(kind=Kind.complaint, confidence=0.8, role=Role.child_or_young_person)
    by_post = logged(engine, once="p", suggestion=young, received_on="2026-11-23")
    by_email = logged(engine, once="e", suggestion=young, received_on="2026-11-23", email="kid@example.org")
    with Session(engine) as session:
        offered = {r: session.exec(select(Advocacy.offered_on_channel).join(Case, Case.id == Advocacy.case_id)
                                   .where(Case.reference == r)).one() for r in (by_post, by_email)}
    assert offered == {by_post: Channel.letter, by_email: Channel.email}
    assert "To say yes, just reply to this email" in one(engine, by_email)[2][0].body
    result = sweep(engine, date(2026, 11, 25))
    assert sorted(a["sent"] for a in result.actions if a["action"] == "advocacy_follow_up") == [False, True]
    with Session(engine) as session:
        channels = {o.channel for o in session.exec(select(OutboxItem))}
    assert channels == {Channel.email}  # never a row no sender delivers


def test_a_letter_in_another_language_says_an_interpreter_is_needed(engine: Engine) -> None:
    reference = logged(engine, text="Nadie me ha llamado sobre el contacto con mi hijo y estoy muy preocupada.")
    assert one(engine, reference)[0].interpreter_needed == "es"


def test_a_scan_is_kept_with_the_letter_like_an_emails_attachment(engine: Engine) -> None:
    from dataclasses import replace

    with session_scope(engine) as session:
        letter = replace(read(typed(), TODAY), scan=scan_of("letter.pdf", PDF, 10_000))
        case_id = log(session, letter, once="s", officer="olu", clock=CLOCK, zone=LONDON, now=NOW).id
    with Session(engine) as session:
        [attachment] = session.exec(select(Attachment).join(Message, Message.id == Attachment.message_id)
                                    .where(Message.case_id == case_id)).all()
    assert (attachment.filename, attachment.content_type, attachment.size, attachment.content) == (
        "letter.pdf", "application/pdf", len(PDF), PDF)
    assert not attachment.quarantined and attachment.note == "scanned letter, added by olu"


# --- the annual report ----------------------------------------------------------------------

def test_the_annual_report_counts_them_by_the_day_received_with_councillor_and_mp_enquiries(engine: Engine) -> None:
    """Logged on 2 April 2026, received 31 March: the year 2025/26. An MP's received 1 April: 2026/27."""
    now = at(date(2026, 4, 2), 10)
    logged(engine, now, once="c", channel="councillor", received_on="2026-03-31")
    logged(engine, now, once="l", channel="letter", received_on="2026-03-30")
    logged(engine, now, once="m", channel="mp", received_on="2026-04-01")
    report = build_report(engine, load_policy(), 2025, today=date(2026, 5, 1))
    volumes = {row.label: (row.cells[0].current, row.cells[0].previous) for row in report.table("volumes").rows}
    assert volumes["Complaints at stage 1"] == (2, 0)
    assert (volumes["Councillor enquiries"], volumes["MP enquiries"]) == ((1, 0), (0, 0))
    next_year = build_report(engine, load_policy(), 2026, today=date(2026, 5, 1))
    volumes = {row.label: row.cells[0].current for row in next_year.table("volumes").rows}
    assert (volumes["Complaints at stage 1"], volumes["MP enquiries"]) == (1, 1)


def test_the_annual_report_counts_an_acknowledgement_sent_after_its_due_date_as_late(engine: Engine) -> None:
    now = at(date(2026, 4, 20), 10)
    late = logged(engine, now, once="late", received_on="2026-04-01", email="a@example.org")  # due Wed 8 Apr, over Easter
    on_time = logged(engine, now, once="now", received_on="2026-04-20", email="b@example.org")
    with session_scope(engine) as session:
        for reference in (late, on_time):
            acknowledged(session.connection(), session.exec(select(Case.id).where(Case.reference == reference)).one(), date(2026, 4, 20))
    report = build_report(engine, load_policy(), 2026, today=date(2026, 5, 1))
    rows = {row.label: row.cells[0].current for row in report.table("acknowledgements").rows}
    assert (rows["Acknowledged within 3 working days"], rows["Acknowledged late"]) == (1, 1)


def test_past_records_imported_with_a_councillor_or_mp_channel_count_as_their_enquiries(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.test_import import complaint, run_import, write_csv

    rows = [complaint("P-1", channel="councillor"), complaint("P-2", channel="mp"), complaint("P-3", channel="letter"),
            complaint("P-4", channel="phone", enquiry_source="councillor")]
    run_import(engine, write_csv(tmp_path / "past.csv", rows))
    report = build_report(engine, load_policy(), 2025, today=date(2026, 5, 1))
    volumes = {row.label: row.cells[0].current for row in report.table("volumes").rows}
    assert (volumes["Complaints at stage 1"], volumes["Councillor enquiries"], volumes["MP enquiries"]) == (4, 2, 1)
