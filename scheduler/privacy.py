"""How long a case is kept, as the privacy wording says it: read from the policy's `[retention]`
section when it has one, else the common local-government default of 6 years after the case
closes. Only the words need this; deleting on time is the retention schedule's work."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

DEFAULT_YEARS = 6  # after the case closes (DOMAIN.md: Personal data)
# The names a `[retention]` section may give the period for a closed case, most specific first.
CASE_PERIOD_NAMES = ("case_years", "years_after_close", "case_after_close", "closed_case", "case", "cases", "default")


def _years(value: Any) -> int | None:
    """A period as whole years: 6, "6 years", "P6Y", or a timedelta (rounded down)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, timedelta):
        return value.days // 365 or None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*P?(\d+)\s*(?:Y|years?)?\s*", value, flags=re.IGNORECASE)
        return int(match.group(1)) or None if match else None
    nested = getattr(value, "years", None)
    return _years(nested) if nested is not None else None


def case_years(policy: Any) -> int:
    """Years a case is kept after it closes, from `policy.retention` (attributes or a dict), or 6."""
    retention = getattr(policy, "retention", None)
    if retention is None:
        return DEFAULT_YEARS
    for name in CASE_PERIOD_NAMES:
        value = retention.get(name) if isinstance(retention, dict) else getattr(retention, name, None)
        years = _years(value) if value is not None else None
        if years:
            return years
    return DEFAULT_YEARS
