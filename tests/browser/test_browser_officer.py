"""An officer's morning in real Chromium: sign in, work the queue from the keyboard, correct a
triage, reply, extend (as a manager) and record an outcome."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from models import Case, Deadline, OutboxItem, StageRecord, TrainingLabel
from models.enums import DeadlineKind, Kind, OfficerRole, Outcome, Reason, Role, TriageState
from tests.browser.conftest import Live, sign_in
from tests.web_helpers import PASSWORD, add, open_case
from triage.intake import Suggestion

pytestmark = pytest.mark.browser

RECEIVED = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def suggestion(kind: Kind, reason: Reason, role: Role) -> Suggestion:
    return Suggestion(kind=kind, confidence=0.77, reasons=[reason], primary_reason=reason, role=role)


def saved(live: Live, reference: str) -> Case:
    with Session(live.engine) as session:
        return session.exec(select(Case).where(Case.reference == reference)).one()


def test_an_officer_signs_in_and_works_the_queue_from_the_keyboard(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    first = open_case(live.engine, "Nobody rang me back about contact.", received=RECEIVED,
                      suggestion=suggestion(Kind.complaint, Reason.communication, Role.parent_or_family))
    second = open_case(live.engine, "Where are my savings?", received=datetime(2026, 11, 18, 9, tzinfo=UTC), sender="r@example.org",
                       suggestion=suggestion(Kind.complaint, Reason.finance, Role.care_leaver))
    sign_in(page, live)
    page.get_by_role("link", name="Queue").click()
    rows = page.locator("tr[data-row]")
    assert rows.count() == 2
    assert rows.nth(0).locator("a[data-open]").inner_text() == first
    page.keyboard.press("j")
    page.keyboard.press("c")  # confirm the first row as suggested
    page.wait_for_selector("p.done")
    assert f"{first} confirmed." in page.locator("p.done").inner_text()
    assert saved(live, first).triage_state is TriageState.confirmed
    assert page.locator("tr[data-row]").count() == 1
    page.keyboard.press("j")
    page.keyboard.press("o")  # open the next case
    page.wait_for_url(f"**/cases/{second}")
    assert "Where are my savings?" in page.locator(".story").inner_text()


def test_an_officer_corrects_a_triage_in_one_step(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    reference = open_case(live.engine, "The minutes from the meeting were never sent.", received=RECEIVED,
                          suggestion=suggestion(Kind.complaint, Reason.delay, Role.other))
    sign_in(page, live)
    page.goto(f"{live.url}/queue")
    page.get_by_role("link", name=f"Correct {reference}").click()  # the correction form opens under its row, on demand
    page.get_by_label(f"Kind of {reference}").select_option("initial_feedback")
    page.get_by_label(f"Main reason of {reference}").select_option("communication")
    page.get_by_label(f"Who is writing, {reference}").select_option("parent_or_family")
    page.get_by_label(f"Who is writing, {reference}").press("Tab")
    page.keyboard.press("Tab")  # past the safeguarding box to Save correction
    page.keyboard.press("Enter")
    page.wait_for_selector("p.done")
    assert f"{reference} corrected." in page.locator("p.done").inner_text()
    case = saved(live, reference)
    assert (case.kind, case.complainant_role, case.primary_reason) == (Kind.initial_feedback, Role.parent_or_family, Reason.communication)
    with Session(live.engine) as session:
        fields = {label.field for label in session.exec(select(TrainingLabel))}
    assert fields == {"kind", "role", "primary_reason", "reasons"}


def test_an_officer_replies_and_sees_it_waiting_to_send(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    reference = open_case(live.engine, "Nobody rang me back.", received=RECEIVED, sender="mum@example.org", subject="contact",
                          suggestion=suggestion(Kind.complaint, Reason.communication, Role.parent_or_family))
    sign_in(page, live)
    page.goto(f"{live.url}/cases/{reference}")
    page.get_by_label("Reply to the complainant by email").fill("Sorry nobody rang. Sam will call you today before 4pm.")
    page.get_by_role("button", name="Preview reply").click()
    page.get_by_role("button", name="Send reply").click()  # after reading it as it will be sent
    page.wait_for_selector("p.done")
    assert "Reply queued to send." in page.locator("p.done").inner_text()
    assert "Sam will call you today before 4pm." in page.locator(".story").inner_text()
    with Session(live.engine) as session:
        reply = session.exec(select(OutboxItem).where(OutboxItem.purpose == "reply")).one()
    assert reply.recipient == "mum@example.org" and reply.body.startswith("Sorry nobody rang.")


def test_a_manager_extends_and_records_the_outcome(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    reference = open_case(live.engine, "Nobody rang me back.", received=RECEIVED,
                          suggestion=suggestion(Kind.complaint, Reason.communication, Role.child_or_young_person))
    sign_in(page, live, "meg", OfficerRole.manager)
    page.goto(f"{live.url}/cases/{reference}")
    page.get_by_role("button", name="Extend").click()  # no reason: refused, nothing lost
    assert "say why the deadline is extended" in page.locator("p.error").inner_text()
    page.get_by_label("Extend the stage 1 deadline").fill("to arrange an advocate")
    page.get_by_role("button", name="Extend").click()
    page.wait_for_selector("p.done")
    assert "Extended from Mon 30 Nov 2026: to arrange an advocate" in page.locator("table").first.inner_text()
    page.get_by_label("Outcome").select_option("partially_upheld")
    page.get_by_label("Sent on").fill("2026-11-20")
    page.get_by_label("Note", exact=True).fill("Apology and a new contact plan.")
    page.get_by_role("button", name="Record response").click()
    page.wait_for_selector("p.done")
    assert "stage 1: started Mon 16 Nov 2026, responded Fri 20 Nov 2026 — partially upheld" in page.locator("main").inner_text()
    with Session(live.engine) as session:
        record = session.exec(select(StageRecord)).one()
        stage_1 = session.exec(select(Deadline).where(Deadline.kind == DeadlineKind.stage_1)).one()
    assert record.outcome is Outcome.partially_upheld
    assert (stage_1.original_due_on, stage_1.due_on, stage_1.met_on) == (date(2026, 11, 30), date(2026, 12, 14), date(2026, 11, 20))


def test_a_new_admin_scans_the_qr_code_heard_draws_and_turns_on_two_factor(page, live) -> None:  # type: ignore[no-untyped-def]
    import pyotp

    add(live.engine, "ada", OfficerRole.admin, second_factor=False)
    page.goto(f"{live.url}/signin")
    page.get_by_label("Name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live.url}/account/two-factor**")
    qr = page.get_by_alt_text("QR code for your authenticator app")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the page's content policy lets it draw
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).at(live.now()))
    page.get_by_role("button", name="Turn on").click()
    assert page.locator("#recovery-codes li").count() == 10
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(f"{live.url}/")
    assert page.get_by_role("link", name="Officers").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live.url}/signin")
    page.goto(f"{live.url}/admin/officers")
    assert "/signin" in page.url  # signed out means signed out


def test_the_report_page_sits_in_the_app_with_its_navigation_and_styles(page, live) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live, "meg", OfficerRole.manager)
    page.get_by_role("link", name="Reports").click()
    page.wait_for_url(f"{live.url}/reports")
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").is_visible()
    heading = page.locator(".report-doc h3").first
    assert heading.evaluate("h => getComputedStyle(h).fontSize") == "18.4px"  # 1.15rem: the report's own style applies
    assert page.locator("header.top").evaluate("h => getComputedStyle(h).borderBottomWidth") != "8px"  # and only to the report
    page.get_by_role("link", name="Queue").click()
    page.wait_for_url(f"{live.url}/queue")
