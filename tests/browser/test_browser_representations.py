"""An officer logs a phone call and a scanned letter in real Chromium, and acknowledges the call
by phone from the case page; axe-core checks the new form and the case page's panel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import re
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Attachment, Case, Deadline, Message
from models.enums import Channel, DeadlineKind, DeadlineStatus, Kind, Reason, Role
from tests.browser.conftest import Live, serving, sign_in
from tests.browser.test_browser_accessibility import axe
from tests.web_helpers import Now, make_app
from triage.intake import Suggestion

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8, reasons=[Reason.communication], role=Role.care_leaver)


@pytest.fixture
def live(sqlite_engine: Engine) -> Iterator[Live]:
    """The app, with a classifier that calls everything a complaint (the real one is tested on its own)."""
    now = Now()  # Mon 23 Nov 2026
    with serving(make_app(sqlite_engine, now, classify=lambda _text: COMPLAINT)) as url:
        yield Live(url, sqlite_engine, now)


def the_case(live: Live, reference: str) -> tuple[Case, dict[DeadlineKind, Deadline]]:
    with Session(live.engine) as session:
        case = session.exec(select(Case).where(Case.reference == reference)).one()
        return case, {d.kind: d for d in session.exec(select(Deadline).where(Deadline.case_id == case.id))}


def fill_in(page, how: str, received_on: str, name: str, text: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("link", name="Log a call or letter").click()
    page.wait_for_url("**/representations/new")
    page.get_by_label(how, exact=True).check()
    page.get_by_label("Day the council received it").fill(received_on)
    page.get_by_label("Name (a councillor or MP: theirs)").fill(name)
    page.get_by_label("Your summary of the call or visit, or the letter's text").fill(text)


def test_an_officer_logs_a_phone_call_and_acknowledges_it_by_phone(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live)
    fill_in(page, "Phone call", "2026-11-20", "Kayla Brown", "A care leaver rang: nobody has called her back about her flat.")
    assert axe(page) == [], "/representations/new"
    page.get_by_label("Phone number (optional)").fill("07700 900123")
    page.get_by_role("button", name="Log it").click()
    page.wait_for_url("**/cases/CSC-2026-00001?done=logged*")
    assert "Logged: classified and in the queue." in page.locator("p.done").inner_text()
    panel = page.locator("#acknowledge")
    assert "Due by Wed 25 Nov 2026." in panel.inner_text() and "07700 900123" in panel.inner_text()
    assert "Your reference is CSC-2026-00001" in panel.locator("[data-ack-text]").inner_text()
    assert axe(page) == [], "the case page with its acknowledge-by-hand panel"
    case, deadlines = the_case(live, "CSC-2026-00001")
    assert (case.channel, case.kind, case.received_at.date()) == (Channel.phone, Kind.complaint, date(2026, 11, 20))
    assert deadlines[DeadlineKind.acknowledgement].explanation.startswith("received Fri 20 Nov 2026 (day 0)")
    assert page.get_by_label("Acknowledgement sent").input_value() == "phone"  # a call is usually acknowledged by calling back
    page.get_by_role("button", name="Record the acknowledgement").click()
    page.wait_for_url("**/cases/CSC-2026-00001?done=acknowledged*")
    assert page.locator("#acknowledge").count() == 0
    ack = the_case(live, "CSC-2026-00001")[1][DeadlineKind.acknowledgement]
    assert (ack.status, ack.met_on) == (DeadlineStatus.met, date(2026, 11, 23))
    page.get_by_role("link", name="Queue").click()
    assert page.locator("tr[data-row] a[data-open]").first.inner_text() == "CSC-2026-00001"


def test_an_officer_logs_a_letter_with_its_scan(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live)
    fill_in(page, "Letter", "2026-11-16", "Jane Jones", "I am writing because nobody has told me about my son's contact.")
    page.get_by_label("Postal address (optional)").fill("12 High Street\nNorthtown NT1 2AB")
    page.get_by_label("Scanned letter", exact=False).set_input_files(
        files=[{"name": "letter.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.get_by_role("button", name="Log it").click()
    page.wait_for_url("**/cases/CSC-2026-00001?done=logged*")
    assert re.search(r"Attachment:\s*letter.pdf \(application/pdf", page.locator(".story").inner_text())
    panel = page.locator("#acknowledge").inner_text()
    assert "It was due by Thu 19 Nov 2026: it is late" in panel and "Northtown NT1 2AB" in panel
    with Session(live.engine) as session:
        [scan] = session.exec(select(Attachment)).all()
        message = session.get_one(Message, scan.message_id)
    assert (scan.filename, scan.content) == ("letter.pdf", PDF) and message.channel is Channel.letter
