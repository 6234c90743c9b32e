"""Working days by table look-up, for a million rows at a time.

`WorkingDayCalendar` walks day by day, which is right for one deadline and too slow for an
import or a report. This index asks the calendar once per day of the years in play and then
answers by arithmetic, giving exactly the calendar's and the clock's answers (tests check).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta

from scheduler.calendar import WorkingDayCalendar


class WorkingDayIndex:
    """`count[d]` is how many working days fall on or before `d` (from the first year held)."""

    def __init__(self, calendar: WorkingDayCalendar, *, non_working_day_receipt: str = "next_working_day") -> None:
        self.calendar = calendar
        self.receipt_rule = non_working_day_receipt
        self._first: date | None = None
        self._last: date | None = None
        self._count: dict[date, int] = {}
        self._working: list[date] = []

    @classmethod
    def for_clock(cls, clock) -> WorkingDayIndex:  # type: ignore[no-untyped-def]
        """The index that agrees with a `scheduler.clock.Clock` (its calendar and receipt rule)."""
        return cls(clock.calendar, non_working_day_receipt=clock.policy.calendar.non_working_day_receipt)

    def _cover(self, day: date) -> None:
        if self._first is not None and self._first <= day <= self._last:  # type: ignore[operator]
            return
        first = date(day.year - 1, 1, 1) if self._first is None else min(self._first, date(day.year - 1, 1, 1))
        last = date(day.year + 2, 12, 31) if self._last is None else max(self._last, date(day.year + 2, 12, 31))
        self._build(first, last)

    def _build(self, first: date, last: date) -> None:
        count, working, total, day = {}, [], 0, first
        while day <= last:
            if self.calendar.is_working_day(day):
                total += 1
                working.append(day)
            count[day] = total
            day += timedelta(days=1)
        self._first, self._last, self._count, self._working = first, last, count, working

    def count(self, day: date) -> int:
        self._cover(day)
        return self._count[day]

    def between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`: `WorkingDayCalendar.working_days_between`."""
        if end <= start:
            return 0
        return self.count(end) - self.count(start)

    def day_zero(self, received_on: date) -> date:
        """The clock's day 0: the day received, or the next working day (policy `non_working_day_receipt`)."""
        if self.receipt_rule == "as_received" or self.calendar.is_working_day(received_on):
            return received_on
        self._cover(received_on + timedelta(days=7))
        return self._working[bisect_right(self._working, received_on)]

    def since_receipt(self, received_on: date, end: date) -> int:
        """Working days from a representation's day 0 to `end`, as the clock counts them."""
        return self.between(self.day_zero(received_on), end)

    def add(self, start: date, days: int) -> date:
        """The `days`-th working day after `start`: the end of `WorkingDayCalendar.add_working_days`."""
        if days == 0:
            return start
        target = self.count(start) + days
        while target > len(self._working):
            self._cover(self._last + timedelta(days=400))  # type: ignore[operator]
            target = self.count(start) + days
        return self._working[target - 1]
