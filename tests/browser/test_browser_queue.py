"""A working day at the queue in real Chromium at 1366 × 768: 15 rows and more on one screen,
confirm and correct in place, bulk assign, the new-reply marker, the managers' extension
requests, and a dashboard whose tiles lead to their queue and which says when mail is not
going out. Every page and state here passes axe-core.

The run keeps a screenshot of the queue at 1366 × 768: var/test-artefacts/queue-1366x768.png
(var/ is not in git)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from models import AuditEvent, Case, Message, Officer, session_scope
from models.enums import Channel, Direction, Kind, MessageState, OfficerRole, Reason, Role, SafeguardingLevel, TriageState
from tests.browser.conftest import Live, serving, sign_in
from tests.browser.test_browser_accessibility import axe
from tests.helpers import ROOT
from tests.web_helpers import PASSWORD, Now, add, make_app, open_case
from triage.intake import Suggestion

pytestmark = pytest.mark.browser

SCREENSHOT = ROOT / "var" / "test-artefacts" / "queue-1366x768.png"
OPENINGS = [
    "Nobody rang me back about contact with my son for three weeks and I am really worried about what is happening to him",
    "Where are my savings? I was told I would get them when I turned 18 and nothing has happened since then",
    "My foster carer treats me differently from her own children and nobody listens when I say so",
    "The minutes from the meeting were never sent and the decision was made without us there",
]


def suggestion(i: int) -> Suggestion:
    level = SafeguardingLevel.disclosure if i == 0 else SafeguardingLevel.possible if i == 1 else None
    return Suggestion(kind=Kind.complaint, confidence=0.81, reasons=[Reason.communication, Reason.delay],
                      primary_reason=Reason.communication, role=Role.parent_or_family, safeguarding_level=level,
                      signals=["model:0.20"] if level else [], detail={"confidence": {"reasons": 0.7, "role": 0.66}})


def a_working_day(live: Live, cases: int = 24) -> list[str]:
    """A queue as an officer finds it on a Monday: flags, overdue, due today, due soon, the rest."""
    return [open_case(live.engine, OPENINGS[i % 4], received=datetime(2026, 11, 2, 9, tzinfo=UTC) + timedelta(days=i),
                      sender=f"person{i}@example.org", suggestion=suggestion(i)) for i in range(cases)]


@pytest.fixture
def wide(browser):  # type: ignore[no-untyped-def]
    """A tab the size of a council laptop's screen."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def saved(live: Live, reference: str) -> Case:
    with Session(live.engine) as session:
        return session.exec(select(Case).where(Case.reference == reference)).one()


def test_fifteen_rows_and_more_fit_a_1366_by_768_screen_and_a_screenshot_is_kept(wide, live: Live) -> None:  # type: ignore[no-untyped-def]
    refs = a_working_day(live)
    sign_in(wide, live)
    wide.goto(f"{live.url}/queue")
    rows = wide.locator("tr[data-row]")
    assert rows.count() == len(refs)
    on_screen = wide.evaluate("() => [...document.querySelectorAll('tr[data-row]')]"
                              ".filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length")
    assert on_screen >= 15, f"only {on_screen} rows fit at 1366 × 768"
    assert wide.evaluate("() => document.documentElement.scrollWidth") <= 1366  # nothing runs off to the side
    # the reference never wraps: one line box per reference
    assert wide.evaluate("() => [...document.querySelectorAll('a[data-open]')].every(a => a.getClientRects().length === 1)")
    headers = wide.locator("table.queue thead th").all_inner_texts()
    for column in ("Case", "Received", "Opening words", "Suggested", "Owner", "Status", "Due (working days)"):
        assert column in headers
    badges = {b: wide.locator(f".badge.b-{b}").count() for b in ("overdue", "today", "soon")}
    assert all(badges.values()), badges  # each kind of urgency is on the screen
    assert wide.locator("tr[data-row]").first.locator("[data-flag=disclosure]").is_visible()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    wide.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
    assert axe(wide) == [], "/queue"


def test_fifteen_rows_fit_for_an_admin_too_whose_navigation_is_longest(wide, live: Live) -> None:  # type: ignore[no-untyped-def]
    a_working_day(live)
    sign_in(wide, live, "ada", OfficerRole.admin)
    wide.goto(f"{live.url}/queue")
    on_screen = wide.evaluate("() => [...document.querySelectorAll('tr[data-row]')]"
                              ".filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length")
    assert on_screen >= 15, f"only {on_screen} rows fit at 1366 × 768 under an admin's navigation"


