"""Made-up historic representations in the import layout, for demonstrations and benchmarks.

The mix (kinds, who complains, reasons, outcomes, response times) follows what published
annual reports show, so a report on this data reads like a real one. Nobody in it is real:
there are no names or contact details in the layout at all. Run as a script to write a file:

    python -m reports.synthetic --rows 1000 --first-year 2024 --years 2 out.csv
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from scheduler.calendar import WorkingDayCalendar
from reports.layout import COLUMNS
from reports.workdays import WorkingDayIndex

TEAMS = [
    ("Children in Care", 22), ("Safeguarding and Assessment", 20), ("Family Support", 14), ("Leaving Care", 12),
    ("Fostering", 10), ("Children with Disabilities", 9), ("Residential Homes", 6), ("Adoption", 4), ("Front Door (MASH)", 3),
]
REASONS = [
    ("communication", 30), ("staff_conduct", 14), ("decision", 14), ("assessment", 10), ("delay", 12), ("lack_of_support", 12),
    ("family_time", 9), ("placement_care", 6), ("finance", 6), ("confidentiality_records", 4), ("change_of_worker", 5), ("voice_not_heard", 6),
]
ROLES = [("parent_or_family", 52), ("child_or_young_person", 12), ("care_leaver", 9), ("foster_carer", 9), ("professional", 4), ("other", 14)]
OUTCOMES = [("upheld", 21), ("partially_upheld", 43), ("not_upheld", 30), ("withdrawn", 2), ("no_finding", 4)]
ETHNICITY = [
    ("White British", 70), ("White Other", 4), ("Mixed White and Black Caribbean", 4), ("Mixed Other", 3), ("Asian or Asian British – Pakistani", 3),
    ("Asian or Asian British – Indian", 2), ("Black or Black British – African", 3), ("Black or Black British – Caribbean", 1), ("Gypsy, Roma or Traveller", 1), ("", 9),
]
LESSONS = [
    "Social workers reminded to return calls within two working days and to leave a named contact when on leave.",
    "Minutes of child protection conferences to be sent within 15 working days; the business support team now tracks this.",
    "Family time arrangements to be confirmed in writing with the family and the carer before each school holiday.",
    "Handover visits introduced when a child's social worker changes, so the child meets the new worker with the old one.",
    "Leaving care grant and setting-up-home allowance now explained in a leaflet given at the pathway plan review.",
    "Assessment reports to be shared with parents before they are finalised, with time to correct factual errors.",
    "Managers to check that young people's views are recorded in every review and that they are told the outcome.",
    "Taxi bookings for family time now confirmed the day before, with a named person to call if the taxi is late.",
    "Savings of children in care to be checked at every review and transferred when they turn 18.",
    "Team training on explaining decisions to families in plain language, and on apologising when we get it wrong.",
    "Subject access requests logged centrally so that the statutory one-month limit is not missed.",
    "Foster carers to receive placement information on the day a child arrives, including health and school details.",
]
EXTENSION_REASONS = ["complex complaint needing several services", "arranging an advocate for the young person", "complainant asked to meet first"]


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([w for w, _ in weighted], weights=[n for _, n in weighted])[0]


def rows(count: int, *, first_year: int, years: int, today: date, seed: int = 2025, prefix: str = "LEG") -> Iterator[dict[str, str]]:
    """`count` rows received over `years` financial years from 1 April `first_year`, nothing after `today`."""
    rng = random.Random(seed)
    index = WorkingDayIndex(WorkingDayCalendar())
    first = date(first_year, 4, 1)
    last = min(date(first_year + years, 3, 31), today)
    span = (last - first).days
    received_days = sorted(first + timedelta(days=rng.randrange(span + 1)) for _ in range(count))
    for n, received in enumerate(received_days, start=1):
        if received.weekday() >= 5 and rng.random() < 0.8:
            received -= timedelta(days=received.weekday() - 4)  # most arrive on weekdays
        fy = received.year if received.month >= 4 else received.year - 1
        row = dict.fromkeys(COLUMNS, "")
        row.update(reference=f"{prefix}-{fy}-{n:06d}", received_on=received.isoformat(), channel=rng.choice(["email", "email", "email", "webchat", "telegram"]))
        roll = rng.random()
        kind = "complaint" if roll < 0.62 else "initial_feedback" if roll < 0.87 else "compliment"
        role = _pick(rng, ROLES)
        row.update(kind=kind, complainant_role=role, team=_pick(rng, TEAMS))
        if rng.random() < 0.05:
            row["enquiry_source"] = "councillor" if rng.random() < 0.7 else "mp"

        def later(start: date, low: int, high: int) -> date | None:
            day = index.add(start, rng.randint(low, high))
            return day if day <= today else None

        if kind != "compliment":
            zero = index.day_zero(received)
            codes = {_pick(rng, REASONS) for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))}
            row["reasons"] = ";".join(sorted(codes))
            ack = later(zero, 0, 3) if rng.random() < 0.97 else later(zero, 4, 8)
            row["acknowledged_on"] = ack.isoformat() if ack else ""
            row["child_ethnicity"] = _pick(rng, ETHNICITY)
            if role in ("child_or_young_person", "care_leaver") and rng.random() < 0.9:
                row["advocacy_offered"] = "yes"
                row["advocacy_answer"] = rng.choices(["yes", "no", "asked_what", ""], weights=[40, 45, 5, 10])[0]
        if kind == "initial_feedback":
            done = later(index.day_zero(received), 1, 4) if rng.random() < 0.85 else later(index.day_zero(received), 6, 12)
            row["initial_feedback_responded_on"] = done.isoformat() if done else ""
        if kind == "complaint":
            row["procedure"] = "corporate" if rng.random() < 0.08 else "statutory"
            row["adr"] = "yes" if rng.random() < 0.02 else ""
            _stages(rng, row, index, index.day_zero(received), later)
        yield row


def _stages(rng: random.Random, row: dict[str, str], index: WorkingDayIndex, zero: date, later) -> None:  # type: ignore[no-untyped-def]
    roll = rng.random()
    low, high = (3, 10) if roll < 0.5 else (11, 20) if roll < 0.86 else (21, 45)
    done = later(zero, low, high)
    row["stage_reached"] = "stage_1"
    if high > 10 and rng.random() < 0.3:
        row["stage_1_extension_reason"] = rng.choice(EXTENSION_REASONS)
    if done is None:
        return
    outcome = _pick(rng, OUTCOMES)
    row.update(stage_1_responded_on=done.isoformat(), stage_1_outcome=outcome)
    if outcome in ("upheld", "partially_upheld"):
        if rng.random() < 0.6:
            row["learning"] = rng.choice(LESSONS)
        if rng.random() < 0.04:
            row["compensation"] = f"{rng.choice([50, 100, 150, 250, 500, 1000])}.00"
    if outcome == "withdrawn" or rng.random() > 0.09:
        return
    requested = later(done, 2, 18)
    if requested is None:
        return
    row.update(stage_reached="stage_2", stage_2_requested_on=requested.isoformat())
    if rng.random() < 0.4:
        row["stage_2_extension_reason"] = "independent investigation needed more interviews"
    answered = later(requested, 20, 30) if rng.random() < 0.45 else later(requested, 31, 75)
    if answered is None:
        return
    row.update(stage_2_responded_on=answered.isoformat(), stage_2_outcome=_pick(rng, OUTCOMES))
    if row["procedure"] == "corporate" or rng.random() > 0.2:
        return
    asked = later(answered, 3, 18)
    if asked is None:
        return
    row.update(stage_reached="stage_3", stage_3_requested_on=asked.isoformat())
    panel_done = later(asked, 35, 60)
    if panel_done:
        row.update(stage_3_responded_on=panel_done.isoformat(), stage_3_outcome=rng.choice(["upheld", "partially_upheld", "not_upheld"]))


def write(path: Path, count: int, **kwargs) -> int:  # type: ignore[no-untyped-def]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        written = 0
        for row in rows(count, **kwargs):
            writer.writerow(row)
            written += 1
    return written


if __name__ == "__main__":  # pragma: no cover - a developer's convenience
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--first-year", type=int, default=2024)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 4, 30))
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    print(write(args.out, args.rows, first_year=args.first_year, years=args.years, today=args.today, seed=args.seed))
