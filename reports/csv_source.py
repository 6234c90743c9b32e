"""CSV text as councils have it, read without ever losing a record silently.

Accepted: UTF-8 with or without a byte-order mark, Windows-1252 (Excel's plain "CSV"), and
UTF-16 with its byte-order mark; lines ending in LF, CRLF, or CR alone (old Mac files); commas,
or tabs when the header has tabs and no comma (Excel's "Unicode Text"). What is told from the
start of the file is decided once, before any row is read, and a file that does not fit is
refused in one line. Records are then read by `csv_records`, where a broken one is a bad row.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from reports.csv_records import Records
from reports.sources import Progress, Row, Unreadable, place, plain_header

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
BINARY = "not a text file (it holds binary data); save the records as CSV UTF-8"
CHUNK = 1 << 20
PROGRESS_STEP = 1 << 18  # report progress every 256 KB read, not every line


def _encoding(head: bytes) -> tuple[str, int]:
    """(codec, length of its byte-order mark); codec "" is UTF-8 a line at a time, else Windows-1252."""
    if head.startswith(UTF32_BOMS):
        raise Unreadable("UTF-32 text, which is not accepted; save it as CSV UTF-8")
    if codec := UTF16_BOMS.get(head[:2]):
        return codec, 2
    if b"\x00" in head:
        raise Unreadable(_binary(head))
    return "", len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0


def _binary(head: bytes) -> str:
    sample = head[:4096]
    half = len(sample) / 2
    nuls = sorted((sample[0::2].count(0), sample[1::2].count(0)))
    if nuls[0] < half / 20 and nuls[1] > half / 2:  # NUL in every other byte: ASCII as UTF-16
        return "looks like UTF-16 text without its byte-order mark, so it cannot be read safely; save it as CSV UTF-8"
    return BINARY


def _line_end(text: str) -> str:
    """How the file's lines end, from its start: LF (and CRLF), or CR alone when it has no LF at all."""
    cr = text.find("\r")
    if cr == -1:
        return "\n"
    lf = text.find("\n")
    if lf != -1 and (lf < cr or lf == cr + 1):
        return "\n"
    if lf == -1:
        return "\r"
    raise Unreadable(
        "line 1 is broken by a carriage return (CR) while other lines end in a line feed (LF), "
        "so where its rows end is unclear; save it again as CSV UTF-8"
    )


def _byte_lines(fh: BinaryIO, end: bytes) -> Iterator[bytes]:
    if end == b"\n":
        yield from fh
        return
    rest = b""
    while chunk := fh.read(CHUNK):
        *lines, rest = (rest + chunk).split(end)
        for line in lines:
            yield line + end
    if rest:
        yield rest


class CsvSource:
    """A CSV file's header and records (see the module docstring for what it accepts)."""

    sheet = None

    def __init__(self, path: Path, head: bytes, progress: Progress | None) -> None:
        self.codec, bom = _encoding(head)
        text = head[bom:].decode(self.codec or "utf-8", errors="replace")
        if "\x00" in text:
            raise Unreadable(BINARY)
        self.eol = _line_end(text)
        first = text.split(self.eol, 1)[0]
        delimiter = "\t" if "\t" in first and "," not in first else ","
        self._progress, self._unreported = progress, 0
        self._fh = path.open("rb")
        self._fh.seek(bom)
        self._records = Records(self._texts(), eol=self.eol, delimiter=delimiter)
        self._lines = self._records.lines
        self._rows = iter(self._records)
        header = next(self._rows, None)
        if header is None:
            self.close()
            raise Unreadable("the file has only blank lines")
        if header.problem:
            self.close()
            raise Unreadable(f"{place(header.line)}: {header.problem}")
        self.header_line, self.header = header.line, plain_header(header.values, place(header.line))

    def rows(self) -> Iterator[Row]:
        """Every record after the header, each with as many values as the header has columns, or a problem."""
        width = len(self.header)
        for row in self._rows:
            if row.problem or len(row.values) == width:
                yield row
            else:
                yield Row(row.line, [], f"has {len(row.values)} fields; the header has {width}")
        if self._progress and self._unreported:
            self._progress(self._unreported)

    def close(self) -> None:
        self._fh.close()

    def _texts(self) -> Iterator[str]:
        """Decoded lines, each ending in the line end (the last given one if it had none)."""
        eol = self.eol
        if self.codec:
            lines = io.TextIOWrapper(self._fh, encoding=self.codec, newline=eol)
            try:
                for text in lines:
                    self._count(2 * len(text))
                    yield self._checked(text, "\x00" in text, eol)
            except UnicodeDecodeError:
                raise Unreadable(f"line {self._lines.number + 1} is not valid UTF-16; save the file again") from None
            return
        end = eol.encode()
        for raw in _byte_lines(self._fh, end):
            self._count(len(raw))
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252", errors="replace")
            yield self._checked(text, b"\x00" in raw, eol)

    def _checked(self, text: str, nul: bool, eol: str) -> str:
        if nul:
            raise Unreadable(f"line {self._lines.number + 1} holds binary data (a NUL character), so this is not a CSV file")
        return text if text.endswith(eol) else text + eol

    def _count(self, size: int) -> None:
        if self._progress:
            self._unreported += size
            if self._unreported >= PROGRESS_STEP:
                self._progress(self._unreported)
                self._unreported = 0
