"""The officers' report page: a year chooser, the report's tables and charts, and its downloads."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from scheduler import load_policy
from tests.test_import import SAMPLE, run_import
from reports.web import report_router


@pytest.fixture
def client(engine):  # type: ignore[no-untyped-def]
    run_import(engine, SAMPLE)
    app = FastAPI()
    app.include_router(report_router(engine, load_policy(), today=lambda: date(2026, 5, 15)))
    return TestClient(app)


def test_the_page_shows_the_chosen_years_tables_and_charts(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/reports", params={"year": 2024})
    assert page.status_code == 200
    assert "annual report 2024/25" in page.text
    assert '<option value="2024" selected>2024/25</option>' in page.text
    assert "<h3 id=\"outcomes_stage_1\">Stage 1: outcomes</h3>" in page.text
    assert page.text.count("<svg ") >= 5
    assert re.search(r'<th scope="col">2024/25</th><th scope="col">2023/24</th>', page.text)


def test_the_page_offers_every_year_with_records_and_defaults_to_the_last_complete_one(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/reports")
    assert page.status_code == 200
    assert '<option value="2025" selected>2025/26</option>' in page.text
    options = re.findall(r'<option value="(\d{4})"', page.text)
    assert options == ["2026", "2025", "2024"]


def test_the_download_links_give_the_same_report_as_html_csv_and_json(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/reports", params={"year": 2025}).text
    links = dict(re.findall(r'<a href="([^"]+)" download>(web page|tables|data)', page))
    assert {v: k.rsplit("/", 1)[-1] for k, v in links.items()} == {"web page": "2025.html", "tables": "2025.csv.zip", "data": "2025.json"}
    by_name = {v: k for k, v in links.items()}

    html = client.get(by_name["web page"])
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.headers["content-disposition"] == 'attachment; filename="complaints-annual-report-2025-26.html"'
    assert html.text.startswith("<!doctype html>") and "<form" not in html.text

    zipped = client.get(by_name["tables"])
    assert zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        assert "01_volumes.csv" in archive.namelist()

    data = client.get(by_name["data"])
    assert data.headers["content-type"] == "application/json"
    body = json.loads(data.text)
    assert body["year"] == "2025/26"
    stage_1 = body["tables"]["volumes"]["rows"][1]
    assert stage_1["label"] == "Complaints at stage 1"
    assert f'<td class="current">{stage_1["values"]["number"]["current"]:,}</td>' in html.text


@pytest.mark.parametrize("path", ["/reports/twenty.json", "/reports/1066.html", "/reports?year=abc"])
def test_a_year_that_is_not_one_is_refused(client, path: str) -> None:  # type: ignore[no-untyped-def]
    assert client.get(path).status_code == 422


def test_in_the_officers_app_the_report_page_keeps_the_apps_navigation(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    from models.enums import OfficerRole
    from tests.web_helpers import make_app, sign_in

    run_import(sqlite_engine, SAMPLE)
    manager = sign_in(make_app(sqlite_engine), sqlite_engine, "meg", OfficerRole.manager)
    page = manager.get("/reports?year=2025").text
    assert '<nav aria-label="Main">' in page and '<a href="/queue">Queue</a>' in page and "Sign out" in page
    assert '<div class="report-doc">' in page and "<h3 id=\"outcomes_stage_1\">" in page
    assert ".report-doc{" in page  # the report's styles apply to the report alone
