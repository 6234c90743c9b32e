"""Every form and every API change is refused without the CSRF token that Heard's own pages
carry, and works with it; every page is sent with headers that stop injected content."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import Engine

from models.enums import OfficerRole
from tests.test_web_auth import every_route
from tests.web_helpers import PASSWORD, add, client, csrf_token, make_app, open_case, sign_in

FORBIDDEN = "This form has expired or did not come from Heard."


def post_routes(app):  # type: ignore[no-untyped-def]
    return sorted({route.path for route in every_route(app.routes) if "POST" in route.methods})


def test_every_post_route_refuses_a_request_without_the_token(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    reference = open_case(sqlite_engine, "Nobody rang me back.")
    c = sign_in(app, sqlite_engine, "ada", OfficerRole.admin)
    paths = post_routes(app)
    assert len(paths) >= 17
    for path in paths:
        path = path.replace("{reference}", reference).replace("{officer_id}", "1")
        for data in ({}, {"csrf_token": "0" * 64}, {"csrf_token": ""}):
            response = c.post(path, data={**data, "note": "x", "text": "x", "reason": "x"})
            assert response.status_code == 403, (path, data, response.status_code)
            assert FORBIDDEN in response.text
        json_call = c.post(path, json={"kind": "complaint"})
        assert json_call.status_code == 403, path


def test_a_token_from_another_browser_is_refused(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    reference = open_case(sqlite_engine, "Nobody rang me back.")
    victim = sign_in(app, sqlite_engine, "olu")
    attacker = client(app)
    stolen = csrf_token(attacker)  # valid for the attacker's own cookie only
    response = victim.post(f"/cases/{reference}/note", data={"text": "planted", "csrf_token": stolen})
    assert response.status_code == 403


def test_the_page_token_lets_the_form_through(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    reference = open_case(sqlite_engine, "Nobody rang me back.")
    c = sign_in(app, sqlite_engine, "olu")
    page = c.get(f"/cases/{reference}")
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', page.text))
    assert len(tokens) == 1  # every form on the page carries it
    forms = page.text.count("<form method=\"post\"")
    assert page.text.count('name="csrf_token"') == forms
    response = c.post(f"/cases/{reference}/note", data={"text": "rang back", "csrf_token": tokens.pop()})
    assert response.status_code == 303


def test_sign_in_itself_needs_the_token(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    add(sqlite_engine, "olu")
    c = client(app)
    c.get("/signin")
    assert c.post("/signin", data={"name": "olu", "password": PASSWORD}).status_code == 403


def test_the_api_takes_the_token_as_a_header(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    reference = open_case(sqlite_engine, "Nobody rang me back.")
    c = sign_in(app, sqlite_engine, "olu")
    body = {"kind": "complaint", "reasons": ["communication"], "role": "parent_or_family"}
    assert c.post(f"/api/cases/{reference}/triage", json=body).status_code == 403
    token = c.get("/api/me").json()["csrf_token"]
    response = c.post(f"/api/cases/{reference}/triage", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 200
    assert set(response.json()["corrected"]) == {"kind", "reasons", "primary_reason", "role"}


@pytest.mark.parametrize("path", ["/signin", "/queue", "/healthz"])
def test_pages_forbid_inline_scripts_framing_and_sniffing(sqlite_engine: Engine, path: str) -> None:
    c = sign_in(make_app(sqlite_engine), sqlite_engine)
    headers = c.get(path).headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
