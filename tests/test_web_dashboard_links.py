"""The dashboard: every figure about cases links to the queue showing exactly those cases,
"due this week" is the next 5 working days, and a banner says when messages are not going out."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from models import Case, OutboxItem, Team, session_scope
from models.enums import Channel, Kind, OfficerRole, OutboxStatus, Reason, Role, SafeguardingLevel
from tests.web_helpers import Now, form, make_app, open_case, sign_in
from triage.intake import Suggestion

COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8, reasons=[Reason.communication], role=Role.parent_or_family)
NOW = datetime(2026, 12, 23, 10, tzinfo=UTC)  # Wed 23 Dec: the next 5 working days are 23, 24, 29, 30, 31 Dec


def received(d: int, month: int = 12) -> datetime:
    return datetime(2026, month, d, 9, tzinfo=UTC)


def queue_count(c, link: str) -> int:  # type: ignore[no-untyped-def]
    page = c.get(html.unescape(link))
    assert page.status_code == 200 and "Filter ignored" not in page.text, link
    return int(re.search(r'<span id="queue-count">(\d+) cases?\.</span>', page.text).group(1))  # type: ignore[union-attr]


def test_each_tile_and_table_figure_links_to_a_queue_of_exactly_that_many_cases(engine: Engine) -> None:
    now = Now(NOW)
    app = make_app(engine, now)
    open_case(engine, "Overdue.", received=received(2, 11), sender="a@example.org", suggestion=COMPLAINT)  # due 16 Nov
    open_case(engine, "Due Thu 31 Dec.", received=received(15), sender="b@example.org", suggestion=COMPLAINT)
    open_case(engine, "Due Mon 4 Jan.", received=received(16), sender="c@example.org", suggestion=COMPLAINT)
    open_case(engine, "Due Wed 23 Dec.", received=received(9), sender="d@example.org", suggestion=COMPLAINT)
    unsafe = open_case(engine, "He hits me.", received=received(21), sender="e@example.org",
                       suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.disclosure))
    open_case(engine, "I am scared.", received=received(22), sender="f@example.org",
              suggestion=Suggestion(kind=Kind.initial_feedback, safeguarding_level=SafeguardingLevel.possible))
    confirmed = open_case(engine, "Confirmed already.", received=received(10), sender="g@example.org", suggestion=COMPLAINT)
    with session_scope(engine) as session:
        team = Team(name="Leaving Care")
        session.add(team)
        session.flush()
        for ref in (unsafe, confirmed):
            session.exec(select(Case).where(Case.reference == ref)).one().team_id = team.id
    manager = sign_in(app, engine, "meg", OfficerRole.manager)
    form(manager, f"/queue/{confirmed}/triage", {"verdict": "as_suggested"})
    data = manager.get("/api/dashboard").json()
    assert (data["overdue"], data["due_this_week"], data["needs_review"]) == (1, 4, 6)
    assert (data["safeguarding_open"], data["safeguarding_possible"]) == (1, 1)
    assert data["due_until"] == "2026-12-31"
    page = manager.get("/").text
    assert "to Thu 31 Dec 2026" in page
    tiles = {
        "overdue": 1, "due-week": 4, "needs-review": 6, "safeguarding": 1, "safeguarding-possible": 1,
    }
    for tile, expected in tiles.items():
        link = re.search(rf'<a href="([^"]+)"><strong id="{tile}">(\d+)</strong>', page)
        assert link, f"the {tile} tile is not a link"
        assert int(link.group(2)) == expected
        assert queue_count(manager, link.group(1)) == expected, tile
    by_stage = re.findall(r'<a href="(/queue\?review=all&amp;stage=[a-z_0-9]+)">(\d+)<span', page)
    assert {html.unescape(link): int(n) for link, n in by_stage} == {
        "/queue?review=all&stage=stage_1": 6, "/queue?review=all&stage=initial_feedback": 1}
    for link, n in by_stage:
        assert queue_count(manager, link) == int(n)
    team_links = re.findall(r'<a href="(/queue\?review=all&amp;team=\d+(?:&amp;overdue=1)?)">(\d+)<span', page)
    assert [int(n) for _, n in team_links] == [2, 0]
    for link, n in team_links:
        assert queue_count(manager, link) == int(n)


@pytest.mark.parametrize(("today", "until"), [
    (datetime(2026, 11, 23, 10, tzinfo=UTC), "2026-11-27"),  # Monday: to Friday
    (datetime(2026, 11, 26, 10, tzinfo=UTC), "2026-12-02"),  # Thursday: Thu, Fri, Mon, Tue, Wed
    (datetime(2026, 11, 28, 10, tzinfo=UTC), "2026-12-04"),  # Saturday: the next working week
    (datetime(2027, 3, 25, 10, tzinfo=UTC), "2027-04-02"),   # Good Friday 26 Mar and Easter Monday 29 Mar skipped
])
def test_due_this_week_is_the_next_5_working_days(engine: Engine, today: datetime, until: str) -> None:
    officer = sign_in(make_app(engine, Now(today)), engine)
    assert officer.get("/api/dashboard").json()["due_until"] == until


# --- the delivery banner ----------------------------------------------------------------

def outbox(engine: Engine, n: int, status: OutboxStatus, created: datetime, channel: Channel = Channel.email,
           case_ref: str | None = None) -> None:
    with session_scope(engine) as session:
        case_id = session.exec(select(Case.id).where(Case.reference == case_ref)).one() if case_ref else None
        session.add(OutboxItem(idempotency_key=f"k:{n}", purpose="reply", channel=channel, recipient="p@example.org",
                               case_id=case_id, status=status, created_at=created, next_attempt_at=created,
                               last_error="550 no such user" if status is OutboxStatus.failed else ""))


def test_no_banner_when_mail_out_is_configured_and_everything_went(engine: Engine) -> None:
    outbox(engine, 1, OutboxStatus.sent, NOW - timedelta(hours=5))
    outbox(engine, 2, OutboxStatus.pending, NOW - timedelta(minutes=59))  # not an hour yet
    outbox(engine, 3, OutboxStatus.failed, NOW - timedelta(days=8))  # failed over a week ago: history, on its case
    outbox(engine, 4, OutboxStatus.suppressed, NOW - timedelta(hours=5))  # deliberately not sent
    page = sign_in(make_app(engine, Now(NOW)), engine).get("/").text
    assert "delivery-banner" not in page


def test_the_banner_says_mail_out_is_not_configured(engine: Engine) -> None:
    page = sign_in(make_app(engine, Now(NOW), mail_out_configured=False), engine).get("/").text
    assert 'id="delivery-banner"' in page and "Mail out is not configured" in page and "HEARD_RELAY_HOST" in page
    assert "outbox-failed" not in page and "outbox-waiting" not in page


def test_the_banner_names_the_cases_whose_messages_failed_this_week(engine: Engine) -> None:
    refs = [open_case(engine, f"Case {i}.", received=received(1 + i), sender=f"p{i}@example.org", suggestion=COMPLAINT) for i in range(7)]
    for i, ref in enumerate(refs):
        outbox(engine, i, OutboxStatus.failed, NOW - timedelta(days=6, hours=i), case_ref=ref)
    page = sign_in(make_app(engine, Now(NOW)), engine).get("/").text
    failed = re.search(r'<p id="outbox-failed">(.*?)</p>', page, re.S).group(1)  # type: ignore[union-attr]
    assert failed.startswith("7 messages could not be sent in the last 7 days")
    assert re.findall(r'href="/cases/([^"]+)"', failed) == refs[:5] and "and others" in failed
    assert "Mail out is not configured" not in page


def test_the_banner_says_how_long_unsent_messages_have_waited_and_on_which_channels(engine: Engine) -> None:
    outbox(engine, 1, OutboxStatus.pending, NOW - timedelta(hours=3, minutes=10))
    outbox(engine, 2, OutboxStatus.sending, NOW - timedelta(minutes=61), Channel.telegram)
    outbox(engine, 3, OutboxStatus.pending, NOW - timedelta(minutes=5))
    officer = sign_in(make_app(engine, Now(NOW)), engine)
    page = officer.get("/").text
    waiting = re.search(r'<p id="outbox-waiting">(.*?)</p>', page, re.S).group(1)  # type: ignore[union-attr]
    assert waiting.startswith("2 messages (email, telegram) have waited over an hour to be sent; the oldest 3 h 10 min.")
    data = officer.get("/api/dashboard").json()["delivery"]
    assert (data["waiting"], data["failed"], data["mail_out_configured"]) == (2, 0, True)
