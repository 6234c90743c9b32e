"""Several years side by side, as councils publish them (three to five): the main volumes,
timeliness and outcomes, each year's figure taken from that year's own report, so a trend can
never disagree with the tables it sums up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reports.model import AnnualReport, FinancialYear, Table

# (label in the trend, table key, row: its label or its position, measure index, unit)
LINES: list[tuple[str, str, str | int, int, str]] = [
    ("Initial feedback (concerns)", "volumes", "Initial feedback (concerns)", 0, "count"),
    ("Complaints at stage 1", "volumes", "Complaints at stage 1", 0, "count"),
    ("Complaints at stage 2", "volumes", "Complaints at stage 2", 0, "count"),
    ("Complaints at stage 3", "volumes", "Complaints at stage 3", 0, "count"),
    ("Compliments", "volumes", "Compliments", 0, "count"),
    ("Stage 1 responses on time (%)", "timeliness_stage_1", 0, 1, "percent"),
    ("Stage 1 responses", "timeliness_stage_1", "Responded", 0, "count"),
    ("Stage 1 complaints withdrawn", "timeliness_stage_1", -1, 0, "count"),
    ("Stage 1 upheld in full or in part (%)", "percentage_upheld", "Stage 1", 1, "percent"),
    ("Stage 2 upheld in full or in part (%)", "percentage_upheld", "Stage 2", 1, "percent"),
]


@dataclass
class TrendRow:
    label: str
    unit: str  # "count" or "percent"
    values: list[float | None]  # one per year, oldest first


@dataclass
class Trend:
    years: list[FinancialYear]  # oldest first, ending with the year reported
    rows: list[TrendRow]
    on_time_label: str  # what "on time" means, from the stage 1 timeliness table ("Within 10 working days")


def _pick(table: Table, row: str | int, measure: int, side: str) -> float | None:
    found = table.rows[row] if isinstance(row, int) else next(r for r in table.rows if r.label == row)
    return getattr(found.cells[measure], side)


def trend(report: AnnualReport, years: int, build: Callable[[int], AnnualReport]) -> Trend:
    """`years` years ending with the report's own; each earlier pair of years comes from one build."""
    first = report.year.start - years + 1
    reports: dict[int, tuple[AnnualReport, str]] = {}
    source = report
    while True:
        reports[source.year.start] = (source, "current")
        reports.setdefault(source.year.start - 1, (source, "previous"))
        if source.year.start - 1 <= first:
            break
        source = build(source.year.start - 2)
    span = [FinancialYear(y) for y in range(first, report.year.start + 1)]
    rows = []
    for label, key, row, measure, unit in LINES:
        values = []
        for fy in span:
            built, side = reports[fy.start]
            values.append(_pick(built.table(key), row, measure, side))
        rows.append(TrendRow(label, unit, values))
    return Trend(span, rows, report.table("timeliness_stage_1").rows[0].label.lower())