def test_a_row_is_confirmed_with_one_click_and_corrected_in_a_form_opened_under_it(wide, live: Live) -> None:  # type: ignore[no-untyped-def]
    first, second, third = a_working_day(live, 3)
    sign_in(wide, live)
    wide.goto(f"{live.url}/queue")
    assert wide.locator("select[name=kind]").count() == 1  # the filter's only: no form per row
    wide.get_by_role("button", name=f"Confirm {third} as suggested").click()
    wide.wait_for_selector("p.done")
    assert f"{third} confirmed." in wide.locator("p.done").inner_text()
    assert saved(live, third).triage_state is TriageState.confirmed
    wide.get_by_role("link", name=f"Correct {second}").click()
    wide.wait_for_selector("#correct")
    assert wide.get_by_label(f"Kind of {second}").evaluate("e => e === document.activeElement")  # ready to type
    assert wide.locator("#correct").evaluate(  # right under its own row
        "r => r.previousElementSibling.querySelector('a[data-open]').textContent") == second
    assert axe(wide) == [], "/queue?correct="
    wide.get_by_label(f"Safeguarding, {second}").select_option("")
    wide.get_by_label(f"Who is writing, {second}").select_option("foster_carer")
    wide.get_by_role("button", name="Save correction").click()
    wide.wait_for_selector("p.done")
    assert f"{second} corrected." in wide.locator("p.done").inner_text()
    case = saved(live, second)
    assert (case.complainant_role, case.safeguarding_level, case.triage_state) == (Role.foster_carer, None, TriageState.confirmed)
    assert wide.locator("#correct").count() == 0


def test_ticked_rows_are_assigned_to_one_officer_in_one_submit(wide, live: Live) -> None:  # type: ignore[no-untyped-def]
    refs = a_working_day(live, 5)
    add(live.engine, "sam")
    sign_in(wide, live)
    wide.goto(f"{live.url}/queue")
    wide.get_by_label(f"Tick {refs[2]}").check()
    wide.keyboard.press("j")  # the next row ...
    wide.keyboard.press("x")  # ... ticked from the keyboard
    wide.get_by_label("Assign ticked cases to").select_option(label="sam")
    wide.get_by_role("button", name="Assign", exact=True).click()
    wide.wait_for_selector("p.done")
    assert "2 cases assigned to sam." in wide.locator("p.done").inner_text()
    with Session(live.engine) as session:
        sam = session.exec(select(Officer.id).where(Officer.name == "sam")).one()
        owners = {r: session.exec(select(Case.owner_id).where(Case.reference == r)).one() for r in refs}
        assigned = session.exec(select(AuditEvent).where(AuditEvent.action == "assigned")).all()
    assert {r for r, o in owners.items() if o == sam} == {refs[2], refs[3]}
    assert len(assigned) == 2 and all(e.actor == "olu" for e in assigned)
    assert axe(wide) == [], "/queue after assigning"
    wide.get_by_label("Tick every case on this page").check()  # the box at the top ticks them all
    assert wide.locator("[data-pick]:checked").count() == 5
    wide.get_by_label("Assign ticked cases to").select_option(label="nobody (unassign)")
    wide.get_by_role("button", name="Assign", exact=True).click()
    wide.wait_for_selector("p.done")
    assert "5 cases assigned to nobody." in wide.locator("p.done").inner_text()
    assert all(saved(live, r).owner_id is None for r in refs)


def test_a_case_with_a_reply_since_its_owner_last_opened_it_is_marked_until_they_do(wide, live: Live) -> None:  # type: ignore[no-untyped-def]
    quiet, replied = a_working_day(live, 4)[2:]
    olu = add(live.engine, "olu")
    with session_scope(live.engine) as session:
        for ref in (quiet, replied):
            session.exec(select(Case).where(Case.reference == ref)).one().owner_id = olu
        replied_id = session.exec(select(Case.id).where(Case.reference == replied)).one()
        at = live.now() - timedelta(minutes=5)
        session.add(Message(dedupe_key="reply-1", channel=Channel.email, direction=Direction.inbound, state=MessageState.processed,
                            case_id=replied_id, sender="person3@example.org", text="Any news?", received_at=at, processed_at=at))
    page = wide
    page.goto(f"{live.url}/")
    page.get_by_label("Name").fill("olu")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live.url}/")
    page.get_by_role("link", name="My cases").click()
    marked = page.locator("tr[data-row]:has([data-new-activity])")
    assert marked.count() == 1 and marked.locator("a[data-open]").inner_text() == replied
    assert marked.locator("[data-new-activity]").inner_text() == "New reply" and marked.locator("[data-new-activity]").is_visible()
    assert axe(page) == [], "My cases with a new reply"
    marked.locator("a[data-open]").click()
    page.wait_for_url(f"**/cases/{replied}")
    page.get_by_role("link", name="My cases").click()
    assert page.locator("[data-new-activity]").count() == 0


