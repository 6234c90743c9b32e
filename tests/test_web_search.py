"""Find anything in the officers' app: the header's box on every signed-in page, /search,
GET /api/search, the audit of every search, and hostile queries answered without a 500."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent
from models.enums import Kind, OfficerRole
from tests.web_helpers import client, make_app, open_case, sign_in
from triage.intake import Suggestion

COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8)


def test_every_signed_in_page_has_the_search_box_and_strangers_get_none(engine: Engine) -> None:
    app = make_app(engine)
    assert 'role="search"' not in client(app).get("/signin").text
    assert client(app).get("/search?q=x").status_code == 303  # sign in first
    assert client(app).get("/api/search?q=x").status_code == 401
    c = sign_in(app, engine, "mo", OfficerRole.manager)
    for path in ("/", "/queue", "/account", "/audit", "/search", "/reports"):
        page = c.get(path).text
        assert re.search(r'<form method="get" action="/search" role="search"', page), path
        assert 'name="q"' in page and "Search cases</label>" in page, path


def test_the_results_page_links_each_case_and_escapes_what_people_wrote(engine: Engine) -> None:
    reference = open_case(engine, "My <script>alert(1)</script> savings never came.", sender="olga@example.org",
                          suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    page = c.get("/search", params={"q": "olga@"}).text
    assert f'<a href="/cases/{reference}">{reference}</a>' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; savings" in page and "<script>alert" not in page
    assert 'value="olga@"' in page  # the box keeps the words
    assert "1 case for" in page
    assert "Nothing matches" in c.get("/search", params={"q": "trampoline"}).text


def test_the_api_gives_reference_snippet_kind_status_and_day(engine: Engine) -> None:
    reference = open_case(engine, "Where are my savings? I asked four times.", sender="olga@example.org", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    data = c.get("/api/search", params={"q": reference.rsplit("-", 1)[1]}).json()
    assert data == {"results": [{"reference": reference, "snippet": "Where are my savings? I asked four times.",
                                 "kind": "complaint", "status": "open", "received_on": "2026-11-23"}]}
    assert c.get("/api/search", params={"q": "   "}).json() == {"results": []}
    assert "/api/search" in c.get("/api/openapi.json").json()["paths"]


def test_every_search_is_audited_with_what_was_searched_for(engine: Engine) -> None:
    open_case(engine, "Where are my savings?", sender="olga@example.org", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    c.get("/search", params={"q": "olga@"})
    c.get("/api/search", params={"q": "Okonkwo"})
    c.get("/search", params={"q": "y" * 10_000})
    c.get("/search")  # an empty box is not a search
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "searched").order_by(AuditEvent.id)).all()
    assert [(e.actor, e.case_id) for e in events] == [("olu", None)] * 3
    assert events[0].detail == {"query": "olga@", "length": 5, "results": 1, "via": "page"}
    assert events[1].detail == {"query": "Okonkwo", "length": 7, "results": 0, "via": "api"}
    assert events[2].detail["length"] == 10_000 and len(events[2].detail["query"]) == 500


HOSTILE = ['"', "*", "NEAR(a b)", "-x", "(", ")", "a:b", "😀", "x" * 10_000, "'; DROP TABLE message; --", "%", "\\", "&|!:*"]


@pytest.mark.parametrize("q", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_are_answered_not_failed(engine: Engine, q: str) -> None:
    open_case(engine, "Where are my savings?", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    assert c.get("/search", params={"q": q}).status_code == 200
    assert c.get("/api/search", params={"q": q}).status_code == 200


def test_a_nul_is_refused_with_a_sentence_not_a_500(engine: Engine) -> None:
    c = sign_in(make_app(engine), engine)
    page = c.get("/search", params={"q": "sav\x00ings"})
    assert page.status_code == 400 and "remove it and try again" in page.text  # a page in the app's layout
    assert c.get("/api/search", params={"q": "\x00"}).status_code == 400
