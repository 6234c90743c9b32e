"""Hostile representations are shown inert in real Chromium: script tags, event handlers and
hostile HTML email become visible text, nothing runs and nothing is fetched."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlmodel import Session

from bots.email.processor import EmailProcessor
from models import Case, Message, session_scope
from models.enums import Channel, Direction, Kind, Reason, Role
from scheduler.clock import Clock
from scheduler.policy import load_policy
from tests.browser.conftest import Live, sign_in
from tests.web_helpers import LONDON, open_case
from triage.intake import Suggestion

pytestmark = pytest.mark.browser

HOSTILE_HTML = """<html><head><meta http-equiv="refresh" content="0;url=https://evil.example/"><style>body{display:none}</style>
<script>window.__pwned = 'script'</script></head>
<body onload="window.__pwned='onload'"><p>My placement is 40 miles from school.</p>
<img src="https://evil.example/track.gif" onerror="window.__pwned='img'">
<svg onload="window.__pwned='svg'"></svg><iframe src="javascript:parent.__pwned='iframe'"></iframe>
<a href="javascript:window.__pwned='link'">read more</a><form action="https://evil.example/"><input name=x></form>
</body></html>"""
PLAIN = ("Nobody listens <script>window.__pwned='plain'</script> "
         "<img src=x onerror=\"window.__pwned='plain-img'\"> <b onmouseover=\"window.__pwned='hover'\">hover me</b>")

CHECK = """() => {
  const handlers = [...document.querySelectorAll('*')].filter(el => [...el.attributes].some(a => a.name.startsWith('on')));
  const scripts = [...document.querySelectorAll('script')].filter(s => s.getAttribute('src') !== '/static/heard.js');
  const frames = document.querySelectorAll('iframe, object, embed, svg, img').length;
  const jsLinks = [...document.querySelectorAll('a')].filter(a => a.getAttribute('href')?.trim().toLowerCase().startsWith('javascript:'));
  return {pwned: window.__pwned ?? null, handlers: handlers.length, scripts: scripts.length, frames, jsLinks: jsLinks.length};
}"""


def email_through_intake(live: Live) -> str:
    """A hostile HTML-only email, stored raw and processed by the real email adapter."""
    msg = EmailMessage()
    msg["From"], msg["To"] = "ellie@example.org", "complaints@heard.localhost"
    msg["Subject"] = "<img src=x onerror=\"window.__pwned='subject'\"> my placement"
    msg["Message-ID"] = "<hostile-1@example.org>"
    msg.set_content(HOSTILE_HTML, subtype="html")
    with session_scope(live.engine) as session:
        stored = Message(dedupe_key="test:hostile-1", channel=Channel.email, direction=Direction.inbound, raw_bytes=msg.as_bytes(),
                         sender="ellie@example.org", external_id="<hostile-1@example.org>",
                         received_at=datetime(2026, 11, 20, 9, tzinfo=UTC))
        session.add(stored)
        session.flush()
        message_id = stored.id
    processor = EmailProcessor(live.engine, Clock(load_policy(None)), LONDON, ["complaints@heard.localhost"],
                               now=lambda: datetime(2026, 11, 20, 9, 1, tzinfo=UTC))
    processor.process(message_id)
    processor.worker.shutdown()
    with Session(live.engine) as session:
        case_id = session.get(Message, message_id).case_id  # type: ignore[union-attr]
        return session.get(Case, case_id).reference  # type: ignore[union-attr]


def test_hostile_html_email_and_script_in_text_are_shown_inert(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    html_case = email_through_intake(live)
    text_case = open_case(live.engine, PLAIN, received=datetime(2026, 11, 19, 9, tzinfo=UTC), sender="x@example.org",
                          subject="<script>window.__pwned='subject'</script>",
                          suggestion=Suggestion(kind=Kind.complaint, reasons=[Reason.voice_not_heard], role=Role.child_or_young_person))
    dialogs: list[str] = []
    outside: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live.url) else None)
    sign_in(page, live)
    for path in ("/queue", f"/cases/{html_case}", f"/cases/{text_case}", "/"):
        page.goto(f"{live.url}{path}")
        for element in page.locator(".text, td.words, .subject").all():
            element.hover()  # mouseover handlers would fire here, if any had survived
        assert page.evaluate(CHECK) == {"pwned": None, "handlers": 0, "scripts": 0, "frames": 0, "jsLinks": 0}, path
    page.goto(f"{live.url}/cases/{html_case}")
    body = page.locator(".story li.in .text").first.inner_text()
    assert "My placement is 40 miles from school." in body
    assert "window.__pwned" not in body  # the email's script was dropped when it was turned into text
    assert "onerror=\"window.__pwned='subject'\"> my placement" in page.locator(".story .subject").first.inner_text()
    page.goto(f"{live.url}/cases/{text_case}")
    assert "<script>window.__pwned='plain'</script>" in page.locator(".story").inner_text()  # shown, as text
    assert dialogs == [] and outside == []
