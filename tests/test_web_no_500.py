"""No 500s (issue #14, item 8): each value that once gave an Internal Server Error now gets
a 4xx that says what is wrong, in the app's layout on pages and as JSON under /api/."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Message, Officer, Team, session_scope
from models.enums import Channel, Direction, Kind, OfficerRole, Reason, Role
from tests.web_helpers import case, client, form, make_app, open_case, sign_in
from triage.intake import Suggestion

THIRTY = "9" * 30
HUGE = [("²", "is not"), (THIRTY, THIRTY), (str(2**63 - 1), str(2**63 - 1))]
COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8, reasons=[Reason.communication], role=Role.parent_or_family)


def in_layout(response) -> bool:  # type: ignore[no-untyped-def]
    """An HTML page with the app's header and its error paragraph, not raw JSON."""
    return response.headers["content-type"].startswith("text/html") and '<header class="top">' in response.text \
        and 'class="error" role="alert"' in response.text


@pytest.mark.parametrize("name", ["page", "team", "owner"])
@pytest.mark.parametrize("value, named", HUGE)
def test_a_queue_filter_that_is_no_number_is_named_on_the_page_and_refused_by_the_api(engine: Engine, name: str, value: str, named: str) -> None:
    reference = open_case(engine, "Nobody rang me back.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    page = c.get("/queue", params={name: value})
    assert page.status_code == 200 and "Filter ignored — " in page.text and named in page.text
    assert reference in page.text  # the rest of the view still works
    api = c.get("/api/queue", params={name: value})
    assert api.status_code == 422 and name in api.json()["detail"]


def test_a_page_past_the_last_is_empty_not_an_error(engine: Engine) -> None:
    open_case(engine, "Nobody rang me back.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    assert c.get("/api/queue", params={"page": "100000"}).json()["items"] == []


@pytest.mark.parametrize("message_id", [THIRTY, str(2**31), "²", "0"])
def test_a_raw_download_of_a_message_that_cannot_exist_is_a_404(engine: Engine, message_id: str) -> None:
    reference = open_case(engine, "Nobody rang me back.")
    c = sign_in(make_app(engine), engine)
    response = c.get(f"/cases/{reference}/messages/{message_id}/raw")
    assert response.status_code == 404 and in_layout(response) and "no raw email for that message" in response.text


@pytest.mark.parametrize("field", ["owner", "team"])
@pytest.mark.parametrize("value, said", [(THIRTY, "is not the number of any"), ("2147483648", "is not the number of any"),
                                         ("999999", "no such"), ("²", "is not a number")])
def test_assigning_to_an_owner_or_team_that_does_not_exist_is_refused(engine: Engine, field: str, value: str, said: str) -> None:
    reference = open_case(engine, "Nobody rang me back.")
    c = sign_in(make_app(engine), engine)
    response = form(c, f"/cases/{reference}/assign", {field: value}, page=f"/cases/{reference}")
    assert response.status_code == 400 and said in response.text
    assert (case(engine, reference).owner_id, case(engine, reference).team_id) == (None, None)


@pytest.mark.parametrize("amount", ["1e308", "inf", "1e20", "nan", THIRTY, "-5"])
def test_compensation_that_is_not_an_amount_is_refused_and_nothing_changes(engine: Engine, amount: str) -> None:
    reference = open_case(engine, "Nobody rang me back.")
    c = sign_in(make_app(engine), engine)
    response = form(c, f"/cases/{reference}/remedies", {"compensation": amount, "learning": "x"}, page=f"/cases/{reference}")
    assert response.status_code == 400 and "is not an amount in pounds, like 150 or 150.00" in response.text
    assert f'value="{amount}"' in response.text  # what the officer typed is still in the form
    assert case(engine, reference).compensation_pence == 0 and case(engine, reference).learning == ""
    assert form(c, f"/cases/{reference}/remedies", {"compensation": "£1,250.50"}, page=f"/cases/{reference}").status_code == 303
    assert case(engine, reference).compensation_pence == 125050


def test_a_date_before_2000_is_refused_before_the_clock_counts_it(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine, "mo", OfficerRole.manager)
    response = form(c, f"/cases/{reference}/respond", {"outcome": "upheld", "on": "0001-01-01"}, page=f"/cases/{reference}")
    assert response.status_code == 400 and "before 2000" in response.text


def chat_app(engine: Engine):  # type: ignore[no-untyped-def]
    from bots.webchat import webchat_router
    from scheduler.policy import load_policy

    return make_app(engine, public_routers=[webchat_router(engine, load_policy(None), pause_seconds=60)])


def inbound(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(Message.text).where(Message.channel == Channel.webchat, Message.direction == Direction.inbound)))


@pytest.mark.parametrize("after", [THIRTY, str(2**63 - 1), "²"])
def test_a_chat_post_with_an_impossible_after_keeps_the_words_and_the_session(engine: Engine, after: str) -> None:
    someone = client(chat_app(engine))  # anonymous: no chat cookie yet
    response = someone.post("/chat", data={"text": "Nobody rang me back.", "once": "a1", "after": after},
                            headers={"accept": "application/json"})
    assert response.status_code == 400 and "Your message was kept" in response.json()["detail"]
    assert inbound(engine) == ["Nobody rang me back."]
    assert "__Host-heard_chat" in someone.cookies  # their chat goes on: the next poll finds the words
    assert "Nobody rang me back." in [m["text"] for m in someone.get("/chat/messages?after=0").json()["messages"]]
    again = someone.post("/chat", data={"text": "Still nothing.", "once": "a2", "after": after})  # the page without script
    assert again.status_code == 303 and inbound(engine) == ["Nobody rang me back.", "Still nothing."]


@pytest.mark.parametrize("after", [THIRTY, str(2**63 - 1), "²", "-1"])
def test_polling_the_chat_with_an_impossible_after_is_a_400(engine: Engine, after: str) -> None:
    someone = client(chat_app(engine))
    assert someone.post("/chat", data={"text": "Nobody rang me back.", "once": "a1"}).status_code == 303
    for who in (someone, client(chat_app(engine))):  # with the chat's cookie, and anonymous
        response = who.get("/chat/messages", params={"after": after})
        assert response.status_code == 400 and "after" in response.json()["detail"]


def test_a_nul_in_the_chat_is_dropped_and_the_words_kept(engine: Engine) -> None:
    someone = client(chat_app(engine))
    response = someone.post("/chat", data={"text": "Nobody\x00 rang me back.", "once": "a\x001"}, headers={"accept": "application/json"})
    assert response.status_code == 200
    assert inbound(engine) == ["Nobody rang me back."]


def admin_page(engine: Engine):  # type: ignore[no-untyped-def]
    c = sign_in(make_app(engine), engine, "ada", OfficerRole.admin)
    with session_scope(engine) as session:
        session.add(Team(name="Leaving Care"))
        olu = Officer(name="olu", role=OfficerRole.officer)
        session.add(olu)
        session.flush()
        return c, olu.id


@pytest.mark.parametrize("team, said", [("999", "there is no team numbered 999"), ("²", "is not a number"),
                                        (THIRTY, "is not the number of any team"), ("nope", "is not a number")])
def test_an_admin_cannot_put_an_officer_in_a_team_that_does_not_exist(engine: Engine, team: str, said: str) -> None:
    c, olu = admin_page(engine)
    response = form(c, f"/admin/officers/{olu}", {"role": "officer", "active": "1", "team": team}, page="/admin/officers")
    assert response.status_code == 400 and said in response.text and "<h1>Officers" in response.text
    with Session(engine) as session:
        assert session.get(Officer, olu).team_id is None  # type: ignore[union-attr]


@pytest.mark.parametrize("officer_id", [THIRTY, "2147483648", "²"])
def test_an_officer_id_that_cannot_exist_is_refused(engine: Engine, officer_id: str) -> None:
    c, _olu = admin_page(engine)
    response = form(c, f"/admin/officers/{officer_id}", {"role": "officer", "active": "1"}, page="/admin/officers")
    assert response.status_code == 400 and "officer" in response.text and "<h1>Officers" in response.text


def test_a_name_too_long_for_the_record_is_refused(engine: Engine) -> None:
    c, _olu = admin_page(engine)
    response = form(c, "/admin/officers", {"name": "x" * 10_000, "role": "officer"}, page="/admin/officers")
    assert response.status_code == 400 and "the name is 10,000 characters long; the most is 120" in response.text


@pytest.mark.parametrize("path", ["/reports?year=abc", "/reports/twenty.json", "/reports?year=" + THIRTY])
def test_a_report_year_that_is_not_one_is_a_page_not_json(engine: Engine, path: str) -> None:
    c = sign_in(make_app(engine), engine, "mo", OfficerRole.manager)
    response = c.get(path)
    assert response.status_code == 422 and in_layout(response) and "year" in response.text


@pytest.mark.parametrize("request_", [
    ("GET", "/queue", {"kind": "a\x00b"}), ("GET", "/audit", {"officer": "a\x00b"}),
    ("POST", "/cases/REF/note", {"text": "a\x00b"}), ("POST", "/cases/REF/remedies", {"learning": "a\x00b"}),
    ("POST", "/admin/officers", {"name": "a\x00b"}), ("POST", "/signin", {"name": "a\x00b", "password": "x"}),
])
def test_a_nul_character_is_refused_at_the_door(engine: Engine, request_: tuple[str, str, dict[str, str]]) -> None:
    method, path, data = request_
    reference = open_case(engine, "Nobody rang me back.")
    c = sign_in(make_app(engine), engine, "ada", OfficerRole.admin)
    path = path.replace("REF", reference)
    response = c.get(path, params=data) if method == "GET" else form(c, path, data, page="/")
    assert response.status_code == 400 and in_layout(response) and "NUL character" in response.text
    with Session(engine) as session:
        assert not session.exec(select(AuditEvent).where(AuditEvent.action == "note")).all()
    api = c.get("/api/queue", params={"kind": "\x00"})
    assert api.status_code == 400 and "NUL character" in api.json()["detail"]
