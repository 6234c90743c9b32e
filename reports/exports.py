"""The annual report as data: one CSV per table in a zip, or one JSON document.

Suppressed figures are written as "<5" (for the default threshold), never as their value, and
their differences are left empty. Money is in pounds; percentages are of the row's base.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

from reports.model import AnnualReport, Cell, Table

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same report zips to the same bytes


def _value(value: float | None, unit: str, hidden: bool, threshold: int) -> Any:
    if hidden:
        return f"<{threshold}"
    if value is None:
        return None
    if unit == "money":
        return round(value / 100, 2)
    return value


def _cell(cell: Cell, unit: str, threshold: int) -> dict[str, Any]:
    difference = cell.difference
    return {
        "current": _value(cell.current, unit, cell.current_hidden, threshold),
        "previous": _value(cell.previous, unit, cell.previous_hidden, threshold),
        "difference": None if difference is None else (round(difference / 100, 2) if unit == "money" else difference),
    }


def _csv_value(value: Any, unit: str) -> Any:
    if value is None:
        return ""
    if unit == "money" and isinstance(value, int | float):
        return f"{value:.2f}"
    return value


def table_csv(table: Table, report: AnnualReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    this, last = report.year.label, report.year.previous.label
    header = [""]
    for m in table.measures:
        header += [f"{m.name} {this}", f"{m.name} {last}", f"{m.name} difference"]
    writer.writerow(header)
    for row in table.rows:
        line: list[Any] = [row.label]
        for index, cell in enumerate(row.cells):
            unit = table.unit(row, index)
            values = _cell(cell, unit, report.suppress_below)
            line += [_csv_value(values[k], unit) for k in ("current", "previous", "difference")]
        writer.writerow(line)
    return out.getvalue()


def trend_csv(report: AnnualReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["", *(fy.label for fy in report.trend.years)])
    for row in report.trend.rows:
        writer.writerow([row.label, *("" if v is None else v for v in row.values)])
    return out.getvalue()


def to_csv_zip(report: AnnualReport) -> bytes:
    """A zip of `NN_key.csv` files, one per table, plus `learning.csv` and `README.txt`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        def put(name: str, text: str) -> None:
            archive.writestr(zipfile.ZipInfo(name, ZIP_DATE), text.encode("utf-8"), zipfile.ZIP_DEFLATED)

        if report.trend:
            put("00_trend.csv", trend_csv(report))
        for number, table in enumerate(report.tables, start=1):
            put(f"{number:02d}_{table.key}.csv", table_csv(table, report))
        lessons = io.StringIO()
        writer = csv.writer(lessons, lineterminator="\n")
        writer.writerow(["learning", "complaints"])
        writer.writerows(report.lessons)
        put(f"{len(report.tables) + 1:02d}_lessons.csv", lessons.getvalue())
        readme = [
            f"{report.council}: children's social care complaints annual report {report.year.label}",
            f"Produced {report.generated_on.isoformat()}. Each CSV is one table of the report; money is in pounds.",
            "",
            *report.method,
        ]
        put("README.txt", "\n".join(readme) + "\n")
    return buffer.getvalue()


def to_dict(report: AnnualReport) -> dict[str, Any]:
    threshold = report.suppress_below
    return {
        "council": report.council,
        "year": report.year.label,
        "period": {"from": report.year.first_day.isoformat(), "to": report.year.last_day.isoformat()},
        "previous_year": report.year.previous.label,
        "generated_on": report.generated_on.isoformat(),
        "suppression": {"threshold": threshold, "shown_as": f"<{threshold}"},
        "tables": {
            table.key: {
                "title": table.title,
                "note": table.note,
                "section": table.section,
                "procedure": table.procedure,
                "measures": [{"name": m.name, "unit": m.unit} for m in table.measures],
                "rows": [
                    {
                        "label": row.label,
                        "total": row.total,
                        "aside": row.aside,
                        "values": {
                            table.measures[i].name: {"unit": table.unit(row, i), **_cell(cell, table.unit(row, i), threshold)}
                            for i, cell in enumerate(row.cells)
                        },
                    }
                    for row in table.rows
                ],
            }
            for table in report.tables
        },
        "trend": None if report.trend is None else {
            "years": [fy.label for fy in report.trend.years],
            "rows": [{"label": row.label, "unit": row.unit, "values": dict(zip((fy.label for fy in report.trend.years), row.values, strict=True))}
                     for row in report.trend.rows],
        },
        "learning": [{"text": text, "complaints": n} for text, n in report.lessons],
        "method": report.method,
    }


def to_json(report: AnnualReport) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False)
