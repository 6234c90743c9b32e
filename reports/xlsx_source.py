"""Excel workbooks (.xlsx), as councils keep these records: the first sheet, or the one named.

Each cell becomes the text the CSV layout reads, so a workbook is checked exactly as a CSV
file is: a real date cell is its day, whatever format it is shown in (a date typed as text is
read as the layout's date formats allow); TRUE and FALSE are yes and no; a whole number loses
Excel's ".0". Values line up with the header by column; a value right of the header's last
column is a bad row, as a CSV row with too many fields is. Formulas are read as the values
Excel last saved for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from reports.sources import Progress, Row, Unreadable, place, plain_header

PROGRESS_ROWS = 1024


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat()  # a date cell is a day; a time of day on it does not matter
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _worksheet(book: Workbook, name: str | None) -> ReadOnlyWorksheet:
    if name is None:
        if not book.worksheets:
            raise Unreadable("the workbook has no worksheet")
        return book.worksheets[0]
    if name not in book.sheetnames:
        raise Unreadable(f"the workbook has no sheet {name!r}; its sheets are: {', '.join(map(repr, book.sheetnames))}")
    sheet = book[name]
    if not isinstance(sheet, ReadOnlyWorksheet):
        raise Unreadable(f"sheet {name!r} is a chart, not a table of records")
    return sheet


class XlsxSource:
    """One worksheet's header and records."""

    def __init__(self, path: Path, sheet: str | None, progress: Progress | None) -> None:
        self._fh = path.open("rb")  # a file object: openpyxl would refuse a workbook by its name's ending
        self._size, self._progress = path.stat().st_size, progress
        try:
            self._book = load_workbook(self._fh, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - a damaged or foreign zip fails in many ways inside openpyxl
            self._fh.close()
            raise Unreadable(f"not an Excel workbook that can be read ({type(exc).__name__}); save it again as .xlsx, or as CSV") from None
        try:
            worksheet = _worksheet(self._book, sheet)
        except Unreadable:
            self.close()
            raise
        self.sheet: str | None = worksheet.title
        declared = worksheet.max_row or 0  # only to move the progress bar along
        self._reported, self._step = 0, self._size * PROGRESS_ROWS // declared if declared > PROGRESS_ROWS else 0
        worksheet.reset_dimensions()  # the size a workbook declares can be wrong: read every row there is
        self._rows = self._read(worksheet)
        header = next(self._rows, None)
        if header is None:
            self.close()
            raise Unreadable(f"sheet {self.sheet!r} is empty")
        cells = header.values
        while cells and not cells[-1].strip():
            cells.pop()
        self.header_line, self.header = header.line, plain_header(cells, place(header.line, self.sheet))

    def rows(self) -> Iterator[Row]:
        """Every non-blank row after the header, as many values as the header has columns, or a problem."""
        width = len(self.header)
        for row in self._rows:
            values = row.values
            if len(values) > width:
                extra = next((i for i in range(width, len(values)) if values[i].strip()), None)
                if extra is not None:
                    last = get_column_letter(width)
                    yield Row(row.line, [], f"has a value in column {get_column_letter(extra + 1)}, right of the header's last column ({last})")
                    continue
                values = values[:width]
            yield Row(row.line, values + [""] * (width - len(values)))
        self._report(self._size - self._reported)

    def _report(self, size: int) -> None:
        size = min(size, self._size - self._reported)
        if self._progress and size > 0:
            self._progress(size)
            self._reported += size

    def close(self) -> None:
        self._book.close()
        self._fh.close()

    def _read(self, worksheet: ReadOnlyWorksheet) -> Iterator[Row]:
        number = 0
        try:
            for number, cells in enumerate(worksheet.iter_rows(values_only=True), start=1):
                if self._step and number % PROGRESS_ROWS == 0:  # openpyxl reads slowly: show it moving
                    self._report(self._step)
                values = [_text(c) for c in cells]
                if any(v.strip() for v in values):
                    yield Row(number, values)
        except Exception as exc:  # noqa: BLE001 - damaged sheet XML fails in many ways inside openpyxl
            raise Unreadable(f"sheet {self.sheet!r} cannot be read after row {number} ({type(exc).__name__})") from None
