"""The triage queue as an officer works it: safeguarding first, then the nearest deadline;
filters; confirm or correct in one step, with corrections kept as training labels."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Case, Team, TrainingLabel, session_scope
from models.enums import Channel, Kind, Reason, Role, SafeguardingLevel, TriageState
from scheduler.calendar import WorkingDayCalendar
from tests.web_helpers import Now, case, form, make_app, open_case, sign_in
from triage.intake import Suggestion
from desk.queue import working_days_between


def day(d: int, month: int = 11) -> datetime:
    return datetime(2026, month, d, 9, 0, tzinfo=UTC)


def order(c, query: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    page = c.get(f"/queue{query}")
    assert page.status_code == 200, page.text
    return re.findall(r'<a href="/cases/(CSC-\d{4}-\d{5})" data-open>', page.text)


COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.81, reasons=[Reason.communication], primary_reason=Reason.communication,
                       role=Role.parent_or_family, detail={"confidence": {"reasons": 0.7, "role": 0.66}})


def test_safeguarding_comes_first_then_the_nearest_deadline_then_no_deadline(engine: Engine) -> None:
    late = open_case(engine, "Nobody rang me back.", received=day(20), suggestion=COMPLAINT)
    early = open_case(engine, "Still waiting for the minutes.", received=day(2), sender="b@example.org", suggestion=COMPLAINT)
    thanks = open_case(engine, "Thank you Amira!", received=day(1), sender="c@example.org",
                       suggestion=Suggestion(kind=Kind.compliment, confidence=0.9))
    unsafe = open_case(engine, "He hits me when mum is out.", received=day(22), sender="d@example.org",
                       suggestion=Suggestion(kind=Kind.complaint, confidence=0.4, safeguarding_level=SafeguardingLevel.disclosure, signals=["physical_abuse"]))
    c = sign_in(make_app(engine), engine)
    assert order(c) == [unsafe, early, late, thanks]


def test_a_disclosure_and_a_possible_concern_are_marked_differently_and_both_sorted_high(engine: Engine) -> None:
    ordinary = open_case(engine, "Nobody rang me back.", received=day(2), suggestion=COMPLAINT)
    maybe = open_case(engine, "now I can't go and everyone else in my class is going", received=day(3), sender="m@example.org",
                      suggestion=Suggestion(kind=Kind.complaint, confidence=0.9, safeguarding_level=SafeguardingLevel.possible,
                                            signals=["model:0.20"]))
    unsafe = open_case(engine, "He hits me when mum is out.", received=day(22), sender="d@example.org",
                       suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.disclosure,
                                             signals=["disclosure:hit_me"]))
    c = sign_in(make_app(engine), engine)
    assert order(c) == [unsafe, maybe, ordinary]  # disclosures, then possible concerns, then by deadline
    page = c.get("/queue").text
    rows = {ref: page[page.index(f'data-open>{ref}'):][: page[page.index(f'data-open>{ref}'):].index("</tr>")]
            for ref in (unsafe, maybe, ordinary)}
    assert 'data-flag="disclosure"' in rows[unsafe] and "Safeguarding: disclosure" in rows[unsafe]
    assert 'data-flag="possible"' in rows[maybe] and "Possible safeguarding: check" in rows[maybe] and "model:0.20" in rows[maybe]
    assert "data-flag" not in rows[ordinary]
    assert '<tr data-row class="safeguarding' in page and '<tr data-row class="possible' in page
    # an officer lowers the disclosure to "possible" from the row: the level changes, and is a training label
    assert form(c, f"/queue/{unsafe}/triage", {"kind": "complaint", "safeguarding": "possible"}).status_code == 303
    assert case(engine, unsafe).safeguarding_level is SafeguardingLevel.possible and case(engine, unsafe).safeguarding
    form(c, f"/queue/{maybe}/triage", {"kind": "complaint", "safeguarding": ""})
    assert case(engine, maybe).safeguarding_level is None and not case(engine, maybe).safeguarding


def test_each_row_shows_the_opening_words_the_suggestion_with_confidence_and_days_left(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back about contact with my son for three weeks.", received=day(16), suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    page = c.get("/queue").text
    row = page[page.index(reference):]
    row = row[: row.index("</tr>")]
    assert "Nobody rang me back about contact with my son" in row
    assert "complaint (81%)" in row
    assert "communication (70%)" in row
    assert "parent or family (66%)" in row
    # received Mon 16 Nov: stage 1 due Mon 30 Nov; from Mon 23 Nov that is 5 working days
    assert '<td class="due" data-due="">Mon 30 Nov <span class="muted">5 left</span></td>' in row


def test_an_overdue_case_says_by_how_many_working_days(engine: Engine) -> None:
    reference = open_case(engine, "Still nothing.", received=day(2), suggestion=COMPLAINT)  # stage 1 due Mon 16 Nov
    c = sign_in(make_app(engine), engine)
    assert reference in order(c, "?overdue=1")
    assert '<span class="badge b-overdue">Overdue</span> Mon 16 Nov <span class="muted">5 over</span>' in c.get("/queue").text


def test_working_days_left_skip_christmas_and_boxing_day(engine: Engine) -> None:
    open_case(engine, "Nobody rang me back.", received=day(23, 12), suggestion=COMPLAINT)  # stage 1 due Mon 11 Jan 2027
    c = sign_in(make_app(engine, Now(datetime(2026, 12, 24, 9, 0, tzinfo=UTC))), engine)
    # after Thu 24 Dec: 29, 30, 31 Dec, 4–8 Jan, 11 Jan = 9 working days
    assert '<td class="due" data-due="">Mon 11 Jan <span class="muted">9 left</span></td>' in c.get("/queue").text


@pytest.mark.parametrize(("query", "expected"), [
    ("?kind=initial_feedback", {"feedback"}),
    ("?reason=finance", {"savings"}),
    ("?role=care_leaver", {"savings"}),
    ("?channel=telegram", {"chat"}),
    ("?stage=initial_feedback", {"feedback"}),
    ("?team=TEAM", {"savings"}),
    ("?owner=none", {"feedback", "savings", "chat"}),
    ("?review=confirmed", set()),
    ("?review=all&overdue=1", {"feedback"}),
])
def test_filters_narrow_the_queue(engine: Engine, query: str, expected: set[str]) -> None:
    refs = {
        "feedback": open_case(engine, "Minutes never sent.", received=day(2), sender="f@example.org",
                              suggestion=Suggestion(kind=Kind.initial_feedback, reasons=[Reason.communication], role=Role.parent_or_family)),
        "savings": open_case(engine, "Where are my savings?", received=day(20), sender="s@example.org",
                             suggestion=Suggestion(kind=Kind.complaint, reasons=[Reason.finance, Reason.delay],
                                                   primary_reason=Reason.finance, role=Role.care_leaver)),
        "chat": open_case(engine, "my sw never comes", received=day(21), sender="tg:1", channel=Channel.telegram,
                          suggestion=Suggestion(kind=Kind.complaint, reasons=[Reason.staff_conduct], role=Role.child_or_young_person)),
    }
    with session_scope(engine) as session:
        team = Team(name="Leaving Care")
        session.add(team)
        session.flush()
        session.exec(select(Case).where(Case.reference == refs["savings"])).one().team_id = team.id
        team_id = team.id
    c = sign_in(make_app(engine), engine)
    shown = set(order(c, query.replace("TEAM", str(team_id))))
    assert shown == {refs[name] for name in expected}


def test_a_filter_that_makes_no_sense_is_named_not_fatal(engine: Engine) -> None:
    open_case(engine, "Nobody rang me back.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    page = c.get("/queue?kind=grumble&team=abc")
    assert page.status_code == 200
    assert "Filter ignored — kind: &#39;grumble&#39; is not one of initial_feedback, complaint, compliment" in page.text
    assert "Filter ignored — team: &#39;abc&#39; is not a number" in page.text
    assert c.get("/api/queue?kind=grumble").status_code == 422


def test_confirming_unchanged_leaves_no_label_and_takes_the_case_out_of_review(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    response = form(c, f"/queue/{reference}/triage", {"kind": "complaint", "primary_reason": "communication",
                                                     "role": "parent_or_family", "back": "/queue?kind=complaint"})
    assert response.headers["location"] == f"/queue?kind=complaint&done=confirmed&ref={reference}"
    assert case(engine, reference).triage_state is TriageState.confirmed
    assert reference not in order(c)
    assert f"{reference} confirmed." in c.get(response.headers["location"]).text
    with Session(engine) as session:
        assert session.exec(select(TrainingLabel)).all() == []


def test_correcting_in_the_queue_stores_each_corrected_field_as_a_training_label(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back about my savings.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    response = form(c, f"/queue/{reference}/triage", {"kind": "initial_feedback", "primary_reason": "finance",
                                                     "role": "care_leaver", "back": "/queue"})
    assert "done=corrected" in response.headers["location"]
    with Session(engine) as session:
        labels = {label.field: (label.predicted, label.corrected, label.text) for label in session.exec(select(TrainingLabel))}
    assert labels["kind"][:2] == ("complaint", "initial_feedback")
    assert labels["role"][:2] == ("parent_or_family", "care_leaver")
    assert labels["primary_reason"][:2] == ("communication", "finance")
    assert labels["reasons"][:2] == (["communication"], ["finance"])
    assert labels["kind"][2] == "Nobody rang me back about my savings."
    saved = case(engine, reference)
    assert (saved.kind, saved.stage.value, saved.complainant_role) == (Kind.initial_feedback, "initial_feedback", Role.care_leaver)


def test_pages_show_every_case_once_in_order(sqlite_engine: Engine) -> None:
    refs = [open_case(sqlite_engine, f"Complaint number {i}.", received=datetime(2026, 10, 1 + i % 28, 9, tzinfo=UTC),
                      sender=f"p{i}@example.org", suggestion=COMPLAINT if i % 7 else Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.disclosure))
            for i in range(120)]
    c = sign_in(make_app(sqlite_engine), sqlite_engine)
    seen = order(c) + order(c, "?page=2") + order(c, "?page=3")
    assert sorted(seen) == sorted(refs)
    assert "Page 1 of 3" in c.get("/queue").text
    flagged = [r for i, r in enumerate(refs) if i % 7 == 0]
    assert seen[: len(flagged)] == sorted(flagged, key=lambda r: (case(sqlite_engine, r).received_at, r))


def test_the_fast_working_day_count_agrees_with_the_calendar() -> None:
    calendar = WorkingDayCalendar({date(2026, 12, 24): "council closure"})
    for start in (date(2025, 12, 20), date(2026, 4, 1), date(2026, 12, 23)):
        for length in range(0, 400, 7):
            end = date.fromordinal(start.toordinal() + length)
            assert working_days_between(calendar, start, end) == calendar.working_days_between(start, end)


def test_my_cases_in_the_navigation_lists_the_officers_own_open_cases(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import Session, select

    from models import Case, Officer
    from tests.web_helpers import make_app, open_case, sign_in

    app = make_app(sqlite_engine)
    c = sign_in(app, sqlite_engine, "olu")
    mine, theirs = open_case(sqlite_engine, "Nobody rang me back."), open_case(sqlite_engine, "Where is my money?", sender="b@example.org")
    with Session(sqlite_engine) as session:
        olu = session.exec(select(Officer).where(Officer.name == "olu")).one()
        session.exec(select(Case).where(Case.reference == mine)).one().owner_id = olu.id
        session.commit()
    page = c.get("/").text
    assert '<a href="/queue?owner=me&amp;review=all">My cases</a>' in page
    listed = c.get("/queue?owner=me&review=all").text
    assert mine in listed and theirs not in listed
