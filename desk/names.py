"""Names that officers and teams are shown by, checked once for every way they are set
(the admin page, `heard officer`), so a name cannot disguise itself in a list."""

from __future__ import annotations

import unicodedata

MAX_NAME = 80
# Cc: control characters; Cf: format characters (bidi overrides like U+202E, zero-width joiners);
# Zl/Zp: line and paragraph separators. None belongs in a name.
_HIDDEN = {"Cc", "Cf", "Zl", "Zp"}


def normalise(name: str) -> str:
    """The form a name is stored and looked up in: NFC, trimmed, inner spaces collapsed.
    Sign-in and its limiter both use this, so " olu" and "olu" are the same name."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def checked(name: str, what: str = "an officer") -> str:
    """The normalised name, or ValueError saying in plain words what is wrong with it."""
    clean = normalise(name)
    if not clean:
        raise ValueError(f"{what} needs a name")
    if len(clean) > MAX_NAME:
        raise ValueError(f"a name can have at most {MAX_NAME} characters (this one has {len(clean)})")
    hidden = [c for c in clean if unicodedata.category(c) in _HIDDEN]
    if hidden:
        codes = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(hidden))
        raise ValueError(f"a name cannot contain invisible or control characters ({codes})")
    return clean
