"""CSV records from decoded lines, where one broken record never takes others with it.

The reader is strict about quotes, so a quote that is never closed (or that is "closed" by
another row's opening quote) is found instead of silently swallowing the rows after it into
one field. The record it opened in is then a bad row, and the lines after the one it opened on
are read again as records of their own. Any other record the reader cannot parse is a bad row,
and reading goes on at the next line.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator

from reports.sources import Row, Unreadable

MAX_RUNAWAYS = 100  # quotes never closed before the file is taken for something other than CSV

Line = tuple[int, str]  # (line number, text with its line end)


class _Lines:
    """The lines for `csv.reader`, numbered, keeping those of the record being read."""

    def __init__(self, texts: Iterator[str]) -> None:
        self._texts = texts
        self._again: deque[Line] = deque()
        self.number = 0  # the last line taken from the file
        self.record: list[Line] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            line = self._again.popleft()
        else:
            text = next(self._texts, None)
            if text is None:
                raise StopIteration
            self.number += 1
            line = (self.number, text)
        self.record.append(line)
        return line[1]

    def again(self, lines: list[Line]) -> None:
        self._again.extendleft(reversed(lines))


class Records:
    """Every non-blank record of the lines, as a `Row` (any width), or a bad `Row` saying why.

    `texts` must end every line in `eol`, the last one too: then only a quote still open can
    carry a record past the end of the file.
    """

    def __init__(self, texts: Iterator[str], *, eol: str, delimiter: str) -> None:
        self.lines = _Lines(texts)
        self.eol, self.delimiter = eol, delimiter
        self._reader = csv.reader(self.lines, delimiter=delimiter, strict=True)
        self._runaways = 0

    def __iter__(self) -> Iterator[Row]:
        lines, reader = self.lines, self._reader
        while True:
            lines.record.clear()
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # the reader starts afresh at the next line
                yield self._broken(str(exc))
                continue
            if any(v.strip() for v in values):
                yield Row(lines.record[0][0], values)

    def _broken(self, message: str) -> Row:
        record = self.lines.record
        start = record[0][0]
        if message.startswith("unexpected end of data") or (len(record) > 1 and message.startswith(("field larger", "'"))):
            return self._runaway(record)
        if message.startswith("'"):  # "',' expected after '"'" on one line: read it as it always was
            values = next(csv.reader([record[0][1]], delimiter=self.delimiter))
            if values[-1].endswith(self.eol):
                return Row(start, [], 'has a quote (") that closes in the middle of a field; inside quotes, write a quote twice ("")')
            return Row(start, values) if any(v.strip() for v in values) else Row(start, [], "is not valid CSV")
        if message.startswith("new-line character"):
            stray = "a carriage return (CR)" if self.eol == "\n" else "a line feed (LF)"
            return Row(start, [], f"has {stray} in the middle of a line, outside quotes; remove it, or put the field in quotes")
        if message.startswith("field larger"):
            return Row(start, [], f"has a field longer than {csv.field_size_limit():,} characters")
        return Row(start, [], f"is not valid CSV ({message})")

    def _runaway(self, record: list[Line]) -> Row:
        """A quote that ran on over line ends: its record is bad; the lines after the one it
        opened on are read again."""
        self._runaways += 1
        if self._runaways > MAX_RUNAWAYS:
            raise Unreadable(f'quotes (") are never closed on more than {MAX_RUNAWAYS} lines, so this is not CSV that can be read')
        opened = _runaway_quote(record, self.delimiter)
        self.lines.again(record[opened + 1 :])
        start, line = record[0][0], record[opened][0]
        where = "this line" if line == start else f"line {line}"
        return Row(start, [], f'has a quote (") opened on {where} that is never closed')


def _runaway_quote(record: list[Line], delimiter: str) -> int:
    """Which of the record's lines opened the last quoted field that ran on past a line end."""
    opened = runaway = 0
    quoted = closing = False
    field_start = True
    for index, (_, text) in enumerate(record):
        for char in text:
            if quoted:
                if closing and char != '"':  # a closing quote, not a doubled one
                    quoted = closing = False
                elif char == '"':
                    closing = not closing
                    continue
                elif char in "\r\n":
                    runaway = opened
                    continue
                else:
                    continue
            if char == '"' and field_start:
                quoted, opened = True, index
            field_start = char in (delimiter, "\r", "\n")
    return runaway
