"""The officers' report page: choose a year, read the report, download it (HTML, CSV zip, JSON).

`report_router` is mounted by the officers' web app behind sign-in; it holds no state of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup
from sqlalchemy.engine import Engine

from scheduler.policy import Policy
from reports import queries
from reports.compute import build_report
from reports.exports import to_csv_zip, to_json
from reports.html import STYLE, render_body, render_document
from reports.model import AnnualReport, FinancialYear

CONTROLS_STYLE = """form.chooser{display:flex;gap:.6rem;align-items:end;flex-wrap:wrap;margin:0 0 1rem}
.downloads{background:#f3f2f1;padding:.8rem 1rem;margin:0 0 1.5rem}.downloads a{margin-right:1.2rem}"""

CONTROLS = """<form class="chooser" method="get" action="{{ page_url }}">
  <label for="year">Financial year</label>
  <select id="year" name="year">{% for y in years %}<option value="{{ y.start }}"{% if y.start == report.year.start %} selected{% endif %}>{{ y.label }}</option>{% endfor %}</select>
  <button type="submit">Show report</button>
</form>
<p class="downloads">Download the {{ report.year.label }} report:
  <a href="{{ links.html }}" download>web page (HTML, ready to publish)</a>
  <a href="{{ links.csv }}" download>tables (CSV, zipped)</a>
  <a href="{{ links.json }}" download>data (JSON)</a></p>"""

PAGE = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Annual report {{ report.year.label }} – Heard</title><style>{{ style }}</style></head>
<body><main>{{ controls }}{{ body }}</main></body></html>"""

ENV = Environment(loader=DictLoader({"page": PAGE, "controls": CONTROLS}), autoescape=select_autoescape(default=True, default_for_string=True))

# The page as a host app shows it in its own layout: (request, context) -> response. The context
# has `report`, `controls` (year chooser and downloads), `body` and `style` (scoped to `.report-doc`).
PageRenderer = Callable[[Request, dict[str, Any]], Response]


def scoped(style: str) -> Markup:
    """The report's stylesheet nested under `.report-doc`, so inside another app's layout it styles
    the report and nothing else (CSS nesting; `body`/`main` rules then match nothing)."""
    return Markup(f".report-doc{{{style}{CONTROLS_STYLE}}}")


def report_router(
    engine: Engine,
    policy: Policy,
    *,
    tz: ZoneInfo | None = None,
    today: Callable[[], date] | None = None,
    suppress_below: int = 5,
    page: PageRenderer | None = None,
) -> APIRouter:
    """GET /reports?year=YYYY (the page) and /reports/{year}.html|.csv.zip|.json (downloads).
    With `page`, the host app draws the page in its own layout (keeping its navigation);
    without it, the page stands alone."""
    zone = tz or ZoneInfo("Europe/London")
    clock_today = today or (lambda: datetime.now(UTC).astimezone(zone).date())
    router = APIRouter(tags=["reports"])

    def build(year: int) -> AnnualReport:
        return build_report(engine, policy, year, today=clock_today(), tz=zone, suppress_below=suppress_below)

    def file_name(report: AnnualReport, extension: str) -> dict[str, str]:
        name = f"complaints-annual-report-{report.year.label.replace('/', '-')}.{extension}"
        return {"Content-Disposition": f'attachment; filename="{name}"'}

    @router.get("/reports", response_class=HTMLResponse, name="report_page")
    def report_page(request: Request, year: int | None = Query(None, ge=2000, le=2200, description="Financial year by its first calendar year")) -> Response:
        now = clock_today()
        current = FinancialYear.containing(now)
        chosen = year if year is not None else current.start - 1
        with engine.connect() as conn:
            known = set(queries.years_with_data(conn, zone))
        known |= {current.start, current.start - 1, chosen}
        report = build(chosen)
        # Paths, never URLs built on the request's Host header (which a client chooses).
        links = {kind: request.app.url_path_for(f"report_{kind}", year=str(chosen)) for kind in ("html", "csv", "json")}
        controls = Markup(ENV.get_template("controls").render(
            report=report, years=[FinancialYear(y) for y in sorted(known, reverse=True)], links=links,
            page_url=request.app.url_path_for("report_page"),
        ))
        if page is not None:
            return page(request, {"report": report, "controls": controls, "body": render_body(report), "style": scoped(STYLE)})
        html = ENV.get_template("page").render(report=report, controls=controls, body=render_body(report),
                                               style=Markup(STYLE + CONTROLS_STYLE))
        return HTMLResponse(html)

    @router.get("/reports/{year}.html", response_class=HTMLResponse, name="report_html")
    def download_html(year: int = Path(ge=2000, le=2200)) -> HTMLResponse:
        report = build(year)
        return HTMLResponse(render_document(report), headers=file_name(report, "html"))

    @router.get("/reports/{year}.csv.zip", name="report_csv")
    def download_csv(year: int = Path(ge=2000, le=2200)) -> Response:
        report = build(year)
        return Response(to_csv_zip(report), media_type="application/zip", headers=file_name(report, "csv.zip"))

    @router.get("/reports/{year}.json", name="report_json")
    def download_json(year: int = Path(ge=2000, le=2200)) -> Response:
        report = build(year)
        return Response(to_json(report), media_type="application/json", headers=file_name(report, "json"))

    return router