def test_a_manager_decides_extension_requests_from_one_list(wide, live: Live) -> None:  # type: ignore[no-untyped-def]
    first, second = a_working_day(live, 4)[2:]
    from tests.web_helpers import form, sign_in as sign_in_client

    officer = sign_in_client(make_app(live.engine, live.now), live.engine, "olu")
    for ref, why in ((first, "waiting for the advocate"), (second, "the team manager is away")):
        form(officer, f"/cases/{ref}/extend", {"reason": why}, page=f"/cases/{ref}")
    sign_in(wide, live, "meg", OfficerRole.manager)
    wide.get_by_role("link", name="Extensions").click()
    wide.wait_for_url(f"{live.url}/extensions")
    assert wide.locator("tr[data-request]").count() == 2
    assert axe(wide) == [], "/extensions"
    wide.get_by_label(f"Reason the complainant is told, {first}").fill("to arrange an advocate for you")
    wide.get_by_role("button", name=f"Approve {first}").click()
    wide.wait_for_selector("p.done")
    assert f"{first} approved" in wide.locator("p.done").inner_text()
    wide.get_by_label(f"Note for the officer, {second}").fill("there is still time")
    wide.get_by_role("button", name=f"Decline {second}").click()
    wide.wait_for_selector("p.done")
    assert wide.locator("tr[data-request]").count() == 0 and "No extension requests are waiting." in wide.locator("main").inner_text()
    assert axe(wide) == [], "/extensions, none waiting"
    with Session(live.engine) as session:
        from models import Deadline

        extended = session.exec(select(Deadline).where(Deadline.original_due_on.is_not(None))).all()
    assert [d.extension_reason for d in extended] == ["to arrange an advocate for you"]


def test_dashboard_tiles_open_their_queue_with_the_same_count(wide, live: Live) -> None:  # type: ignore[no-untyped-def]
    a_working_day(live, 12)
    sign_in(wide, live, "meg", OfficerRole.manager)
    assert axe(wide) == [], "/"
    for tile in ("overdue", "due-week", "needs-review", "safeguarding", "safeguarding-possible"):
        wide.goto(f"{live.url}/")
        shown = int(wide.locator(f"#{tile}").inner_text())
        wide.locator(f"a:has(#{tile})").click()
        wide.wait_for_url(f"{live.url}/queue**")
        assert wide.locator("#queue-count").inner_text().startswith(f"{shown} case"), tile
        assert wide.locator("tr[data-row]").count() == shown, tile


def test_the_dashboard_says_when_mail_is_not_going_out(wide, sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    from models import OutboxItem
    from models.enums import OutboxStatus

    now = Now()
    live = Live("", sqlite_engine, now)
    reference = open_case(sqlite_engine, "Nobody rang me back.", received=now() - timedelta(days=2))
    with session_scope(sqlite_engine) as session:
        case_id = session.exec(select(Case.id).where(Case.reference == reference)).one()
        session.add(OutboxItem(idempotency_key="failed-1", purpose="reply", channel=Channel.email, recipient="p@example.org",
                               case_id=case_id, status=OutboxStatus.failed, last_error="550 no such user",
                               created_at=now() - timedelta(days=1), next_attempt_at=now() - timedelta(days=1)))
    with serving(make_app(sqlite_engine, now, mail_out_configured=False)) as url:
        live.url = url
        sign_in(wide, live)
        banner = wide.locator("#delivery-banner")
        assert banner.is_visible()
        assert "Mail out is not configured" in banner.inner_text()
        assert "1 message could not be sent in the last 7 days" in banner.inner_text()
        assert "waited over an hour" in banner.inner_text()  # the acknowledgement has waited since it was written
        assert axe(wide) == [], "/ with the delivery banner"
        banner.get_by_role("link", name=reference).click()
        wide.wait_for_url(f"**/cases/{reference}")
