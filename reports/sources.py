"""Where `heard import` reads its records from: a CSV text file or an Excel workbook, told
apart by their content rather than their names.

A source yields every record after the header as a `Row`, in file order: its values lined up
with the header, or the reason it cannot be read. Only blank rows are passed over, so the
importer can promise that a row it does not import is a row it lists. What cannot be read with
confidence at all is refused whole (`Unreadable`), with one line saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple, Protocol

HEAD = 1 << 16  # how much of the file is looked at to tell what it is
ZIP = b"PK\x03\x04"  # an .xlsx workbook is a zip archive
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls workbook (and .doc)
LONGEST_NAME = 64

Progress = Callable[[int], None]


class Unreadable(Exception):
    """The file as a whole cannot be read as records; the message is one line for the person importing."""


class Row(NamedTuple):
    line: int  # the CSV line where the record starts, or the worksheet's row
    values: list[str]  # one per header column; empty when `problem` is set
    problem: str = ""


class Source(Protocol):
    sheet: str | None  # the worksheet read, or None for CSV
    header: list[str]
    header_line: int

    def rows(self) -> Iterator[Row]: ...

    def close(self) -> None: ...


def place(line: int, sheet: str | None = None) -> str:
    """Where a record is, in the words of the file the person has open: a line, or a sheet's row."""
    return f"line {line}" if sheet is None else f"sheet {sheet!r}, row {line}"


def is_workbook(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(ZIP)) == ZIP


def open_source(path: Path, *, sheet: str | None = None, progress: Progress | None = None) -> Source:
    """The file's records, its header already read; raises `Unreadable` (or `OSError`).

    `sheet` names the worksheet of a workbook to read (default: the first).
    """
    from reports.csv_source import CsvSource
    from reports.xlsx_source import XlsxSource

    with path.open("rb") as fh:
        head = fh.read(HEAD)
    if not head:
        raise Unreadable("the file is empty")
    if head.startswith(ZIP):
        return XlsxSource(path, sheet, progress)
    if head.startswith(OLE2):
        raise Unreadable("an old-style Excel workbook (.xls), which cannot be read; save it as .xlsx, or as CSV")
    if sheet is not None:
        raise Unreadable("--sheet is for Excel workbooks (.xlsx), and this file is not one")
    return CsvSource(path, head, progress)


def plain_header(values: list[str], where: str) -> list[str]:
    """The header as read, refused when it is plainly not a row of column names (binary junk, a title)."""
    for value in values:
        if len(value) > LONGEST_NAME or any(c < " " and c != "\t" for c in value):
            raise Unreadable(f"{where} is not a row of column names (reference, kind, received_on, …); is this the right file?")
    return values
