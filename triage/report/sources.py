"""Where `heard import` reads its records from: a CSV text file, told apart by its content.

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
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls workbook (and .doc)
LONGEST_NAME = 64

Progress = Callable[[int], None]


class Unreadable(Exception):
    """The file as a whole cannot be read as records; the message is one line for the person importing."""


class Row(NamedTuple):
    line: int  # the CSV line where the record starts
    values: list[str]  # one per header column; empty when `problem` is set
    problem: str = ""


class Source(Protocol):
    header: list[str]
    header_line: int

    def rows(self) -> Iterator[Row]: ...

    def close(self) -> None: ...


def place(line: int) -> str:
    """Where a record is, in the words of the file the person has open."""
    return f"line {line}"


def open_source(path: Path, *, progress: Progress | None = None) -> Source:
    """The file's records, its header already read; raises `Unreadable` (or `OSError`)."""
    from triage.report.csv_source import CsvSource

    with path.open("rb") as fh:
        head = fh.read(HEAD)
    if not head:
        raise Unreadable("the file is empty")
    if head.startswith(OLE2):
        raise Unreadable("an old-style Excel workbook (.xls), which cannot be read; save it as CSV")
    return CsvSource(path, head, progress)


def plain_header(values: list[str], where: str) -> list[str]:
    """The header as read, refused when it is plainly not a row of column names (binary junk, a title)."""
    for value in values:
        if len(value) > LONGEST_NAME or any(c < " " and c != "\t" for c in value):
            raise Unreadable(f"{where} is not a row of column names (reference, kind, received_on, …); is this the right file?")
    return values
