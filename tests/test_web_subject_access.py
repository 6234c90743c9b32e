"""Subject access in the officers' app: a manager records a request and sees it due on the
dashboard, downloads the answer (audited); officers mark a third party's details to withhold."""

from __future__ import annotations

import io
import json
import re
import zipfile

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import AuditEvent, Message, session_scope
from models.audit_chain import verify
from models.enums import OfficerRole
from tests.web_helpers import form, make_app, open_case, sign_in

STORY = "My son's foster carer Mrs Jones at 12 Elm Road will not let him call me."


def test_a_manager_records_a_request_sees_it_due_and_downloads_the_answer(engine: Engine) -> None:
    app = make_app(engine)  # today is Mon 23 Nov 2026
    reference = open_case(engine, STORY, sender="parent@example.org")
    manager = sign_in(app, engine, "meg", OfficerRole.manager)
    done = form(manager, "/subject-access", {"address": "parent@example.org", "received_on": "2026-10-31"}, page="/subject-access")
    assert done.status_code == 303
    dashboard = manager.get("/").text
    assert re.search(r"parent@example.org: due Mon 30 Nov 2026", dashboard)
    page = manager.get("/subject-access").text
    request_id = re.search(r'data-request="(\d+)"', page).group(1)  # type: ignore[union-attr]
    answer = manager.get(f"/subject-access/{request_id}/answer.zip")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    data = json.loads(zipfile.ZipFile(io.BytesIO(answer.content)).read("data.json"))
    assert [c["reference"] for c in data["cases"]] == [reference]
    assert form(manager, f"/subject-access/{request_id}/answered", {}, page="/subject-access").status_code == 303
    assert "Subject access requests due" not in manager.get("/").text
    with session_scope(engine) as session:
        actions = set(session.execute(sa.select(AuditEvent.action)).scalars())
        assert {"subject_access_requested", "subject_access_exported", "subject_access_answered"} <= actions
        assert verify(session).whole


def test_bad_requests_are_clear_refusals_and_officers_cannot_export(engine: Engine) -> None:
    app = make_app(engine)
    manager = sign_in(app, engine, "meg", OfficerRole.manager)
    future = form(manager, "/subject-access", {"address": "a@example.org", "received_on": "2027-01-01"}, page="/subject-access")
    assert future.status_code == 400 and "cannot be in the future" in future.text
    empty = form(manager, "/subject-access", {"address": "  ", "received_on": ""}, page="/subject-access")
    assert empty.status_code == 400 and "give an email address" in empty.text
    assert manager.get("/subject-access/999/answer.zip").status_code == 404
    assert manager.get("/subject-access/x/answer.zip").status_code == 404
    form(manager, "/subject-access", {"address": "ghost@example.org", "received_on": ""}, page="/subject-access")
    request_id = re.search(r'data-request="(\d+)"', manager.get("/subject-access").text).group(1)  # type: ignore[union-attr]
    nobody = manager.get(f"/subject-access/{request_id}/answer.zip")
    assert nobody.status_code == 404 and "nothing is held about" in nobody.text
    no_token = manager.post("/subject-access", data={"address": "a@example.org"})
    assert no_token.status_code == 403
    officer = sign_in(app, engine, "olu")
    assert officer.get("/subject-access").status_code == 403


def test_an_officer_marks_a_third_partys_details_and_the_answer_withholds_them(engine: Engine) -> None:
    app = make_app(engine)
    reference = open_case(engine, STORY, sender="parent@example.org")
    with session_scope(engine) as session:
        message_id = session.execute(sa.select(Message.id)).scalar_one()
    officer = sign_in(app, engine, "olu")
    page = f"/cases/{reference}"
    marking = f"/cases/{reference}/messages/{message_id}/withhold"
    assert f'href="{marking}"' in officer.get(page).text
    assert "Words to withhold" in officer.get(marking).text
    wrong = form(officer, marking, {"words": "Mr Smith", "reason": "x"}, page=marking)
    assert wrong.status_code == 400 and "does not contain" in wrong.text and 'value="Mr Smith"' in wrong.text
    assert officer.get(f"/cases/{reference}/messages/99999/withhold").status_code == 404
    assert officer.get(f"/cases/{reference}/messages/x/withhold").status_code == 404
    done = form(officer, marking, {"words": "Mrs Jones at 12 Elm Road", "reason": "the foster carer's name and address"}, page=marking)
    assert done.status_code == 303
    assert re.search(r"marked to withhold\s+— the foster carer&#39;s name and address", officer.get(page).text)
    manager = sign_in(app, engine, "meg", OfficerRole.manager)
    form(manager, "/subject-access", {"address": "parent@example.org", "received_on": ""}, page="/subject-access")
    request_id = re.search(r'data-request="(\d+)"', manager.get("/subject-access").text).group(1)  # type: ignore[union-attr]
    answer = zipfile.ZipFile(io.BytesIO(manager.get(f"/subject-access/{request_id}/answer.zip").content))
    data = json.loads(answer.read("data.json"))
    assert "[withheld]" in data["messages"][0]["text"] and len(data["withheld"]) == 2
    assert all(b"Elm Road" not in answer.read(name) for name in answer.namelist())
