"""Time: the working-day calendar, the council policy, the clock and the sweep. Imports `models`."""

from scheduler.calendar import WorkingDayCalendar
from scheduler.clock import CaseEvents, Clock, DueDate, day_label
from scheduler.policy import Policy, PolicyError, load_policy

__all__ = [
    "CaseEvents",
    "Clock",
    "DueDate",
    "Policy",
    "PolicyError",
    "WorkingDayCalendar",
    "day_label",
    "load_policy",
]
