"""The case page in real Chromium (issue #17, items 8–13): what to do next at the top, actions
grouped with the rare ones folded away, closing confirmed (with and without JavaScript), the
contact panel, one attachment downloaded, reply templates with a preview and files, and two
officers saving the same case."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from models import Attachment, Case, Message, OutboxItem, session_scope
from models.enums import CaseStatus, Kind, OfficerRole, OutboxStatus, Reason, Role
from tests.browser.conftest import Live, sign_in
from tests.browser.test_browser_accessibility import axe
from tests.web_helpers import open_case
from triage.intake import Suggestion

pytestmark = pytest.mark.browser

RECEIVED = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8, reasons=[Reason.communication], primary_reason=Reason.communication,
                       role=Role.parent_or_family)


def saved(live: Live, reference: str) -> Case:
    with Session(live.engine) as session:
        return session.exec(select(Case).where(Case.reference == reference)).one()


def test_the_header_says_what_is_next_and_the_rare_actions_are_folded_away(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    reference = open_case(live.engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    sign_in(page, live)
    page.goto(f"{live.url}/cases/{reference}")
    head = page.locator("[data-case-head]")
    assert head.locator("[data-stage]").inner_text() == "stage 1"
    assert "Thu 19 Nov 2026" in head.locator("[data-next-due]").inner_text() and "overdue" in head.locator("[data-next-due]").inner_text()
    assert head.locator("[data-owner]").inner_text() == "nobody"
    page.get_by_label("Officer").select_option(label="olu")
    page.get_by_role("button", name="Assign").click()
    page.wait_for_selector("p.done")
    assert page.locator("[data-owner]").inner_text() == "olu"
    # The reply box comes before triage, and the rare actions are out of sight until asked for.
    assert page.get_by_role("button", name="Preview reply").bounding_box()["y"] < page.get_by_role("button", name="Confirm triage").bounding_box()["y"]
    assert not page.get_by_role("button", name="Close case").is_visible()
    assert not page.get_by_role("button", name="Merge").is_visible()
    page.locator("[data-more-actions] summary").click()
    assert page.get_by_role("button", name="Close case").is_visible()
    page.get_by_label("Close the case — why").fill("answered by phone")
    page.get_by_role("button", name="Close case").click()  # not ticked: the browser asks for the tick
    assert saved(live, reference).status is CaseStatus.open
    page.get_by_label("Yes, close this case").check()
    page.get_by_role("button", name="Close case").click()
    page.wait_for_selector("p.done")
    assert "Case closed." in page.locator("p.done").inner_text() and saved(live, reference).status is CaseStatus.closed


def test_closing_without_javascript_is_confirmed_by_the_tick_box_too(browser, live: Live) -> None:  # type: ignore[no-untyped-def]
    reference = open_case(live.engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live)
        page.goto(f"{live.url}/cases/{reference}")
        page.locator("[data-more-actions] summary").click()
        page.get_by_label("Close the case — why").fill("done")
        page.get_by_role("button", name="Close case").click()  # not ticked: refused by the browser, no script needed
        assert saved(live, reference).status is CaseStatus.open
        page.get_by_label("Yes, close this case").check()
        page.get_by_role("button", name="Close case").click()
        page.wait_for_selector("p.done")
        assert saved(live, reference).status is CaseStatus.closed
    finally:
        context.close()


def test_request_extension_is_gone_once_used(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    reference = open_case(live.engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    sign_in(page, live)
    page.goto(f"{live.url}/cases/{reference}")
    page.get_by_label("Ask a manager to extend the stage 1 deadline").fill("three teams involved")
    page.get_by_role("button", name="Request extension").click()
    page.wait_for_selector("p.done")
    assert page.get_by_role("button", name="Request extension").count() == 0
    assert "Extension requested by olu" in page.locator("[data-extension-requested]").inner_text()


def test_the_contact_panel_leads_to_the_persons_other_case(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    first = open_case(live.engine, "Nobody rang me back.", received=RECEIVED, sender="mum@example.org", subject="contact", suggestion=COMPLAINT)
    second = open_case(live.engine, "The minutes never came.", received=datetime(2026, 11, 20, 9, tzinfo=UTC), sender="mum@example.org",
                       subject="minutes", suggestion=COMPLAINT)
    sign_in(page, live)
    page.goto(f"{live.url}/cases/{first}")
    panel = page.locator("[data-contact]")
    assert "email: mum@example.org" in panel.locator("[data-channels]").inner_text()
    panel.get_by_role("link", name=second).click()
    page.wait_for_url(f"**/cases/{second}")
    assert page.locator("[data-contact]").get_by_role("link", name=first).count() == 1


def attach(live: Live, reference: str, filename: str, content: bytes, content_type: str, quarantined: bool = False) -> None:
    with session_scope(live.engine) as session:
        case = session.exec(select(Case).where(Case.reference == reference)).one()
        message = session.exec(select(Message).where(Message.case_id == case.id)).one()
        session.add(Attachment(message_id=message.id, filename=filename, content_type=content_type, size=len(content),
                               content=content, quarantined=quarantined))


def test_one_attachment_downloads_and_a_quarantined_one_is_refused_with_a_page(page, live: Live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reference = open_case(live.engine, "See attached.", received=RECEIVED, suggestion=COMPLAINT)
    attach(live, reference, "letter.pdf", b"%PDF-1.4 the letter", "application/pdf")
    attach(live, reference, "invoice.exe", b"MZ", "application/x-msdownload", quarantined=True)
    sign_in(page, live)
    page.goto(f"{live.url}/cases/{reference}")
    with page.expect_download() as info:
        page.get_by_role("link", name="letter.pdf").click()
    download = info.value
    assert download.suggested_filename == "letter.pdf"
    download.save_as(tmp_path / "got.pdf")
    assert (tmp_path / "got.pdf").read_bytes() == b"%PDF-1.4 the letter"
    assert page.get_by_role("link", name="invoice.exe").count() == 0
    assert "quarantined" in page.locator("[data-attachment]", has_text="invoice.exe").inner_text()
    response = page.goto(f"{live.url}/cases/{reference}/attachments/2")
    assert response.status == 403 and "can run programs" in page.locator("p.error").inner_text()


def test_an_admin_keeps_a_template_and_an_officer_previews_and_sends_a_reply_with_a_file(browser, page, live: Live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reference = open_case(live.engine, "Nobody rang me back.", received=RECEIVED, sender="mum@example.org", subject="contact", suggestion=COMPLAINT)
    sign_in(page, live, "ada", OfficerRole.admin)
    page.get_by_role("link", name="Reply templates").click()
    page.get_by_label("Name (officers choose by it)").fill("Holding reply")
    page.get_by_label("Words").fill("Your reference is {reference}. You will hear by {date}. {sign}")
    page.get_by_role("button", name="Add template").click()
    assert "{sign} is not a placeholder" in page.locator("p.error").inner_text()
    page.get_by_label("Words").fill("Your reference is {reference}. You will hear by {date}.\n{officer}")
    page.get_by_role("button", name="Add template").click()
    page.wait_for_selector("p.done")
    assert axe(page) == [], "/admin/reply-templates"
    officer = browser.new_context()
    tab = officer.new_page()
    try:
        sign_in(tab, live)
        tab.goto(f"{live.url}/cases/{reference}")
        tab.get_by_label("Start from a template").select_option(label="Holding reply")
        tab.get_by_role("button", name="Use template").click()
        body = tab.get_by_label("Reply to the complainant by email")
        assert body.input_value() == f"Your reference is {reference}. You will hear by Monday 30 November 2026.\nolu"
        letter = tmp_path / "outcome letter.pdf"
        letter.write_bytes(b"%PDF-1.4 outcome")
        tab.get_by_label("Attach files").set_input_files(str(letter))
        tab.get_by_role("button", name="Preview reply").click()
        preview = tab.locator("#preview")
        assert "Monday 30 November 2026" in preview.locator("[data-preview-text]").inner_text()
        assert preview.get_by_role("link", name="outcome letter.pdf").count() == 1
        with Session(live.engine) as session:
            assert session.exec(select(OutboxItem).where(OutboxItem.purpose == "reply")).one().status is OutboxStatus.draft
        assert axe(tab) == [], "the case page with a preview"
        tab.get_by_role("button", name="Send reply").click()
        tab.wait_for_selector("p.done")
        assert "Reply queued to send." in tab.locator("p.done").inner_text()
    finally:
        officer.close()
    with Session(live.engine) as session:
        item = session.exec(select(OutboxItem).where(OutboxItem.purpose == "reply")).one()
        [file] = session.exec(select(Attachment).where(Attachment.outbox_id == item.id)).all()
    assert item.status is OutboxStatus.pending and (file.filename, file.content) == ("outcome letter.pdf", b"%PDF-1.4 outcome")


def test_two_officers_on_one_case_the_second_save_is_refused_and_nothing_is_overwritten(browser, page, live: Live) -> None:  # type: ignore[no-untyped-def]
    reference = open_case(live.engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    sign_in(page, live, "olu")
    page.goto(f"{live.url}/cases/{reference}")
    other = browser.new_context()
    sam = other.new_page()
    try:
        sign_in(sam, live, "sam")
        sam.goto(f"{live.url}/cases/{reference}")
        live.now.later(minutes=2)
        sam.locator("[data-more-actions] summary").click()
        sam.get_by_label("Learning and actions agreed").fill("Ring back within a day.")
        sam.get_by_role("button", name="Save").click()
        sam.wait_for_selector("p.done")
    finally:
        other.close()
    page.locator("[data-more-actions] summary").click()
    page.get_by_label("Learning and actions agreed").fill("Send the minutes.")
    page.get_by_role("button", name="Save").click()
    error = page.locator("p.error").inner_text()
    assert f"{reference} was changed by sam at 10:02 on Mon 23 Nov 2026" in error and "Nothing was saved" in error
    assert page.get_by_label("Learning and actions agreed").input_value() == "Send the minutes."
    assert saved(live, reference).learning == "Ring back within a day."
    assert axe(page) == [], "the case page with a refusal and the rare actions open"
