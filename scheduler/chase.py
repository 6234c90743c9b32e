"""Chasing deadlines: when each reminder and escalation falls due, and which one is due now.

Reminders go to the case owner and team manager a few working days before a response is
due and on the day; once overdue, the complaints manager is told, and told again every
`escalation_repeat` working days. After downtime only the latest action is sent: the
reminders it passed are superseded by it, so people get one message, not a flood.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.enums import DeadlineKind
from scheduler.calendar import WorkingDayCalendar

RESPONSES = frozenset(
    {
        DeadlineKind.initial_feedback,
        DeadlineKind.stage_1,
        DeadlineKind.stage_2,
        DeadlineKind.stage_3_panel,
        DeadlineKind.stage_3_report,
        DeadlineKind.stage_3_response,
    }
)


@dataclass(frozen=True)
class Due:
    label: str | None  # "before:3", "before:0", "overdue:2", or None when nothing is due yet
    next_on: date  # the next day something will be due


def reminder_days(calendar: WorkingDayCalendar, due: date, before: list[int]) -> list[tuple[date, str]]:
    return [(calendar.subtract_working_days(due, k), f"before:{k}") for k in sorted(set(before), reverse=True)]


def first_action_on(calendar: WorkingDayCalendar, due: date, before: list[int]) -> date:
    """Where a new response deadline's bookmark starts."""
    days = reminder_days(calendar, due, before)
    return days[0][0] if days else calendar.after(due, 1)


def due_now(calendar: WorkingDayCalendar, due: date, today: date, before: list[int], repeat: int) -> Due:
    """The latest action due on `today`, and when the next one falls.

    1. From the first working day after the due date, it is the nth escalation, n counting
       every `repeat` working days.
    2. Before that, it is the latest reminder whose day has come.
    """
    first_over = calendar.after(due, 1)
    if today >= first_over:
        n = calendar.working_days_between(first_over, today) // repeat + 1
        return Due(f"overdue:{n}", calendar.after(first_over, n * repeat))
    reminders = reminder_days(calendar, due, before)
    passed = [label for day, label in reminders if day <= today]
    coming = [day for day, _ in reminders if day > today]
    return Due(passed[-1] if passed else None, coming[0] if coming else first_over)


def bookmark_for(calendar: WorkingDayCalendar, kind: DeadlineKind, due: date, before: list[int]) -> date | None:
    """When the sweep should first look at a new deadline: a response at its first reminder, an
    acknowledgement on the day it would be late; request windows are looked at by due date."""
    if kind in RESPONSES:
        return first_action_on(calendar, due, before)
    if kind is DeadlineKind.acknowledgement:
        return calendar.after(due, 1)
    return None


def days_left(calendar: WorkingDayCalendar, today: date, due: date) -> int:
    return calendar.working_days_between(today, due)
