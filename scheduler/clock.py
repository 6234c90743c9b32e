"""The statutory clock: from what has happened on a case, every deadline and how it was worked out.

The day a representation is received is day 0; a deadline of N working days is the Nth
working day after it. Every date carries a sentence a complainant could check by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.enums import DeadlineKind, Kind, Procedure
from scheduler.calendar import Count, WorkingDayCalendar
from scheduler.policy import Policy, Timescales


def day_label(day: date) -> str:
    """`Wed 23 Dec 2026`: the form every explanation uses."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


@dataclass(frozen=True)
class DueDate:
    kind: DeadlineKind
    due_on: date
    explanation: str
    working_days: int
    start: date


@dataclass(frozen=True)
class CaseEvents:
    """What has happened on a case so far; each date is a local (Europe/London) calendar day."""

    received_on: date
    procedure: Procedure = Procedure.statutory
    kind: Kind | None = None  # None (not yet triaged) is clocked as a complaint: the safe side
    stage_1_extended: bool = False
    stage_1_responded_on: date | None = None
    stage_2_requested_on: date | None = None
    stage_2_statement_agreed_on: date | None = None
    stage_2_extended: bool = False
    stage_2_responded_on: date | None = None
    stage_3_requested_on: date | None = None
    stage_3_panel_on: date | None = None
    stage_3_report_on: date | None = None


WHAT = {
    DeadlineKind.acknowledgement: "acknowledge receipt",
    DeadlineKind.initial_feedback: "respond to the initial feedback",
    DeadlineKind.stage_1: "send the stage 1 response",
    DeadlineKind.stage_2_request: "last day to ask for stage 2",
    DeadlineKind.stage_2: "send the stage 2 adjudication",
    DeadlineKind.stage_3_request: "last day to ask for stage 3",
    DeadlineKind.stage_3_panel: "hold the review panel",
    DeadlineKind.stage_3_report: "send the panel's report",
    DeadlineKind.stage_3_response: "send the council's response to the panel",
}


class Clock:
    def __init__(self, policy: Policy, calendar: WorkingDayCalendar | None = None) -> None:
        self.policy = policy
        self.calendar = calendar or WorkingDayCalendar(dict(policy.calendar.extra_closures))

    # 1. Where the count starts.
    def day_zero(self, received_on: date) -> tuple[date, str]:
        text = f"received {day_label(received_on)}"
        if self.calendar.is_working_day(received_on):
            return received_on, f"{text} (day 0)"
        if self.policy.calendar.non_working_day_receipt == "as_received":
            return received_on, f"{text} (day 0, although not a working day)"
        start = self.calendar.next_working_day(received_on)
        return start, f"{text}, not a working day, so day 0 is {day_label(start)}"

    # 2. One count, explained.
    def count(self, kind: DeadlineKind, start: date, days: int, opening: str, note: str = "") -> DueDate:
        counted = self.calendar.add_working_days(start, days)
        explanation = f"{opening}; {days} working days{note}{_skipping(counted)} → {day_label(counted.end)}"
        return DueDate(kind, counted.end, explanation, days, start)

    def _from_event(self, kind: DeadlineKind, event: str, on: date, days: int, note: str = "") -> DueDate:
        return self.count(kind, on, days, f"{event} {day_label(on)}", note)

    # 3. Every deadline the events so far call for.
    def deadlines(self, events: CaseEvents) -> list[DueDate]:
        t = self.policy.timescales(events.procedure)
        start, opening = self.day_zero(events.received_on)
        due: list[DueDate] = []
        if events.kind is Kind.compliment:
            return due
        due.append(self.count(DeadlineKind.acknowledgement, start, t.acknowledgement, opening))
        if events.kind is Kind.initial_feedback:
            due.append(self.count(DeadlineKind.initial_feedback, start, t.initial_feedback, opening))
            return due
        if events.stage_1_extended:
            note = f" (extended once from {t.stage_1})"
            due.append(self.count(DeadlineKind.stage_1, start, t.stage_1_extended, opening, note))
        else:
            due.append(self.count(DeadlineKind.stage_1, start, t.stage_1, opening))
        due.extend(self._later_stages(events, t))
        return due

    def _later_stages(self, e: CaseEvents, t: Timescales) -> list[DueDate]:
        due: list[DueDate] = []
        if e.stage_1_responded_on:
            due.append(self._from_event(DeadlineKind.stage_2_request, "stage 1 response sent", e.stage_1_responded_on, t.stage_2_request_window))
        stage_2_start = e.stage_2_requested_on if t.stage_2_starts_from == "request" else e.stage_2_statement_agreed_on
        if stage_2_start:
            event = "stage 2 requested" if t.stage_2_starts_from == "request" else "statement of complaint agreed"
            days, note = (t.stage_2_extended, f" (extended from {t.stage_2})") if e.stage_2_extended else (t.stage_2, "")
            due.append(self._from_event(DeadlineKind.stage_2, event, stage_2_start, days, note))
        if not t.has_stage_3:
            return due
        assert t.stage_3_request_window and t.stage_3_panel and t.stage_3_report and t.stage_3_response
        if e.stage_2_responded_on:
            due.append(self._from_event(DeadlineKind.stage_3_request, "stage 2 adjudication sent", e.stage_2_responded_on, t.stage_3_request_window))
        if e.stage_3_requested_on:
            due.append(self._from_event(DeadlineKind.stage_3_panel, "stage 3 requested", e.stage_3_requested_on, t.stage_3_panel))
        if e.stage_3_panel_on:
            due.append(self._from_event(DeadlineKind.stage_3_report, "review panel held", e.stage_3_panel_on, t.stage_3_report))
        if e.stage_3_report_on:
            due.append(self._from_event(DeadlineKind.stage_3_response, "panel report received", e.stage_3_report_on, t.stage_3_response))
        return due

    def time_limit(self, received_on: date, procedure: Procedure = Procedure.statutory) -> tuple[date, str]:
        """The earliest date of events still inside the time limit (12 months by default)."""
        months = self.policy.timescales(procedure).time_limit_months
        earliest = _months_before(received_on, months)
        return earliest, (
            f"received {day_label(received_on)}; events before {day_label(earliest)} are more than "
            f"{months} months old, which the council may still accept"
        )


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _skipping(counted: Count) -> str:
    if not counted.skipped:
        return ""
    parts = [f"{_short(s.day)} ({s.why})" for s in counted.skipped]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f", skipping {listed}"
