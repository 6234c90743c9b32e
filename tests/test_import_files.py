"""`heard import` reads every file a council may have, or refuses it in one line having imported
nothing; and no record is ever lost without being listed (issue #16)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Case, Team
from tests.helpers import run_heard

HEADER = "reference,kind,received_on,team"


def rows(*references: str) -> list[str]:
    return [f"{ref},compliment,02/06/2025,Fostering" for ref in references]


def heard_import(engine: Engine, path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return run_heard("import", *options, str(path), database_url=engine.url.render_as_string(hide_password=False))


def imported(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(Case.reference)))


def nothing_written(engine: Engine) -> bool:
    with Session(engine) as session:
        return not session.exec(select(Case)).first() and not session.exec(select(Team)).first() and not session.exec(select(AuditEvent)).first()


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line saying what is wrong (a progress label may come before it)."""
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("old-mac.csv", "\r".join([HEADER, *rows("M-1", "M-2"), ""]).encode("cp1252")),
        ("windows-utf16.csv", "\r\n".join([HEADER, *rows("M-1", "M-2")]).encode("utf-16")),
        ("big-endian.csv", b"\xfe\xff" + "\r".join([HEADER, *rows("M-1", "M-2")]).encode("utf-16-be")),
        ("unicode-text.txt", "\r\n".join([HEADER.replace(",", "\t"), *(r.replace(",", "\t") for r in rows("M-1", "M-2")), ""]).encode("utf-16")),
    ],
)
def test_cr_line_ends_and_utf16_with_a_bom_are_read(sqlite_engine, tmp_path, name: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    """Old Mac CSVs end lines in CR alone; Excel's "Unicode Text" is UTF-16 with tabs."""
    path = tmp_path / name
    path.write_bytes(content)
    result = heard_import(sqlite_engine, path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Imported 2 representation(s) from {name}; new teams: Fostering."
    assert imported(sqlite_engine) == ["M-1", "M-2"]


def test_utf16_keeps_letters_beyond_ascii(sqlite_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "café.csv"
    path.write_bytes(f"{HEADER}\r\nC-1,compliment,2025-06-02,Café Team – Nord\r\n".encode("utf-16"))
    assert heard_import(sqlite_engine, path).returncode == 0
    with Session(sqlite_engine) as session:
        assert session.exec(select(Team.name)).one() == "Café Team – Nord"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\r\n\n  \n", "the file has only blank lines"),
        (b"\x00\x01\x02junk\rmore\x00junk\n" * 40, "not a text file (it holds binary data); save the records as CSV UTF-8"),
        (f"{HEADER}\n{rows('U-1')[0]}\n".encode("utf-16-le"), "looks like UTF-16 text without its byte-order mark, so it cannot be read safely; save it as CSV UTF-8"),
        (b"\xff\xfe\x00\x00" + f"{HEADER}\n".encode("utf-32-le"), "UTF-32 text, which is not accepted; save it as CSV UTF-8"),
        (
            f"reference,kind\r,received_on\n{rows('U-1')[0]}\n".encode(),
            "line 1 is broken by a carriage return (CR) while other lines end in a line feed (LF), so where its rows end is unclear; save it again as CSV UTF-8",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "an old-style Excel workbook (.xls), which cannot be read; save it as .xlsx, or as CSV"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a text file (it holds binary data); save the records as CSV UTF-8"),
        (
            "\n".join([HEADER, *rows(*(f"U-{n}" for n in range(2000))), ""]).encode() + b"U-X,compliment,\x0002/06/2025,Fostering\n",
            "line 2002 holds binary data (a NUL character), so this is not a CSV file; nothing was imported",
        ),
        (b"Complaints register 2019 to 2024 exported from the old system and not to be edited by hand\nreference\n", 'line 1 is not a row of column names (reference, kind, received_on, …); is this the right file?'),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_in_one_line_and_nothing_is_imported(engine, tmp_path, content: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "records.csv"
    path.write_bytes(content)
    for options in ((), ("--skip-bad",)):
        result = heard_import(engine, path, *options)
        assert result.returncode == 1
        assert error_line(result) == f"Error: records.csv: {message}"
        assert nothing_written(engine)


def test_a_carriage_return_inside_a_row_is_that_rows_fault_alone(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A stray CR (a Mac-pasted cell) used to end the reading there, and --skip-bad dropped every later row unlisted."""
    lines = [HEADER, *rows("R-1"), "R-2,compli\rment,02/06/2025,Fostering", *rows("R-3", "R-4"), ""]
    path = tmp_path / "stray.csv"
    path.write_bytes("\r\n".join(lines).encode())
    reason = "line 3: has a carriage return (CR) in the middle of a line, outside quotes; remove it, or put the field in quotes"
    result = heard_import(engine, path)
    assert result.returncode == 1
    assert f"  {reason}" in result.stderr.splitlines()
    assert error_line(result) == f"Error: stray.csv: 1 bad row(s), the first on {reason}; nothing was imported"
    assert nothing_written(engine)
    result = heard_import(engine, path, "--skip-bad")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-2:] == ["Skipped 1 bad row(s):", f"  {reason}"]
    assert imported(engine) == ["R-1", "R-3", "R-4"]


def test_a_carriage_return_inside_quotes_is_part_of_the_text(sqlite_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "quoted.csv"
    path.write_bytes(b'reference,kind,received_on,learning\r\nQ-1,complaint,02/06/2025,"first\rsecond\r\nthird"\r\nQ-2,compliment,02/06/2025,\r\n')
    assert heard_import(sqlite_engine, path).returncode == 0
    with Session(sqlite_engine) as session:
        assert session.exec(select(Case.learning).where(Case.reference == "Q-1")).one() == "first\rsecond\r\nthird"
    assert imported(sqlite_engine) == ["Q-1", "Q-2"]


QUOTED = "reference,kind,received_on,learning"


def test_a_quote_never_closed_is_reported_where_it_opened_and_swallows_nothing(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """It used to take every later row into one field, import one row, and exit 0."""
    path = tmp_path / "quote.csv"
    path.write_text("\n".join([QUOTED, "Q-1,compliment,02/06/2025,fine", 'Q-2,compliment,02/06/2025,"Apologised', "Q-3,compliment,02/06/2025,", "Q-4,compliment,02/06/2025,", ""]))
    reason = 'line 3: has a quote (") opened on this line that is never closed'
    result = heard_import(engine, path)
    assert result.returncode == 1
    assert error_line(result) == f"Error: quote.csv: 1 bad row(s), the first on {reason}; nothing was imported"
    assert nothing_written(engine)
    result = heard_import(engine, path, "--skip-bad")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-2:] == ["Skipped 1 bad row(s):", f"  {reason}"]
    assert imported(engine) == ["Q-1", "Q-3", "Q-4"]


def test_a_quote_closed_by_a_later_rows_quote_is_found_too(sqlite_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Q-2's stray quote pairs with Q-4's opening one: read leniently, Q-3 and half of Q-4 would vanish into Q-2's text."""
    lines = [QUOTED, 'Q-2,compliment,02/06/2025,"Apologised', "Q-3,compliment,02/06/2025,", 'Q-4,compliment,02/06/2025,"Two', 'lines."', ""]
    path = tmp_path / "pair.csv"
    path.write_text("\r\n".join(lines))
    result = heard_import(sqlite_engine, path, "--skip-bad")
    assert result.stderr.splitlines()[-1] == '  line 2: has a quote (") opened on this line that is never closed'
    assert imported(sqlite_engine) == ["Q-3", "Q-4"]
    with Session(sqlite_engine) as session:
        assert session.exec(select(Case.learning).where(Case.reference == "Q-4")).one() == "Two\r\nlines."


def test_a_quote_never_closed_in_a_long_file_loses_no_row_after_it(sqlite_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Past 131,072 characters the CSV reader gives up on the field; the rows it had swallowed are read again."""
    after = [f"L-{n},compliment,02/06/2025,{'x' * 60}" for n in range(3000)]
    path = tmp_path / "long.csv"
    path.write_text("\n".join([QUOTED, 'L-A,compliment,02/06/2025,"never closed', *after, ""]))
    result = heard_import(sqlite_engine, path, "--skip-bad")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-2:] == ["Skipped 1 bad row(s):", '  line 2: has a quote (") opened on this line that is never closed']
    assert len(imported(sqlite_engine)) == 3000


def test_the_line_a_quote_opened_on_is_named_when_its_row_began_earlier() -> None:
    from reports.csv_records import Records

    lines = ['F-1,x,"two\n', 'lines","never closed\n', "F-2,a,b,c\n"]
    assert [tuple(r) for r in Records(iter(lines), eol="\n", delimiter=",")] == [
        (1, [], 'has a quote (") opened on line 2 that is never closed'),
        (3, ["F-2", "a", "b", "c"], ""),
    ]


def test_skip_bad_lists_every_row_it_skips(sqlite_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """It used to list 50 and say "… and 1,005 more", keeping only the first 1,000 at all."""
    bad = [f"B-{n},grumble,02/06/2025,Fostering" for n in range(1055)]
    path = tmp_path / "many.csv"
    path.write_text("\n".join([HEADER, *rows("G-1"), *bad, *rows("G-2"), ""]))
    result = heard_import(sqlite_engine, path, "--skip-bad")
    assert result.returncode == 0, result.stderr
    listed = [line for line in result.stderr.splitlines() if line.startswith("  ")]
    assert listed == [f"  line {n}: kind 'grumble' is not one of: initial_feedback, complaint, compliment" for n in range(3, 1058)]
    assert "Skipped 1,055 bad row(s):" in result.stderr
    assert imported(sqlite_engine) == ["G-1", "G-2"]


def test_a_header_without_rows_imports_nothing_and_exits_1(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "header.csv"
    path.write_text(f"{HEADER}\r\n\r\n")
    for options in ((), ("--skip-bad",)):
        result = heard_import(engine, path, *options)
        assert result.returncode == 1
        assert error_line(result) == "Error: header.csv: the file has a header but no rows; nothing was imported"
        assert "Imported" not in result.stdout
        assert nothing_written(engine)


def test_skip_bad_with_every_row_bad_imports_nothing_and_exits_1(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([HEADER, "B-1,grumble,02/06/2025,Fostering", "B-2,compliment,31/02/2025,Fostering", ""]))
    result = heard_import(engine, path, "--skip-bad")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-3:] == [
        "  line 2: kind 'grumble' is not one of: initial_feedback, complaint, compliment",
        "  line 3: received_on '31/02/2025' is not a date (YYYY-MM-DD or DD/MM/YYYY)",
        "Error: bad.csv: all 2 row(s) are bad; nothing was imported",
    ]
    assert "Imported" not in result.stdout
    assert nothing_written(engine)


def test_a_dry_run_checks_everything_and_writes_nothing(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = tmp_path / "first.csv"
    first.write_text("\n".join([HEADER, "D-0,compliment,02/06/2025,", ""]))
    assert heard_import(engine, first).returncode == 0
    path = tmp_path / "dry.csv"
    path.write_text("\n".join([HEADER, *rows("D-1", "D-0", "D-2"), "D-3,grumble,02/06/2025,", ""]))
    result = heard_import(engine, path, "--dry-run")
    assert result.returncode == 1
    assert error_line(result) == "Error: dry.csv: 2 bad row(s), the first on line 3: reference D-0 is already in the case record; nothing was imported"
    result = heard_import(engine, path, "--dry-run", "--skip-bad")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-3:] == [
        "Would skip 2 bad row(s):",
        "  line 3: reference D-0 is already in the case record",
        "  line 5: kind 'grumble' is not one of: initial_feedback, complaint, compliment",
    ]
    assert result.stdout.strip() == "Would import 2 representation(s) from dry.csv; new teams: Fostering; nothing was written (dry run)."
    assert imported(engine) == ["D-0"]
    with Session(engine) as session:
        assert not session.exec(select(Team)).first()
        assert len(session.exec(select(AuditEvent)).all()) == 1
    result = heard_import(engine, path, "--skip-bad")
    assert result.stdout.strip() == "Imported 2 representation(s) from dry.csv; new teams: Fostering."
    assert imported(engine) == ["D-0", "D-1", "D-2"]
