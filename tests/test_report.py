"""`heard report`: the statutory annual report from the case record, checked against a published one."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from models import Case
from models.enums import CaseStatus, Channel, Kind
from scheduler import WorkingDayCalendar, load_policy
from tests.test_import import SAMPLE, _heard, complaint, run_import, write_csv
from reports.compute import build_report
from reports.exports import to_csv_zip, to_dict, to_json
from reports.html import render_document
from reports.model import publishable

POLICY = load_policy()
CALENDAR = WorkingDayCalendar()


def figures(report, key: str) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """{row label: [(current, previous), …]} for one table."""
    return {row.label: [(c.current, c.previous) for c in row.cells] for row in report.table(key).rows}


def north_east_lincolnshire_2021() -> list[dict[str, str]]:
    """105 stage 1 responses in 2021/22 as the council published them: outcomes 22 upheld, 45 partially
    upheld, 32 not upheld, 2 withdrawn, 4 no finding; 53 within 10 working days, 38 in 11–20, 14 over 20."""
    outcomes = ["upheld"] * 22 + ["partially_upheld"] * 45 + ["not_upheld"] * 32 + ["withdrawn"] * 2 + ["no_finding"] * 4
    days = [10] * 20 + [4] * 33 + [11] * 10 + [20] * 10 + [16] * 18 + [21] * 6 + [33] * 8
    rows = []
    received = date(2021, 4, 6)
    for n, (outcome, working_days) in enumerate(zip(outcomes, days, strict=True)):
        received = CALENDAR.next_working_day(received + timedelta(days=2))
        responded = CALENDAR.add_working_days(received, working_days).end
        rows.append(complaint(f"NEL-{n:03d}", received_on=received.isoformat(), acknowledged_on=received.isoformat(), stage_1_responded_on=responded.isoformat(), stage_1_outcome=outcome))
    return rows


def test_it_reproduces_the_stage_1_figures_north_east_lincolnshire_published_for_2021_22(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The published counts, except that the 2 withdrawals NEL counted among its 105 "responses"
    stand on their own line: a withdrawal is not a response, so percentages are of 103."""
    run_import(engine, write_csv(tmp_path / "nel.csv", north_east_lincolnshire_2021()))
    report = build_report(engine, POLICY, 2021, today=date(2022, 6, 1))
    outcomes = figures(report, "outcomes_stage_1")
    assert {label: cells[0][0] for label, cells in outcomes.items()} == {
        "Upheld": 22, "Partially upheld": 45, "Not upheld": 32, "No finding": 4, "Outside jurisdiction": 0, "Responded": 103,
        "Withdrawn (not a response; not counted above)": 2,
    }
    assert [cells[1][0] for cells in outcomes.values()][:4] == [21.4, 43.7, 31.1, 3.9]
    timeliness = figures(report, "timeliness_stage_1")
    assert [(cells[0][0], cells[1][0]) for cells in timeliness.values()] == [(53, 51.5), (38, 36.9), (12, 11.7), (103, 100.0), (2, None)]
    assert list(timeliness)[:4] == ["Within 10 working days", "11–20 working days", "Over 20 working days", "Responded"]
    page = render_document(report)
    for shown in ("21.4%", "43.7%", "31.1%", "3.9%", "51.5%", "36.9%", "11.7%"):
        assert shown in page
    data = to_dict(report)["tables"]["outcomes_stage_1"]["rows"]
    assert data[0]["values"]["% of responses"]["current"] == 21.4


