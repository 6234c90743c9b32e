"""Every figure of the annual report for a small year worked out by hand: tests/data/report_year.csv
holds 2025/26 with a withdrawal, a complaint carried over into the next year, two corporate
(non-statutory) complaints, initial feedback, compliments, and one complaint the year before.

The working, complaint by complaint (working days: day 0 is the day received; bank holidays
5 and 26 May, 25 August 2025 are left out):

- P1 (2024/25): stage 1 in 5 days (3 Jun → 10 Jun 2024), upheld.
- S1: 8 days (7 → 17 Apr), upheld; a young person, offered an advocate and said yes.
- S2: 19 days (12 May → 9 Jun, over the 26 May holiday), partly upheld; a care leaver.
- S3: acknowledged late (due 5 Jun, sent 10 Jun); withdrawn on 1 Sep: not a response.
- S4: 5 days (1 → 8 Jul), not upheld; stage 2 requested 21 Jul, upheld on 18 Aug (20 days); £250.
- S5: received 16 Mar 2026, answered 14 Apr 2026: carried forward, answered next year.
- S6: 15 days (6 → 27 Oct), not upheld; an MP's enquiry.
- C1 (corporate): 19 days (6 May → 3 Jun), upheld. C2 (corporate, a councillor's): withdrawn.
- I1: initial feedback answered in 4 days (1 → 5 Sep); a young person, offered an advocate, said no.
- K1, K2: compliments.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scheduler import load_policy
from tests.test_import import run_import
from reports.compute import build_report
from reports.exports import to_dict
from reports.html import render_document

DATA = Path(__file__).parent / "data" / "report_year.csv"
N = None  # no figure: nothing to divide by

# {table: {row: [(2025/26, 2024/25) for each measure]}}
EXPECTED: dict[str, dict[str, list[tuple]]] = {
    "volumes": {
        "Initial feedback (concerns)": [(1, 0)],
        "Complaints at stage 1": [(6, 1)],
        "Complaints at stage 2": [(1, 0)],
        "Complaints at stage 3": [(0, 0)],
        "Alternative dispute resolution (ADR)": [(0, 0)],
        "Ombudsman enquiries": [(0, 0)],
        "Compliments": [(2, 0)],
        "Councillor enquiries": [(1, 0)],
        "MP enquiries": [(1, 0)],
        "Complaints under the corporate procedure": [(2, 0)],
    },
    "timeliness_stage_1": {  # S1 8, S4 5 | S2 19, S6 15 | S3 withdrawn; P1 5
        "Within 10 working days": [(2, 1), (50.0, 100.0)],
        "11–20 working days": [(2, 0), (50.0, 0.0)],
        "Over 20 working days": [(0, 0), (0.0, 0.0)],
        "Responded": [(4, 1), (100.0, 100.0)],
        "Withdrawn (not a response; not counted above)": [(1, 0), (N, N)],
    },
    "timeliness_stage_2": {  # S4's stage 2 in 20 days
        "Within 25 working days": [(1, 0), (100.0, N)],
        "26–65 working days": [(0, 0), (0.0, N)],
        "Over 65 working days": [(0, 0), (0.0, N)],
        "Responded": [(1, 0), (100.0, N)],
        "Withdrawn (not a response; not counted above)": [(0, 0), (N, N)],
    },
    "timeliness_stage_3": {
        "Within 50 working days of the request": [(0, 0), (N, N)],
        "Over 50 working days": [(0, 0), (N, N)],
        "Responded": [(0, 0), (N, N)],
        "Withdrawn (not a response; not counted above)": [(0, 0), (N, N)],
    },
    "acknowledgements": {  # statutory, by the day received: S1 S2 S4 S5 S6 I1 on time, S3 late; P1 on time
        "Acknowledged within 3 working days": [(6, 1), (85.7, 100.0)],
        "Acknowledged late": [(1, 0), (N, N)],
        "Initial feedback answered within 5 working days": [(1, 0), (100.0, N)],
        "Initial feedback answered later": [(0, 0), (N, N)],
    },
    "average_days": {
        "Initial feedback": [(4.0, N)],
        "Stage 1": [(11.8, 5.0)],  # (8 + 19 + 5 + 15) / 4 = 11.75, half up
        "Stage 2": [(20.0, N)],
        "Stage 3": [(N, N)],
    },
    "outcomes_stage_1": {
        "Upheld": [(1, 1), (25.0, 100.0)],
        "Partially upheld": [(1, 0), (25.0, 0.0)],
        "Not upheld": [(2, 0), (50.0, 0.0)],
        "No finding": [(0, 0), (0.0, 0.0)],
        "Outside jurisdiction": [(0, 0), (0.0, 0.0)],
        "Responded": [(4, 1), (100.0, 100.0)],
        "Withdrawn (not a response; not counted above)": [(1, 0), (N, N)],
    },
    "outcomes_stage_2": {
        "Upheld": [(1, 0), (100.0, N)],
        "Partially upheld": [(0, 0), (0.0, N)],
        "Not upheld": [(0, 0), (0.0, N)],
        "No finding": [(0, 0), (0.0, N)],
        "Outside jurisdiction": [(0, 0), (0.0, N)],
        "Responded": [(1, 0), (100.0, N)],
        "Withdrawn (not a response; not counted above)": [(0, 0), (N, N)],
    },
    "outcomes_stage_3": {
        **{label: [(0, 0), (N, N)] for label in ("Upheld", "Partially upheld", "Not upheld", "No finding", "Outside jurisdiction", "Responded")},
        "Withdrawn (not a response; not counted above)": [(0, 0), (N, N)],
    },
    "percentage_upheld": {
        "Stage 1": [(2, 1), (50.0, 100.0)],
        "Stage 2": [(1, 0), (100.0, N)],
        "Stage 3": [(0, 0), (N, N)],
    },
    "escalation": {  # S4 went to stage 2: 1 of 4 stage 1 responses
        "Stage 1 to stage 2": [(1, 0), (25.0, 0.0)],
        "Stage 2 to stage 3": [(0, 0), (0.0, N)],
    },
    "by_team": {
        "Children in Care": [(4, 1), (66.7, 100.0)],
        "Leaving Care": [(2, 0), (33.3, 0.0)],
        "All complaints": [(6, 1), (100.0, 100.0)],
    },
    "by_reason": {
        "Communication": [(2, 1), (33.3, 100.0)],
        "Staff conduct or attitude": [(1, 0), (16.7, 0.0)],
        "Disagreement with a decision": [(0, 0), (0.0, 0.0)],
        "Disagreement with an assessment": [(0, 0), (0.0, 0.0)],
        "Delay": [(1, 0), (16.7, 0.0)],
        "Lack of support": [(0, 0), (0.0, 0.0)],
        "Family time (contact)": [(1, 0), (16.7, 0.0)],
        "Care in a placement": [(0, 0), (0.0, 0.0)],
        "Money and finance": [(2, 0), (33.3, 0.0)],
        "Confidentiality and records": [(0, 0), (0.0, 0.0)],
        "Change of worker": [(0, 0), (0.0, 0.0)],
        "Views not heard": [(0, 0), (0.0, 0.0)],
    },
    "children_and_young_people": {
        "Children and young people": [(1, 0), (16.7, 0.0)],
        "Care leavers": [(1, 0), (16.7, 0.0)],
        "Together": [(2, 0), (33.3, 0.0)],
    },
    "advocacy": {  # S1, S2 and I1 are young people's; S1 and I1 were offered; S1 said yes
        "Concerns and complaints from children, young people and care leavers": [(3, 0), (N, N)],
        "Offered an advocate": [(2, 0), (66.7, N)],
        "Took up the offer": [(1, 0), (50.0, N)],
    },
    "monthly": {  # received, responded, withdrawn, carried forward
        "April": [(1, 0), (1, 0), (0, 0), (0, 0)],
        "May": [(1, 0), (0, 0), (0, 0), (1, 0)],
        "June": [(1, 1), (1, 1), (0, 0), (1, 0)],
        "July": [(1, 0), (1, 0), (0, 0), (1, 0)],
        "August": [(0, 0), (0, 0), (0, 0), (1, 0)],
        "September": [(0, 0), (0, 0), (1, 0), (0, 0)],
        "October": [(1, 0), (1, 0), (0, 0), (0, 0)],
        "November": [(0, 0), (0, 0), (0, 0), (0, 0)],
        "December": [(0, 0), (0, 0), (0, 0), (0, 0)],
        "January": [(0, 0), (0, 0), (0, 0), (0, 0)],
        "February": [(0, 0), (0, 0), (0, 0), (0, 0)],
        "March": [(1, 0), (0, 0), (0, 0), (1, 0)],
        "Year": [(6, 1), (4, 1), (1, 0), (1, 0)],
    },
    "quarterly": {
        "Q1 (April–June)": [(3, 1), (2, 1), (0, 0), (1, 0)],
        "Q2 (July–September)": [(1, 0), (1, 0), (1, 0), (0, 0)],
        "Q3 (October–December)": [(1, 0), (1, 0), (0, 0), (0, 0)],
        "Q4 (January–March)": [(1, 0), (0, 0), (0, 0), (1, 0)],
        "Year": [(6, 1), (4, 1), (1, 0), (1, 0)],
    },
    "compensation": {
        "Complaints with a payment": [(1, 0)],
        "Total paid": [(25000, 0)],
    },
    "learning": {"Upheld complaints with learning recorded": [(0, 0)]},
    "ethnicity": {
        "Mixed": [(1, 0), (16.7, 0.0)],
        "White British": [(1, 0), (16.7, 0.0)],
        "Not recorded": [(4, 1), (66.7, 100.0)],
        "All complaints": [(6, 1), (100.0, 100.0)],
    },
    "corporate_volumes": {
        "Complaints at stage 1": [(2, 0)],
        "Complaints at stage 2": [(0, 0)],
    },
    "corporate_timeliness_stage_1": {  # C1 in 19 days, against the corporate 20; C2 withdrawn
        "Within 20 working days": [(1, 0), (100.0, N)],
        "21–30 working days": [(0, 0), (0.0, N)],
        "Over 30 working days": [(0, 0), (0.0, N)],
        "Responded": [(1, 0), (100.0, N)],
        "Withdrawn (not a response; not counted above)": [(1, 0), (N, N)],
    },
    "corporate_timeliness_stage_2": {
        "Within 25 working days": [(0, 0), (N, N)],
        "26–45 working days": [(0, 0), (N, N)],
        "Over 45 working days": [(0, 0), (N, N)],
        "Responded": [(0, 0), (N, N)],
        "Withdrawn (not a response; not counted above)": [(0, 0), (N, N)],
    },
    "corporate_acknowledgements": {
        "Acknowledged within 5 working days": [(2, 0), (100.0, N)],
        "Acknowledged late": [(0, 0), (N, N)],
    },
    "corporate_outcomes_stage_1": {
        "Upheld": [(1, 0), (100.0, N)],
        "Partially upheld": [(0, 0), (0.0, N)],
        "Not upheld": [(0, 0), (0.0, N)],
        "No finding": [(0, 0), (0.0, N)],
        "Outside jurisdiction": [(0, 0), (0.0, N)],
        "Responded": [(1, 0), (100.0, N)],
        "Withdrawn (not a response; not counted above)": [(1, 0), (N, N)],
    },
    "corporate_outcomes_stage_2": {
        **{label: [(0, 0), (N, N)] for label in ("Upheld", "Partially upheld", "Not upheld", "No finding", "Outside jurisdiction", "Responded")},
        "Withdrawn (not a response; not counted above)": [(0, 0), (N, N)],
    },
    "corporate_percentage_upheld": {
        "Stage 1": [(1, 0), (100.0, N)],
        "Stage 2": [(0, 0), (N, N)],
    },
    "corporate_by_team": {
        "Family Support": [(2, 0), (100.0, N)],
        "All complaints": [(2, 0), (100.0, N)],
    },
    "corporate_by_reason": {
        "Communication": [(1, 0), (50.0, N)],
        "Staff conduct or attitude": [(0, 0), (0.0, N)],
        "Disagreement with a decision": [(0, 0), (0.0, N)],
        "Disagreement with an assessment": [(0, 0), (0.0, N)],
        "Delay": [(1, 0), (50.0, N)],
        "Lack of support": [(0, 0), (0.0, N)],
        "Family time (contact)": [(0, 0), (0.0, N)],
        "Care in a placement": [(0, 0), (0.0, N)],
        "Money and finance": [(0, 0), (0.0, N)],
        "Confidentiality and records": [(0, 0), (0.0, N)],
        "Change of worker": [(0, 0), (0.0, N)],
        "Views not heard": [(0, 0), (0.0, N)],
    },
}

# Tables about people: counts of 1–4 show as "<5", and their percentages with them.
HIDDEN = {
    "children_and_young_people": {"Children and young people", "Care leavers", "Together"},
    "advocacy": {"Concerns and complaints from children, young people and care leavers", "Offered an advocate", "Took up the offer"},
    "compensation": {"Complaints with a payment", "Total paid"},
    "ethnicity": {"Mixed", "White British", "Not recorded"},
}


@pytest.fixture
def report(engine):  # type: ignore[no-untyped-def]
    run_import(engine, DATA)
    return build_report(engine, load_policy(), 2025, today=date(2026, 5, 1))


def test_every_figure_of_the_year_matches_the_hand_worked_figures(report) -> None:  # type: ignore[no-untyped-def]
    got = {t.key: {row.label: [(c.current, c.previous) for c in row.cells] for row in t.rows} for t in report.tables}
    assert list(got) == list(EXPECTED), "a table was added or removed: work its figures out by hand here"
    for key, rows in EXPECTED.items():
        assert got[key] == rows, key


def test_small_counts_about_people_are_hidden_and_nothing_else_is(report) -> None:  # type: ignore[no-untyped-def]
    for table in report.tables:
        hidden = {row.label for row in table.rows if row.cells[0].current_hidden}
        assert hidden == HIDDEN.get(table.key, set()), table.key


def test_a_withdrawal_is_counted_on_its_own_and_every_table_agrees(report) -> None:  # type: ignore[no-untyped-def]
    responded = {key: report.table(key).rows[-2].cells[0].current for key in ("timeliness_stage_1", "outcomes_stage_1")}
    year = dict((row.label, row.cells) for row in report.table("monthly").rows)["Year"]
    assert responded == {"timeliness_stage_1": 4, "outcomes_stage_1": 4} and year[1].current == 4
    assert year[2].current == 1 == report.table("outcomes_stage_1").rows[-1].cells[0].current


def test_every_table_says_which_procedure_it_counts(report) -> None:  # type: ignore[no-untyped-def]
    notes = {"statutory": "Statutory procedure", "corporate": "Corporate (non-statutory) procedure", "both": "Both procedures"}
    for table in report.tables:
        assert table.note.startswith(notes[table.procedure]), table.key
    assert {t.procedure for t in report.tables if t.key.startswith("corporate_")} == {"corporate"}
    data = to_dict(report)["tables"]
    assert data["by_team"]["procedure"] == "statutory" and data["corporate_by_team"]["procedure"] == "corporate"
    page = render_document(report)
    assert "Corporate procedure" in page and "Corporate (non-statutory) procedure." in page


def test_how_the_figures_are_counted_says_it_for_each_kind_of_figure(report) -> None:  # type: ignore[no-untyped-def]
    method = " ".join(report.method)
    for words in ("Acknowledgements: counted by the day the representation was received", "A withdrawn complaint is not a response",
                  "halves rounded up (31.25 shows as 31.3)", "corporate procedure have a section of their own"):
        assert words in method


def test_a_trend_over_three_years_takes_each_years_figures_from_its_own_report(engine) -> None:  # type: ignore[no-untyped-def]
    run_import(engine, DATA)
    report = build_report(engine, load_policy(), 2025, today=date(2026, 5, 1), years=3)
    assert [fy.label for fy in report.trend.years] == ["2023/24", "2024/25", "2025/26"]
    rows = {row.label: row.values for row in report.trend.rows}
    assert rows["Complaints at stage 1"] == [0, 1, 6]
    assert rows["Stage 1 responses on time (%)"] == [None, 100.0, 50.0]
    assert rows["Stage 1 complaints withdrawn"] == [0, 0, 1]
    assert rows["Stage 1 upheld in full or in part (%)"] == [None, 100.0, 50.0]
    assert rows["Compliments"] == [0, 0, 2]
    page = render_document(report)
    assert 'id="trend"' in page and 'aria-label="Chart: trend over 3 years, 2023/24 to 2025/26"' in page
    assert to_dict(report)["trend"]["rows"][1] == {"label": "Complaints at stage 1", "unit": "count",
                                                   "values": {"2023/24": 0, "2024/25": 1, "2025/26": 6}}


def _ticks(svg: str) -> list[str]:
    import re

    return [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg) if re.fullmatch(r"[\d.,]+", t)]


def test_count_axes_tick_at_whole_numbers_and_no_legend_covers_the_plot(report) -> None:  # type: ignore[no-untyped-def]
    from reports import charts

    for key in ("monthly", "by_team", "timeliness_stage_1", "volumes"):
        svg = charts.chart(report.table(key), report)
        assert svg and not [t for t in _ticks(svg) if "." in t], f"{key}: a tick at a fraction of a complaint"
    for figure in (charts._lines(report.table("monthly"), report), charts._bars(report.table("by_team"), report, horizontal=True),
                   charts._bars(report.table("timeliness_stage_1"), report, horizontal=False)):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        renderer = FigureCanvasAgg(figure).get_renderer()
        ax = figure.axes[0]
        legend, plot = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
        assert not legend.overlaps(plot), "the legend sits over the plot"
