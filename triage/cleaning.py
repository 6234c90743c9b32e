"""Text cleaning shared by intake and the classifier.

The original is always kept; cleaning produces what the classifier reads and what the
queue shows: HTML turned into text (never rendered), Unicode and whitespace normalised,
quoted replies and signature blocks removed. Sign-offs stay ("Kind regards, Jo (foster
carer)") because they tell us who is writing.
"""

from __future__ import annotations

import re
import unicodedata

from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

# Enough for any real representation; protects the classifier from a megabyte of text.
MAX_CLASSIFY_CHARS = 20_000

_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E], None
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")

# Where a quoted earlier message begins: everything from here on is someone else's words.
_QUOTE_HEADERS = [
    re.compile(r"^\s*On .{4,200}(wrote|écrit|schrieb|escribió):\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*Forwarded message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
    re.compile(r"^\s*From:\s.+$", re.IGNORECASE),  # Outlook's header block, when followed by Sent:/Date:
]
_SIGNATURE_MARKERS = [
    re.compile(r"^-- ?$"),
    re.compile(r"^\s*Sent from my (iPhone|iPad|Android|Samsung|mobile|phone|Galaxy).*$", re.IGNORECASE),
    re.compile(r"^\s*Get Outlook for (iOS|Android).*$", re.IGNORECASE),
]
_HTML_CONFIG = ParserConfig(css=CSS_PROFILES["strict"], display_links=False, display_images=False)


def html_to_text(html: str) -> str:
    """Readable text from a stranger's HTML. Scripts and styles are dropped, nothing is fetched."""
    if not html.strip():
        return ""
    try:
        return get_text(html, _HTML_CONFIG)
    except Exception:  # inscriptis is robust, but a stranger's HTML must never stop intake
        return re.sub(r"<[^>]*>", " ", html)


def normalise(text: str) -> str:
    """NFC, no invisible or control characters, tidy spaces and newlines."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text.translate(_INVISIBLE))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def strip_quoted(text: str) -> str:
    """Drop `>` lines and everything after the start of a quoted earlier message."""
    lines = text.split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            continue
        if _starts_quote(line, lines[i + 1 : i + 4]):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def _starts_quote(line: str, following: list[str]) -> bool:
    for pattern in _QUOTE_HEADERS:
        if pattern.match(line):
            if pattern.pattern.startswith(r"^\s*From:"):
                return any(re.match(r"^\s*(Sent|Date):", f, re.IGNORECASE) for f in following)
            return True
    return False


def strip_signature(text: str) -> str:
    """Cut at a `-- ` signature line or a "Sent from my iPhone" footer."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if i > 0 and any(p.match(line) for p in _SIGNATURE_MARKERS):
            return "\n".join(lines[:i]).strip()
    return text


def clean(text: str, *, html: bool = False) -> str:
    """What the classifier reads: the sender's own words, normalised."""
    if html:
        text = html_to_text(text)
    text = normalise(text)
    text = strip_signature(strip_quoted(text))
    return text[:MAX_CLASSIFY_CHARS]