def test_each_figure_stands_beside_the_year_before_with_the_difference(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = [complaint(f"P-{n}", received_on="2024-06-03", acknowledged_on="", stage_1_responded_on="2024-06-10") for n in range(3)]
    rows += [complaint(f"C-{n}", received_on="2025-06-02", acknowledged_on="", stage_1_responded_on="2025-06-09") for n in range(5)]
    rows += [{"reference": "K-1", "kind": "compliment", "received_on": "2026-03-31"}, {"reference": "K-0", "kind": "compliment", "received_on": "2026-04-01"}]
    run_import(engine, write_csv(tmp_path / "years.csv", rows))
    report = build_report(engine, POLICY, 2025, today=date(2026, 5, 1))
    volumes = {row.label: row.cells[0] for row in report.table("volumes").rows}
    assert (volumes["Complaints at stage 1"].current, volumes["Complaints at stage 1"].previous, volumes["Complaints at stage 1"].difference) == (5, 3, 2)
    assert (volumes["Compliments"].current, volumes["Compliments"].previous) == (1, 0)
    page = render_document(report)
    assert re.search(r"Complaints at stage 1</th>\s*<td class=\"current\">5</td><td>3</td><td class=\"diff\">\+2</td>", page)


def test_a_complaint_counts_under_each_of_its_reasons(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = [complaint("R-1", reasons="communication;delay;finance"), complaint("R-2", reasons="delay"), complaint("R-3", reasons="")]
    run_import(engine, write_csv(tmp_path / "reasons.csv", rows))
    reasons = figures(build_report(engine, POLICY, 2025, today=date(2026, 5, 1)), "by_reason")
    assert reasons["Delay"][0] == (2, 0) and reasons["Delay"][1][0] == 66.7
    assert reasons["Communication"][0][0] == reasons["Money and finance"][0][0] == reasons["No reason recorded"][0][0] == 1
    assert sum(cells[0][0] for cells in reasons.values()) == 5


def test_the_month_by_month_table_carries_forward_what_is_still_unanswered(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = [
        complaint("M-1", received_on="2025-04-07", acknowledged_on="", stage_1_responded_on="2025-04-17"),
        complaint("M-2", received_on="2025-04-14", acknowledged_on="", stage_1_responded_on="2025-05-12"),
        complaint("M-3", received_on="2025-04-28", acknowledged_on="", stage_1_responded_on="2025-06-02", stage_1_outcome="withdrawn"),
        complaint("M-4", received_on="2025-03-03", acknowledged_on="", stage_1_responded_on="2025-04-01"),
        complaint("M-5", received_on="2026-03-02", acknowledged_on="", stage_1_responded_on="", stage_1_outcome=""),
    ]
    run_import(engine, write_csv(tmp_path / "months.csv", rows))
    report = build_report(engine, POLICY, 2025, today=date(2026, 5, 1))
    months = {label: [c[0] for c in cells] for label, cells in figures(report, "monthly").items()}
    assert months["April"] == [3, 2, 0, 2]  # received, responded (M-1 and last year's M-4), withdrawn, carried forward
    assert months["May"] == [0, 1, 0, 1]
    assert months["June"] == [0, 0, 1, 0]
    assert months["March"] == [1, 0, 0, 1]
    assert months["Year"] == [4, 3, 1, 1]
    quarters = {label: [c[0] for c in cells] for label, cells in figures(report, "quarterly").items()}
    assert quarters["Q1 (April–June)"] == [3, 3, 1, 0]


def test_stage_1_time_is_counted_from_the_next_working_day_when_received_on_a_weekend(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Received Saturday 4 October 2025: day 0 is Monday 6 October, so Monday 20 October is day 10."""
    run_import(engine, write_csv(tmp_path / "weekend.csv", [complaint("W-1", received_on="2025-10-04", acknowledged_on="", stage_1_responded_on="2025-10-20")]))
    timeliness = figures(build_report(engine, POLICY, 2025, today=date(2026, 5, 1)), "timeliness_stage_1")
    assert timeliness["Within 10 working days"][0] == (1, 0)


def test_small_counts_about_people_are_suppressed_in_every_format(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = [complaint(f"E-{n}", child_ethnicity="White British") for n in range(12)]
    rows += [complaint(f"G-{n}", child_ethnicity="Gypsy, Roma or Traveller") for n in range(2)]
    rows += [complaint(f"I-{n}", child_ethnicity="Irish Traveller") for n in range(7)]
    rows += [complaint("Y-1", child_ethnicity="White British", complainant_role="child_or_young_person", advocacy_offered="yes", advocacy_answer="yes", compensation="300")]
    run_import(engine, write_csv(tmp_path / "people.csv", rows))
    report = build_report(engine, POLICY, 2025, today=date(2026, 5, 1))
    ethnicity = {row.label: row.cells for row in report.table("ethnicity").rows}
    assert ethnicity["Gypsy, Roma or Traveller"][0].current_hidden and ethnicity["Gypsy, Roma or Traveller"][1].current_hidden
    assert ethnicity["Irish Traveller"][0].current_hidden, "the next smallest is hidden too, so 2 cannot be worked out from the total"
    assert not ethnicity["White British"][0].current_hidden
    compensation = {row.label: row.cells[0] for row in report.table("compensation").rows}
    assert compensation["Total paid"].current_hidden and compensation["Complaints with a payment"].current_hidden

    page = render_document(report)
    assert re.search(r"Gypsy, Roma or Traveller</th>\s*<td class=\"current\">&lt;5</td>", page)
    assert "£300.00" not in page
    data = to_dict(report)
    gypsy = next(r for r in data["tables"]["ethnicity"]["rows"] if r["label"].startswith("Gypsy"))
    assert gypsy["values"]["complaints"] == {"unit": "count", "current": "<5", "previous": 0, "difference": None}
    assert gypsy["values"]["% of complaints"]["current"] == "<5"
    with zipfile.ZipFile(io.BytesIO(to_csv_zip(report))) as archive:
        name = next(n for n in archive.namelist() if n.endswith("_ethnicity.csv"))
        table = list(csv.reader(io.StringIO(archive.read(name).decode("utf-8"))))
    assert ["Irish Traveller", "<5", "0", "", "<5", "", ""] in table


def test_nothing_in_any_format_identifies_a_person(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    learning = "Call Jo on 07700 900123 or jo.bloggs@example.org about CSC-2025-00042 at DN31 1HU."
    run_import(engine, write_csv(tmp_path / "private.csv", [complaint("SECRET-REF-1", learning=learning, team="Fostering")]))
    report = build_report(engine, POLICY, 2025, today=date(2026, 5, 1))
    outputs = [render_document(report), to_json(report)]
    with zipfile.ZipFile(io.BytesIO(to_csv_zip(report))) as archive:
        outputs += [archive.read(n).decode("utf-8") for n in archive.namelist()]
    for text in outputs:
        for private in ("SECRET-REF-1", "07700 900123", "jo.bloggs@example.org", "CSC-2025-00042", "DN31 1HU"):
            assert private not in text
    assert report.lessons == [("Call Jo on [phone removed] or [email removed] about [reference removed] at [postcode removed].", 1)]
    assert publishable("Reminded staff to call back  within\n two days.") == "Reminded staff to call back within two days."


def test_merged_cases_are_counted_once(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_import(engine, write_csv(tmp_path / "m.csv", [complaint("ONE")]))
    with Session(engine) as session:
        session.add(Case(reference="DUP", kind=Kind.complaint, channel=Channel.email, status=CaseStatus.merged, received_at=datetime(2025, 6, 3, 10, tzinfo=UTC)))
        session.commit()
    report = build_report(engine, POLICY, 2025, today=date(2026, 5, 1))
    assert figures(report, "volumes")["Complaints at stage 1"][0] == (1, 0)


def test_the_html_report_is_one_self_contained_page_with_charts(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_import(engine, SAMPLE)
    page = render_document(build_report(engine, POLICY, 2025, today=date(2026, 5, 1)))
    assert page.count("<svg ") >= 5 and 'role="img"' in page
    assert not re.search(r"<script|<link|<img|@import|url\((?!#)", page), "the charts' clip paths point inside the page only"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "nothing is fetched from the internet"
    assert "At a glance" in page and "How these figures are counted" in page
    assert "Example Council" in page and "annual report 2025/26" in page


def test_the_csv_format_is_a_zip_of_one_csv_per_table(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_import(engine, SAMPLE)
    report = build_report(engine, POLICY, 2025, today=date(2026, 5, 1))
    with zipfile.ZipFile(io.BytesIO(to_csv_zip(report))) as archive:
        names = archive.namelist()
        assert len([n for n in names if n.endswith(".csv")]) == len(report.tables) + 1
        volumes = list(csv.reader(io.StringIO(archive.read("01_volumes.csv").decode("utf-8"))))
    assert volumes[0] == ["", "number 2025/26", "number 2024/25", "number difference"]
    stage_1 = next(r for r in volumes if r[0] == "Complaints at stage 1")
    assert int(stage_1[1]) - int(stage_1[2]) == int(stage_1[3])
    assert json.loads(to_json(report))["tables"]["volumes"]["rows"][1]["values"]["number"]["current"] == int(stage_1[1])


def test_heard_report_writes_each_format(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_import(engine, SAMPLE)
    url = engine.url.render_as_string(hide_password=False)
    for fmt, name in (("html", "r.html"), ("csv", "r.csv.zip"), ("json", "r.json")):
        result = _heard("report", "--year", "2025", "--format", fmt, "--output", str(tmp_path / name), database_url=url)
        assert result.returncode == 0, result.stderr
        assert f"Wrote the 2025/26 annual report ({fmt}) to" in result.stdout
    assert json.loads((tmp_path / "r.json").read_text())["year"] == "2025/26"
    assert zipfile.is_zipfile(tmp_path / "r.csv.zip")
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")
    stdout = _heard("report", "--year", "2025", "--format", "json", "-o", "-", database_url=url)
    assert json.loads(stdout.stdout)["period"] == {"from": "2025-04-01", "to": "2026-03-31"}
    assert json.loads(stdout.stdout)["trend"] is None
    five = _heard("report", "--year", "2025", "--years", "5", "--format", "csv", "-o", str(tmp_path / "t.zip"), database_url=url)
    assert five.returncode == 0, five.stderr
    with zipfile.ZipFile(tmp_path / "t.zip") as archive:
        trend = archive.read("00_trend.csv").decode().splitlines()
    assert trend[0] == ",2021/22,2022/23,2023/24,2024/25,2025/26"


def test_heard_report_refuses_a_database_that_is_not_migrated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _heard("report", "--year", "2025", database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.returncode == 1
    assert "Error: the database is not up to date: run `heard db upgrade` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_report_for_a_year_with_no_records_is_all_zeros_not_an_error(engine) -> None:  # type: ignore[no-untyped-def]
    report = build_report(engine, POLICY, 2030, today=date(2031, 5, 1))
    assert figures(report, "volumes")["Complaints at stage 1"][0] == (0, 0)
    assert "0 complaints at stage 1" in render_document(report)
    assert json.loads(to_json(report))["tables"]["outcomes_stage_1"]["rows"][0]["values"]["% of responses"]["current"] is None
