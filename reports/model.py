"""What an annual report is made of: tables of figures for two years, and the suppression rule.

Every figure is a `Cell` holding the year reported and the year before; the difference is
worked out from them, never stored. Renderers (HTML, CSV, JSON) only lay these out.

Suppression (tables about people: who complained, advocacy, ethnicity, compensation): a count
from 1 to `threshold - 1` is shown as "<5" (for the default threshold of 5) and its percentage
is withheld; when a column would then have exactly one hidden count, the next smallest count in
that column is hidden too, so no hidden figure can be worked out from a total. A sum of money
paid to fewer than `threshold` people is withheld. Zero is shown: it identifies nobody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

@dataclass(frozen=True)
class FinancialYear:
    """1 April of `start` to 31 March of the next year; `2025` is "2025/26"."""

    start: int

    @property
    def label(self) -> str:
        return f"{self.start}/{(self.start + 1) % 100:02d}"

    @property
    def first_day(self) -> date:
        return date(self.start, 4, 1)

    @property
    def last_day(self) -> date:
        return date(self.start + 1, 3, 31)

    @property
    def previous(self) -> FinancialYear:
        return FinancialYear(self.start - 1)

    @classmethod
    def containing(cls, day: date) -> FinancialYear:
        return cls(day.year if day.month >= 4 else day.year - 1)


@dataclass
class Cell:
    current: float | None
    previous: float | None
    current_hidden: bool = False
    previous_hidden: bool = False

    @property
    def difference(self) -> float | None:
        if self.current is None or self.previous is None or self.current_hidden or self.previous_hidden:
            return None
        if isinstance(self.current, float) or isinstance(self.previous, float):
            return half_up(Decimal(str(self.current)) - Decimal(str(self.previous)))
        return self.current - self.previous


@dataclass
class Row:
    label: str
    cells: list[Cell]
    unit: str | None = None  # overrides the measure's unit for this row
    total: bool = False  # a total line (drawn in bold, left out of charts)
    aside: bool = False  # counted beside the table, not in it (withdrawals beside responses): no chart, no share


@dataclass
class Measure:
    name: str
    unit: str = "count"


@dataclass
class Table:
    key: str  # file name in the CSV zip and key in the JSON
    title: str
    note: str
    measures: list[Measure]
    rows: list[Row]
    about_people: bool = False  # the suppression rule applies
    chart: str | None = None  # "bars", "hbars" or "lines"
    section: str = ""
    procedure: str = "statutory"  # which complaints it counts: "statutory", "corporate" or "both"

    def unit(self, row: Row, index: int) -> str:
        return row.unit or self.measures[index].unit


@dataclass
class AnnualReport:
    council: str
    year: FinancialYear
    generated_on: date
    suppress_below: int
    tables: list[Table]
    lessons: list[tuple[str, int]] = field(default_factory=list)
    method: list[str] = field(default_factory=list)
    trend: Any = None  # a `trends.Trend` when several years were asked for

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def half_up(value: float | Decimal, places: int = 1) -> float:
    """Rounded as spreadsheets and published reports round: halves go up (31.25 → 31.3), never
    to the even neighbour, and without binary floating point's near-misses."""
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def pct(part: float, whole: float) -> float | None:
    """A percentage to one decimal place, halves rounded up; None when there is nothing to divide by."""
    return half_up(Decimal(100) * Decimal(str(part)) / Decimal(str(whole))) if whole else None


def suppress(table: Table, threshold: int) -> None:
    """Apply the suppression rule (see the module docstring) to a table about people, in place."""
    if not table.about_people or threshold <= 1:
        return
    for index in range(len(table.measures)):
        for side in ("current", "previous"):
            counts = [(row, row.cells[index]) for row in table.rows if table.unit(row, index) == "count" and not row.total]
            hidden = [cell for _, cell in counts if _small(getattr(cell, side), threshold)]
            if len(hidden) == 1:
                others = sorted(
                    (cell for _, cell in counts if cell is not hidden[0] and (getattr(cell, side) or 0) > 0),
                    key=lambda c: getattr(c, side),
                )
                hidden += others[:1]
            for cell in hidden:
                setattr(cell, f"{side}_hidden", True)
            for row in table.rows:
                if table.unit(row, index) == "count" and row.total and _small(getattr(row.cells[index], side), threshold):
                    setattr(row.cells[index], f"{side}_hidden", True)
    for row in table.rows:
        for index, cell in enumerate(row.cells):
            unit = table.unit(row, index)
            if unit == "percent" and index > 0:
                source = row.cells[index - 1]
                cell.current_hidden |= source.current_hidden
                cell.previous_hidden |= source.previous_hidden


def _small(value: float | None, threshold: int) -> bool:
    return value is not None and 0 < value < threshold


REDACT = [
    (re.compile(r"\bCSC-\d{4}-\d{5}\b", re.IGNORECASE), "[reference removed]"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email removed]"),
    (re.compile(r"(?<!\w)(?:\+44\s?|0)\d(?:[\s-]?\d){8,9}(?!\d)"), "[phone removed]"),
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"), "[postcode removed]"),
]


def publishable(text: str) -> str:
    """Learning as written by officers, less anything that points at a person: reference numbers,
    email addresses, phone numbers and postcodes. (Officers write learning for publication.)"""
    for pattern, replacement in REDACT:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())
