"""`heard import FILE.xlsx`: Excel workbooks checked exactly as CSV is, errors naming sheet and row."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlmodel import Session, select

from models import AuditEvent, Case
from tests.test_import_files import error_line, heard_import, imported, nothing_written

LONDON = ZoneInfo("Europe/London")
HEADER = ["reference", "kind", "received_on", "team", "adr", "compensation", "acknowledged_on", "stage_1_responded_on", "stage_1_outcome"]


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_a_workbook_imports_with_dates_as_excel_stores_them(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Real date cells (any format), text dates in the layout's formats, numbers, TRUE/FALSE."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Complaints"
    sheet.append(HEADER)
    sheet.append([1001, "complaint", date(2025, 6, 2), "Fostering", True, 250.5, datetime(2025, 6, 3, 15, 30), "12/06/2025", "upheld"])
    sheet["C2"].number_format = "dd/mm/yyyy"  # as a council's sheet shows it
    sheet.append([])
    sheet.append(["X-2", "Compliment", "2025-07-01", "Leaving Care", False, None, None, None, None])
    path = tmp_path / "register.xlsx"
    book.save(path)
    result = heard_import(engine, path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Imported 2 representation(s) from register.xlsx (sheet 'Complaints'); new teams: Fostering, Leaving Care."
    with Session(engine) as session:
        cases = {c.reference: c for c in session.exec(select(Case))}
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "import")).one()
    first = cases["1001"]
    assert first.received_at.astimezone(LONDON).date() == date(2025, 6, 2)
    assert (first.adr, first.compensation_pence, first.closed_at.astimezone(LONDON).date()) == (True, 25050, date(2025, 6, 12))
    assert cases["X-2"].received_at.astimezone(LONDON).date() == date(2025, 7, 1) and cases["X-2"].adr is False
    assert audit.detail == {"file": "register.xlsx", "sheet": "Complaints", "rows": 2, "imported": 2, "skipped": 0}


def test_the_first_sheet_is_read_unless_sheet_names_another(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = workbook(tmp_path / "two.xlsx", {
        "Notes": [["reference", "kind", "received_on"], ["N-1", "compliment", date(2025, 6, 2)]],
        "2024 to 2025": [["reference", "kind", "received_on"], ["S-1", "compliment", date(2025, 1, 6)], ["S-2", "compliment", date(2025, 1, 7)]],
    })
    result = heard_import(engine, path, "--sheet", "Nowhere")
    assert result.returncode == 1
    assert error_line(result) == "Error: two.xlsx: the workbook has no sheet 'Nowhere'; its sheets are: 'Notes', '2024 to 2025'"
    assert nothing_written(engine)
    result = heard_import(engine, path, "--sheet", "2024 to 2025")
    assert result.stdout.strip() == "Imported 2 representation(s) from two.xlsx (sheet '2024 to 2025')."
    assert imported(engine) == ["S-1", "S-2"]
    assert heard_import(engine, path).returncode == 0
    assert imported(engine) == ["N-1", "S-1", "S-2"]


def test_sheet_is_refused_for_a_csv_file(sqlite_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plain.csv"
    path.write_text("reference,kind,received_on\nP-1,compliment,2025-06-02\n")
    result = heard_import(sqlite_engine, path, "--sheet", "Sheet1")
    assert result.returncode == 2
    assert error_line(result) == "Error: Invalid value for --sheet: is for Excel workbooks (.xlsx), and plain.csv is not one"
    assert nothing_written(sqlite_engine)


def test_a_bad_row_is_named_by_sheet_and_row_and_nothing_is_imported(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows: list[list[Any]] = [
        ["reference", "kind", "received_on", "team"],
        ["G-1", "compliment", date(2025, 6, 2), "Fostering"],
        ["B-1", "praise", date(2025, 6, 2), "Fostering"],
        [],
        ["B-2", "compliment", "2 June 2025", "Fostering"],
        ["B-3", "compliment", date(2025, 6, 2), "Fostering", None, "a note beyond the table"],
        ["G-2", "compliment", "02/06/2025", "Fostering"],
    ]
    path = workbook(tmp_path / "bad.xlsx", {"Complaints": rows})
    listed = [
        "  sheet 'Complaints', row 3: kind 'praise' is not one of: initial_feedback, complaint, compliment",
        "  sheet 'Complaints', row 5: received_on '2 June 2025' is not a date (YYYY-MM-DD or DD/MM/YYYY)",
        "  sheet 'Complaints', row 6: has a value in column F, right of the header's last column (D)",
    ]
    for options in ((), ("--dry-run",)):
        result = heard_import(engine, path, *options)
        assert result.returncode == 1
        assert result.stderr.strip().splitlines()[-4:] == [*listed, f"Error: bad.xlsx: 3 bad row(s), the first on {listed[0].strip()}; nothing was imported"]
        assert nothing_written(engine)
    result = heard_import(engine, path, "--skip-bad", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-4:] == ["Would skip 3 bad row(s):", *listed]
    assert result.stdout.strip() == "Would import 2 representation(s) from bad.xlsx (sheet 'Complaints'); new teams: Fostering; nothing was written (dry run)."
    assert nothing_written(engine)
    result = heard_import(engine, path, "--skip-bad")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-4:] == ["Skipped 3 bad row(s):", *listed]
    assert imported(engine) == ["G-1", "G-2"]


@pytest.mark.parametrize(
    ("sheets", "message"),
    [
        ({"Complaints": [["reference", "kind", "received_on"]]}, "sheet 'Complaints' has a header but no rows; nothing was imported"),
        ({"Blank": []}, "sheet 'Blank' is empty"),
        ({"Complaints": [["reference", "kind", "received"], ["A-1", "compliment", date(2025, 6, 2)]]}, "sheet 'Complaints', row 1: unknown column 'received'"),
        ({"Complaints": [["reference", "kind"], ["A-1", "compliment"]]}, "sheet 'Complaints', row 1: missing required column 'received_on'"),
    ],
)
def test_a_sheet_without_rows_or_columns_imports_nothing(sqlite_engine, tmp_path, sheets: dict[str, list[list[Any]]], message: str) -> None:  # type: ignore[no-untyped-def]
    path = workbook(tmp_path / "book.xlsx", sheets)
    for options in ((), ("--skip-bad",)):
        result = heard_import(sqlite_engine, path, *options)
        assert result.returncode == 1
        assert error_line(result).startswith(f"Error: book.xlsx: {message}")
        assert nothing_written(sqlite_engine)


def test_a_damaged_workbook_is_refused_in_one_line(sqlite_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import zipfile

    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    result = heard_import(sqlite_engine, path)
    assert result.returncode == 1
    assert error_line(result) == "Error: damaged.xlsx: not an Excel workbook that can be read (KeyError); save it again as .xlsx, or as CSV"
    assert nothing_written(sqlite_engine)
