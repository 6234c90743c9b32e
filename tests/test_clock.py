from datetime import date

import pytest

from models.enums import DeadlineKind, Kind, Procedure
from scheduler.clock import CaseEvents, Clock
from scheduler.policy import load_policy


@pytest.fixture
def clock() -> Clock:
    return Clock(load_policy())


def due(clock: Clock, events: CaseEvents) -> dict[DeadlineKind, date]:
    return {d.kind: d.due_on for d in clock.deadlines(events)}


def test_a_complaint_received_before_christmas_is_due_on_11_january(clock: Clock) -> None:
    stage_1 = next(d for d in clock.deadlines(CaseEvents(date(2026, 12, 23))) if d.kind is DeadlineKind.stage_1)
    assert stage_1.due_on == date(2027, 1, 11)
    assert stage_1.explanation == (
        "received Wed 23 Dec 2026 (day 0); 10 working days, skipping 25 Dec (Christmas Day), "
        "28 Dec (Boxing Day, substitute day) and 1 Jan (New Year's Day) → Mon 11 Jan 2027"
    )


def test_a_complaint_received_before_easter_is_due_on_12_april(clock: Clock) -> None:
    stage_1 = next(d for d in clock.deadlines(CaseEvents(date(2027, 3, 25))) if d.kind is DeadlineKind.stage_1)
    assert stage_1.due_on == date(2027, 4, 12)
    assert "26 Mar (Good Friday) and 29 Mar (Easter Monday)" in stage_1.explanation


def test_it_acknowledges_within_three_working_days(clock: Clock) -> None:
    assert due(clock, CaseEvents(date(2026, 11, 20)))[DeadlineKind.acknowledgement] == date(2026, 11, 25)


def test_initial_feedback_gets_five_working_days_and_no_stage_1(clock: Clock) -> None:
    found = due(clock, CaseEvents(date(2026, 11, 23), kind=Kind.initial_feedback))
    assert found == {DeadlineKind.acknowledgement: date(2026, 11, 26), DeadlineKind.initial_feedback: date(2026, 11, 30)}


def test_a_compliment_has_no_deadlines(clock: Clock) -> None:
    assert clock.deadlines(CaseEvents(date(2026, 11, 23), kind=Kind.compliment)) == []


def test_an_extended_stage_1_says_so(clock: Clock) -> None:
    stage_1 = clock.deadlines(CaseEvents(date(2026, 11, 23), stage_1_extended=True))[1]
    assert stage_1.due_on == date(2026, 12, 21)
    assert "20 working days (extended once from 10)" in stage_1.explanation


def test_a_weekend_receipt_starts_the_clock_on_the_next_working_day(clock: Clock) -> None:
    ack = clock.deadlines(CaseEvents(date(2026, 12, 26)))[0]  # Saturday, Boxing Day
    assert "not a working day, so day 0 is Tue 29 Dec 2026" in ack.explanation
    assert ack.due_on == date(2027, 1, 4)


def test_the_statutory_chain_runs_through_stage_3(clock: Clock) -> None:
    events = CaseEvents(
        date(2026, 1, 5),
        stage_1_responded_on=date(2026, 1, 19),
        stage_2_requested_on=date(2026, 2, 2),
        stage_2_responded_on=date(2026, 3, 9),
        stage_3_requested_on=date(2026, 3, 16),
        stage_3_panel_on=date(2026, 4, 20),
        stage_3_report_on=date(2026, 4, 24),
    )
    found = due(clock, events)
    assert found[DeadlineKind.stage_2_request] == date(2026, 2, 16)
    assert found[DeadlineKind.stage_2] == date(2026, 3, 9)
    assert found[DeadlineKind.stage_3_request] == date(2026, 4, 8)  # skips Good Friday and Easter Monday
    assert found[DeadlineKind.stage_3_panel] == date(2026, 4, 29)
    assert found[DeadlineKind.stage_3_report] == date(2026, 4, 27)
    assert found[DeadlineKind.stage_3_response] == date(2026, 5, 18)  # skips the May Day bank holiday


def test_the_corporate_procedure_has_no_stage_3(clock: Clock) -> None:
    events = CaseEvents(date(2026, 1, 5), procedure=Procedure.corporate, stage_2_responded_on=date(2026, 3, 9))
    found = due(clock, events)
    assert found[DeadlineKind.stage_1] == date(2026, 2, 2)  # 20 working days
    assert DeadlineKind.stage_3_request not in found


def test_time_limit_is_twelve_months_before_receipt(clock: Clock) -> None:
    assert clock.time_limit(date(2026, 12, 23))[0] == date(2025, 12, 23)
    assert clock.time_limit(date(2025, 2, 28))[0] == date(2024, 2, 28)
    assert clock.time_limit(date(2029, 2, 28))[0] == date(2028, 2, 28)
