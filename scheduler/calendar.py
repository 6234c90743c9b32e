"""Working days in England and Wales.

A working day is any day but Saturday, Sunday, Christmas Day, Boxing Day, Good Friday and the
bank holidays of England and Wales (substitute days included), as the `holidays` package
publishes them, and any extra closure days in the council's policy.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property, lru_cache

import holidays


@dataclass(frozen=True)
class Skipped:
    """A weekday that was not counted, and why."""

    day: date
    why: str


@dataclass(frozen=True)
class Count:
    """The result of counting working days forward, with what was skipped on the way."""

    start: date
    days: int
    end: date
    skipped: tuple[Skipped, ...]


@dataclass
class WorkingDayCalendar:
    extra_closures: dict[date, str] = field(default_factory=dict)
    _days: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _last_year: int = field(default=0, init=False, repr=False, compare=False)

    @cached_property
    def _bank_holidays(self) -> holidays.HolidayBase:
        return holidays.country_holidays("GB", subdiv="ENG")

    def closure(self, day: date) -> str | None:
        """Why a weekday is not a working day, or None when it is one."""
        return _closure_cached(self, day)

    def _closure(self, day: date) -> str | None:
        name = self._bank_holidays.get(day)
        if name:
            return str(name).replace(" (observed)", ", substitute day")
        return self.extra_closures.get(day)

    def __hash__(self) -> int:
        return id(self)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and self.closure(day) is None

    def next_working_day(self, day: date) -> date:
        """The day itself when it is a working day, else the next one."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, days: int) -> Count:
        """Count `days` working days after `start` (which is day 0)."""
        if days < 0:
            raise ValueError("days must not be negative")
        current, counted, skipped = start, 0, []
        while counted < days:
            current += timedelta(days=1)
            if current.weekday() >= 5:
                continue
            why = self.closure(current)
            if why:
                skipped.append(Skipped(current, why))
                continue
            counted += 1
        return Count(start, days, current, tuple(skipped))

    def _index(self, year: int) -> list[int]:
        """Ordinals of every working day from 1990 to well past `year`, built once (bisect, not loops)."""
        if not self._days or year + 2 > self._last_year:
            last = max(year + 10, 2040)
            day, end = date(1990, 1, 1), date(last, 12, 31)
            days = []
            while day <= end:
                if self.is_working_day(day):
                    days.append(day.toordinal())
                day += timedelta(days=1)
            self._days, self._last_year = days, last
        return self._days

    def after(self, start: date, days: int) -> date:
        """The `days`th working day after `start` (fast; `add_working_days` also says what it skipped)."""
        index = self._index(start.year)
        return date.fromordinal(index[bisect_right(index, start.toordinal()) + days - 1]) if days > 0 else start

    def subtract_working_days(self, end: date, days: int) -> date:
        """The working day `days` working days before `end` (0 → `end` itself)."""
        if days <= 0:
            return end
        index = self._index(end.year)
        return date.fromordinal(index[bisect_left(index, end.toordinal()) - days])

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        if end <= start:
            return 0
        index = self._index(end.year)
        return bisect_right(index, end.toordinal()) - bisect_right(index, start.toordinal())

    def closures_in(self, years: Iterable[int]) -> list[tuple[date, str]]:
        """Every weekday closure in the given years, for display and checks."""
        found: list[tuple[date, str]] = []
        for year in years:
            day = date(year, 1, 1)
            while day.year == year:
                why = self.closure(day) if day.weekday() < 5 else None
                if why:
                    found.append((day, why))
                day += timedelta(days=1)
        return found


@lru_cache(maxsize=65536)
def _closure_cached(calendar: WorkingDayCalendar, day: date) -> str | None:
    return calendar._closure(day)
