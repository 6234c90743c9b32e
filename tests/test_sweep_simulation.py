"""Two years of cases, with the scheduler stopped for random stretches: every reminder goes once
or is superseded by a later action for the same deadline, none early, none twice."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import Deadline, OutboxItem
from models.enums import DeadlineKind, Kind
from scheduler.chase import due_now, reminder_days
from scheduler.clock import Clock
from scheduler.policy import load_policy
from scheduler.sweep import Sweep
from tests.factories import LONDON, at, open_case

CLOCK = Clock(load_policy())
START, END = date(2026, 1, 1), date(2027, 12, 31)


def downtime(rng: random.Random) -> set[date]:
    """Random stretches off, and one gap of five working days."""
    off: set[date] = set()
    for _ in range(25):
        first = START + timedelta(days=rng.randrange((END - START).days))
        off |= {first + timedelta(days=i) for i in range(rng.randint(1, 4))}
    gap_start = date(2026, 12, 21)  # across Christmas: five working days
    day, counted = gap_start, 0
    while counted < 5:
        if CLOCK.calendar.is_working_day(day):
            counted += 1
        off.add(day)
        day += timedelta(days=1)
    return off


@pytest.mark.slow
def test_two_years_of_reminders_are_each_sent_once_or_superseded(sqlite_engine: Engine) -> None:
    rng = random.Random(20261123)
    received = sorted(START + timedelta(days=rng.randrange((END - START).days - 60)) for _ in range(2000))
    by_day: dict[date, list[date]] = defaultdict(list)
    for day in received:
        by_day[day].append(day)
    answers: dict[date, list[int]] = defaultdict(list)  # day → deadline ids answered that day
    off = downtime(rng)
    sweeper = Sweep(sqlite_engine, CLOCK, LONDON)
    swept: list[date] = []
    day = START
    while day <= END:
        for received_on in by_day.get(day, []):
            case_id = open_case(sqlite_engine, CLOCK, received_on, kind=rng.choice([Kind.complaint, Kind.complaint, Kind.initial_feedback]),
                                owner=None, manager="manager@council.example")
            with sqlite_engine.connect() as conn:
                deadline_id, due = conn.execute(sa.select(Deadline.id, Deadline.due_on).where(
                    Deadline.case_id == case_id, Deadline.kind != DeadlineKind.acknowledgement)).one()
            shift = rng.choice([-6, -2, 0, 0, 2, 8, 14])
            answered = (CLOCK.calendar.add_working_days(due, shift).end if shift >= 0
                        else CLOCK.calendar.subtract_working_days(due, -shift)) if rng.random() < 0.95 else None
            if answered:
                answers[max(answered, day)].append(deadline_id)
        if answers.get(day):
            with sqlite_engine.begin() as conn:
                conn.execute(sa.update(Deadline).where(Deadline.id.in_(answers[day])).values(met_on=day))
        if day not in off:
            for hour in (7, 13):
                sweeper.run(at(day, hour))
            swept.append(day)
        day += timedelta(days=1)

    with sqlite_engine.connect() as conn:
        deadlines = conn.execute(sa.select(Deadline.id, Deadline.due_on, Deadline.met_on).where(
            Deadline.kind.in_([DeadlineKind.stage_1.value, DeadlineKind.initial_feedback.value]))).all()
        sent = conn.execute(sa.select(OutboxItem.idempotency_key, OutboxItem.created_at).where(
            OutboxItem.idempotency_key.like("deadline:%"))).all()
    actions: dict[int, dict[str, date]] = defaultdict(dict)
    for key, created in sent:
        _, deadline_id, rest = key.split(":", 2)  # deadline:<id>:<due>/<label>[:<recipient>]
        label = ":".join(rest.split("/", 1)[1].split(":")[:2])
        first = actions[int(deadline_id)].setdefault(label, created.astimezone(LONDON).date())
        assert first == created.astimezone(LONDON).date(), f"{key} sent on two days"
    before = CLOCK.policy.reminders.before_due
    checked = superseded = 0
    for deadline_id, due, met_on in deadlines:
        done = actions.get(deadline_id, {})
        for point, label in reminder_days(CLOCK.calendar, due, before):
            if met_on is not None and met_on <= point:
                assert label not in done, f"deadline {deadline_id}: {label} sent after it was met"
                continue
            first_sweep = next((d for d in swept if d >= point and CLOCK.calendar.is_working_day(d)), None)
            if first_sweep is None or (met_on is not None and met_on <= first_sweep):
                continue
            checked += 1
            if label in done:
                assert done[label] >= point, f"deadline {deadline_id}: {label} sent early"
                continue
            later = due_now(CLOCK.calendar, due, first_sweep, before, 5).label
            assert later != label and later in done and done[later] == first_sweep, (
                f"deadline {deadline_id}: {label} (due {point}) neither sent nor superseded")
            superseded += 1
        escalations = sorted(v for k, v in done.items() if k.startswith("overdue"))
        first_over = CLOCK.calendar.add_working_days(due, 1).end
        assert all(d >= first_over for d in escalations), f"deadline {deadline_id}: escalated early"
        for a, b in zip(escalations, escalations[1:]):
            assert CLOCK.calendar.working_days_between(a, b) >= 5, f"deadline {deadline_id}: escalations a week apart at least"
    assert checked > 4000 and superseded > 0
