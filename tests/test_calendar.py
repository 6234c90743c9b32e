from datetime import date

import pytest

from scheduler.calendar import WorkingDayCalendar

# GOV.UK, "UK bank holidays", England and Wales.
GOV_UK = {
    2025: ["2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25", "2025-12-25", "2025-12-26"],
    2026: ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28"],
    2027: ["2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28"],
}


@pytest.mark.parametrize("year", sorted(GOV_UK))
def test_it_closes_exactly_on_the_gov_uk_bank_holidays(year: int) -> None:
    closures = [d.isoformat() for d, _ in WorkingDayCalendar().closures_in([year])]
    assert closures == GOV_UK[year]


def test_it_names_substitute_days() -> None:
    calendar = WorkingDayCalendar()
    assert calendar.closure(date(2026, 12, 28)) == "Boxing Day, substitute day"
    assert calendar.closure(date(2027, 12, 27)) == "Christmas Day, substitute day"


def test_weekends_are_never_working_days() -> None:
    calendar = WorkingDayCalendar()
    assert not calendar.is_working_day(date(2026, 11, 21))  # Saturday
    assert not calendar.is_working_day(date(2026, 11, 22))  # Sunday
    assert calendar.is_working_day(date(2026, 11, 23))


def test_council_closure_days_are_skipped_and_named() -> None:
    calendar = WorkingDayCalendar({date(2026, 12, 24): "council closure"})
    count = calendar.add_working_days(date(2026, 12, 23), 1)
    assert count.end == date(2026, 12, 29)
    assert [(s.day, s.why) for s in count.skipped] == [
        (date(2026, 12, 24), "council closure"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "Boxing Day, substitute day"),
    ]


def test_zero_working_days_is_the_start_day() -> None:
    assert WorkingDayCalendar().add_working_days(date(2026, 12, 23), 0).end == date(2026, 12, 23)


def test_working_days_between_counts_after_the_start() -> None:
    calendar = WorkingDayCalendar()
    assert calendar.working_days_between(date(2026, 12, 23), date(2027, 1, 11)) == 10
    assert calendar.working_days_between(date(2027, 1, 11), date(2026, 12, 23)) == 0


def test_next_working_day_steps_over_a_long_weekend() -> None:
    assert WorkingDayCalendar().next_working_day(date(2027, 3, 26)) == date(2027, 3, 30)
