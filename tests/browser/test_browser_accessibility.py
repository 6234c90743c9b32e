"""The main pages pass axe-core (the npm package, injected by Playwright) with no serious or
critical violations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from models.enums import Kind, OfficerRole, Reason, Role, SafeguardingLevel
from tests.browser.conftest import Live, missing, sign_in
from tests.helpers import ROOT
from tests.web_helpers import open_case
from triage.intake import Suggestion

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def axe(page) -> list[dict]:  # type: ignore[no-untyped-def]
    if not AXE.exists():
        missing(f"{AXE} is missing: run `npm ci` in {ROOT}")
    page.evaluate(Path(AXE).read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "where": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


def test_the_main_pages_have_no_serious_accessibility_problems(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    reference = open_case(live.engine, "Nobody rang me back about contact.", received=datetime(2026, 11, 16, 9, tzinfo=UTC),
                          suggestion=Suggestion(kind=Kind.complaint, confidence=0.7, reasons=[Reason.communication],
                                                role=Role.child_or_young_person, safeguarding_level=SafeguardingLevel.possible,
                                                signals=["model:0.20"]))
    open_case(live.engine, "He hits me.", sender="d@example.org",  # both markings, for their contrast
              suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.disclosure, signals=["self_harm"]))
    open_case(live.engine, "Thank you!", sender="t@example.org", suggestion=Suggestion(kind=Kind.compliment))
    page.goto(f"{live.url}/signin")
    assert axe(page) == [], "/signin"
    sign_in(page, live, "ada", OfficerRole.admin)
    for path in ("/", "/queue", "/queue?review=all&kind=grumble", f"/cases/{reference}", "/audit", "/admin/officers", "/admin/policy", "/admin/reply-templates",
                 "/search?q=contact", "/search?q=trampoline",
                 "/extensions", f"/queue?correct={reference}", "/representations/new", "/account",
                 "/retention", "/people", "/people?address=parent%40example.org", "/subject-access"):
        page.goto(f"{live.url}{path}")
        assert axe(page) == [], path
