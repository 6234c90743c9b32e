"""Eligibility flags: things that change which procedure applies, read from what people write.

- `court_proceedings`: court or care proceedings going on now (the council may pause).
- `over_12_months`: what is complained about happened more than 12 months ago (outside the
  statutory time limit unless the council accepts it).
- `on_behalf`: the writer speaks for someone else (a parent for a child, a councillor for a resident).

Each flag is a model score (tuned on held-out data) OR a short, high-precision phrase rule,
so an officer can see the words that set it. The rules are deliberately narrow: the model
carries the rest.
"""

from __future__ import annotations

import re
from datetime import date

_COURT = re.compile(
    r"\b(?:care proceedings|court proceedings|private law proceedings|public law proceedings|family court|final hearing|"
    r"court hearing|next hearing|cafcass|interim care order|court date|going (?:back )?to court|before the court|in court next)\b"
)
_AGO = re.compile(r"\b(?:(?:two|three|four|five|six|seven|eight|nine|ten|\d+) years ago|over a year ago|more than (?:a year|12 months|twelve months) ago)\b")
_YEAR = re.compile(r"\b(?:in|since|from|during|between) ((?:19|20)\d\d)\b")
_BEHALF = re.compile(r"\bon behalf of\b|\bon (?:her|his|their|my \w+s?) behalf\b|\bmy constituents?\b|\ba resident (?:in|of) my ward\b")


ALL_FLAGS = ("court_proceedings", "over_12_months", "on_behalf")


def flag_rules(text: str, *, today: date | None = None, only: tuple[str, ...] = ALL_FLAGS) -> set[str]:
    """The flags (of those in `only`) whose phrase rules fire on a (cleaned) text."""
    lowered = text.lower()
    flags: set[str] = set()
    if "court_proceedings" in only and _COURT.search(lowered):
        flags.add("court_proceedings")
    if "over_12_months" in only:
        this_year = (today or date.today()).year
        if _AGO.search(lowered) or any(int(y) <= this_year - 2 for y in _YEAR.findall(lowered)):
            flags.add("over_12_months")
    if "on_behalf" in only and _BEHALF.search(lowered):
        flags.add("on_behalf")
    return flags
