"""Find anything in real Chromium: type into the header's box (on the queue, whose j/k/c/o
keys must not steal the letters), see the results in the app's layout, open the case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.enums import Kind
from tests.browser.conftest import Live, sign_in
from tests.web_helpers import open_case
from triage.intake import Suggestion

pytestmark = pytest.mark.browser


def test_an_officer_types_a_part_of_an_address_in_the_header_and_opens_the_case(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    wanted = open_case(live.engine, "Where are my savings? <b>Please</b> check.", sender="jocko.olga@example.org",
                       received=datetime(2026, 11, 18, 9, tzinfo=UTC), suggestion=Suggestion(kind=Kind.complaint, confidence=0.8))
    open_case(live.engine, "Nobody rang me back.", sender="other@example.net", suggestion=Suggestion(kind=Kind.complaint, confidence=0.8))
    sign_in(page, live)
    page.goto(f"{live.url}/queue")
    box = page.get_by_role("searchbox", name="Search cases")
    box.click()
    page.keyboard.type("jocko.olga@")
    assert box.input_value() == "jocko.olga@"  # every letter reached the box (none taken as a queue key)
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=jocko.olga%40")
    results = page.locator("li[data-result]")
    assert results.count() == 1
    assert "<b>Please</b>" in results.first.inner_text()  # shown as written, never as markup
    assert page.get_by_role("searchbox", name="Search cases").input_value() == "jocko.olga@"
    page.get_by_role("link", name=wanted).click()
    page.wait_for_url(f"**/cases/{wanted}")
