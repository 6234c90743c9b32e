"""Retention: the schedule deletes exactly what is due, keeps what is held, and the annual
report does not change."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from models import (Advocacy, Attachment, AuditEvent, Case, ChannelIdentity, Contact, ConversationState, LegalHold, Message, OutboxItem,
                    StageRecord, TrainingLabel, session_scope)
from models.enums import Kind, MessageState
from models.audit_chain import verify
from scheduler.policy import PolicyError, RetentionPolicy, load_policy
from scheduler.retention import Schedule, run, years_after
from tests.retention_helpers import SECRET, lived_case, not_a_case, utc

LONDON = ZoneInfo("Europe/London")
POLICY = RetentionPolicy()


def erased(engine) -> set[int]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return set(session.exec(select(Case.id).where(Case.erased_at.is_not(None))))  # type: ignore[union-attr]


def search_rows(engine) -> set[int]:  # type: ignore[no-untyped-def]
    """The message ids the search index holds a document for."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return set(conn.execute(sa.text("SELECT message_id FROM search_doc")).scalars())
        return set(conn.execute(sa.text("SELECT rowid FROM search_fts")).scalars())


def test_the_policy_has_a_retention_schedule_checked_at_start(tmp_path: Path) -> None:
    assert load_policy().retention == RetentionPolicy(case_years=6, compliment_years=2, not_a_case_days=90, raw_email_days=90,
                                                                   sign_in_days=180)
    path = tmp_path / "policy.toml"
    path.write_text("[retention]\ncase_years = 7\n")
    assert load_policy(path).retention.case_years == 7
    for wrong, message in [("case_years = 0", "retention.case_years: Input should be greater than 0"),
                           ("keep_forever = true", "retention.keep_forever: Extra inputs are not permitted"),
                           ("raw_email_days = 'soon'", "retention.raw_email_days: Input should be a valid integer")]:
        path.write_text(f"[retention]\n{wrong}\n")
        with pytest.raises(PolicyError, match=message):
            load_policy(path)


def test_a_period_ends_on_the_same_day_years_later() -> None:
    assert years_after(date(2025, 3, 10), 6) == date(2031, 3, 10)
    assert years_after(date(2024, 2, 29), 6) == date(2030, 2, 28)


def test_a_two_year_clock_deletes_exactly_the_rows_that_are_due(engine) -> None:  # type: ignore[no-untyped-def]
    """Run the daily retention weekly from 1 January 2031 to 1 January 2033 over a populated
    database; after every run exactly the cases due are gone, and at the end exactly their rows."""
    a = lived_case(engine, date(2025, 1, 6), date(2025, 3, 10))  # due 10 Mar 2031
    with Session(engine) as session:
        shared = session.get(Case, a).contact_id  # type: ignore[union-attr]
    b = lived_case(engine, date(2026, 6, 1), date(2026, 8, 20))  # due 20 Aug 2032
    c = lived_case(engine, date(2027, 3, 1), date(2027, 6, 1), contact_id=shared, read_on=date(2030, 11, 1))  # due 2033: stays
    d = lived_case(engine, date(2024, 11, 1), date(2025, 1, 5), held=True)  # due 5 Jan 2031, but held
    e = lived_case(engine, date(2024, 5, 1), None)  # still open
    f = lived_case(engine, date(2029, 4, 1), date(2029, 5, 1), kind=Kind.compliment)  # due 1 May 2031
    f2 = lived_case(engine, date(2030, 12, 1), date(2030, 12, 20), kind=Kind.compliment)  # due 20 Dec 2032
    g = lived_case(engine, date(2030, 11, 2), date(2030, 12, 1))  # due 2036: stays
    auto = not_a_case(engine, utc(date(2030, 12, 15)))  # an auto-reply: due 15 Mar 2031
    failed = not_a_case(engine, utc(date(2030, 12, 15)), state=MessageState.failed)  # officers must see it: stays
    due = {a: date(2031, 3, 10), b: date(2032, 8, 20), f: date(2031, 5, 1), f2: date(2032, 12, 20)}
    with Session(engine) as session:
        messages = {case_id: session.exec(select(Message.id).where(Message.case_id == case_id)).one() for case_id in (a, b, c, d, e, f, f2, g)}
        contacts = {case_id: session.get(Case, case_id).contact_id for case_id in (a, b, c, d, e, f, f2, g)}  # type: ignore[union-attr]
    assert search_rows(engine) >= set(messages.values()) | {auto, failed}

    day = date(2031, 1, 1)
    while day <= date(2033, 1, 1):
        run(engine, POLICY, LONDON, utc(day))
        assert erased(engine) == {case_id for case_id, on in due.items() if on <= day}, day
        day += timedelta(days=7)

    gone, kept = {a, b, f, f2}, {c, d, e, g}
    with Session(engine) as session:
        left = set(session.exec(select(Message.id)))
        assert left == {messages[k] for k in kept} | {failed}
        assert search_rows(engine) == left
        assert session.exec(select(sa.func.count()).select_from(Attachment)).one() == 2 * len(kept)
        assert {o.case_id for o in session.exec(select(OutboxItem))} == kept
        assert {t.case_id for t in session.exec(select(TrainingLabel))} == kept
        # A person's contact goes with their last case: A's stays for C; B's goes, with how to reach them.
        assert set(session.exec(select(Contact.id))) == {contacts[k] for k in kept} | {session.get(Message, failed).contact_id}  # type: ignore[union-attr]
        assert set(session.exec(select(ChannelIdentity.contact_id))) == set(session.exec(select(Contact.id)))
        assert SECRET not in json.dumps([s.data for s in session.exec(select(ConversationState))
                                         if not any(s.key.endswith(i.address) for i in session.exec(select(ChannelIdentity)))])
        # Raw emails go once read for the period; their text stays with the case. Not a held case's.
        raw = {k: session.get(Message, messages[k]).raw_bytes for k in kept}  # type: ignore[union-attr]
        assert [k for k in kept if raw[k] is not None] == [d]
        assert all(session.get(Message, messages[k]).text for k in kept)  # type: ignore[union-attr]
        assert session.get(Message, failed).raw_bytes is not None  # type: ignore[union-attr]
        # The statistical record stays, with nothing of the person in it.
        for case_id in gone:
            case = session.get(Case, case_id)
            assert case is not None and case.contact_id is None and case.erased_rule in ("case", "compliment")
            assert (case.reasons, case.child_ethnicity, case.learning) == (["communication"], "White British", "Calls returned within two days.")
            stage = session.exec(select(StageRecord).where(StageRecord.case_id == case_id)).one()
            advocacy = session.exec(select(Advocacy).where(Advocacy.case_id == case_id)).one()
            assert stage.outcome == "upheld" and advocacy.answer == "yes"
            record = [case.model_dump(), stage.model_dump(), advocacy.model_dump()]
            assert SECRET not in json.dumps(record, default=str)
        assert session.get(Case, f).erased_rule == "compliment"  # type: ignore[union-attr]
        # The audit keeps the fact and the rule, never the content.
        events = list(session.exec(select(AuditEvent).where(AuditEvent.actor == "retention")))
        deleted = {e.case_id: e.detail for e in events if e.action == "retention_deleted"}
        assert set(deleted) == gone and deleted[a]["rule"] == "case" and deleted[a]["messages"] == 1
        assert SECRET not in json.dumps([e.detail for e in events])
        assert sum(e.detail.get("by_not_a_case", 0) for e in events if e.action == "retention_run") == 1
        # Two years of deletions never touch the audit log: its hash chain is whole.
        assert verify(session).whole
        assert SECRET not in json.dumps([e.detail for e in session.exec(select(AuditEvent))])  # no words outlive a case


def test_a_held_case_is_listed_and_kept_until_the_hold_is_lifted(engine) -> None:  # type: ignore[no-untyped-def]
    held = lived_case(engine, date(2020, 1, 6), date(2020, 2, 3), held=True)
    result = run(engine, POLICY, LONDON, utc(date(2027, 1, 1)))
    assert [(d.reference is not None, d.rule, d.held) for d in result.due if d.case_id] == [(True, "case", True)]
    assert result.deleted == 0 and erased(engine) == set()
    with session_scope(engine) as session:
        hold = session.exec(select(LegalHold).where(LegalHold.case_id == held)).one()
        hold.lifted_at, hold.lifted_by, hold.lift_reason = utc(date(2027, 1, 2)), "Mo", "Ombudsman finished"
    assert run(engine, POLICY, LONDON, utc(date(2027, 1, 3))).deleted == 1
    assert erased(engine) == {held}


def test_a_dry_run_lists_and_deletes_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    case_id = lived_case(engine, date(2020, 1, 6), date(2020, 2, 3))
    result = run(engine, POLICY, LONDON, utc(date(2026, 2, 3)), dry_run=True)
    assert [d.public() for d in result.due if d.case_id] == [{"rule": "case", "due_on": "2026-02-03", "held": False, "reference": result.due[0].reference,
                                                              "closed_on": "2020-02-03", "case_id": case_id}]
    assert result.deleted == 0 and erased(engine) == set()
    with Session(engine) as session:
        assert Schedule(POLICY, LONDON).cases(session, date(2026, 2, 2)) == []


def test_officers_old_sign_ins_and_attempts_go_after_their_period_and_current_ones_stay(engine) -> None:  # type: ignore[no-untyped-def]
    """Each sign-in keeps the address and browser it came from: the council's own staff's
    personal data, kept `sign_in_days` (180) to look into a break-in, then deleted."""
    from models import OfficerSession, SignInAttempt
    from tests.web_helpers import add

    now = utc(date(2026, 11, 27))
    officer = add(engine, "olu")
    old, recent = now - timedelta(days=200), now - timedelta(days=100)

    def signed_in(began: datetime, lifetime: timedelta, ended: datetime | None) -> OfficerSession:
        return OfficerSession(token_hash=f"{began.isoformat()}-{lifetime}-{ended}"[:64], officer_id=officer, created_at=began,
                              last_seen_at=began, expires_at=began + lifetime, ended_at=ended, address="203.0.113.9",
                              user_agent="Firefox")

    with session_scope(engine) as session:
        session.add_all([signed_in(old, timedelta(hours=12), old + timedelta(hours=1)),  # signed out 200 days ago: goes
                         signed_in(old, timedelta(hours=12), None),  # its lifetime ran out 200 days ago: goes
                         signed_in(recent, timedelta(hours=12), recent + timedelta(hours=1)),  # 100 days ago: stays
                         signed_in(now - timedelta(hours=1), timedelta(hours=12), None),  # signed in now: stays
                         SignInAttempt(name_key="olu", address="203.0.113.9", at=old, succeeded=False),  # goes
                         SignInAttempt(name_key="olu", address="203.0.113.9", at=recent, succeeded=True)])  # stays

    listed = run(engine, POLICY, LONDON, now, dry_run=True)
    assert [d.public() for d in listed.due] == [{"rule": "sign_ins", "due_on": "2026-11-27", "held": False, "reference": None, "closed_on": None, "count": 3}]
    result = run(engine, POLICY, LONDON, now)
    assert result.counts == {"sign_ins": 3} and result.deleted == 3
    with Session(engine) as session:
        assert sorted(s.created_at.date() for s in session.exec(select(OfficerSession))) == [recent.date(), now.date()]
        assert [a.at.date() for a in session.exec(select(SignInAttempt))] == [recent.date()]
    assert run(engine, POLICY, LONDON, now).due == []  # once gone, nothing more is due


def test_the_annual_report_for_any_past_year_is_the_same_after_deletion(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every figure of every table, for each year, before and after everything closed is deleted."""
    from reports.compute import build_report
    from reports.exports import to_json
    from reports.synthetic import rows
    from tests.test_import import run_import, write_csv

    run_import(engine, write_csv(tmp_path / "past.csv", list(rows(400, first_year=2023, years=3, today=date(2026, 4, 30)))))
    for n in range(12):  # cases as intake and officers leave them, with advocates, outcomes and learning
        received = date(2024, 4, 8) + timedelta(days=45 * n)
        lived_case(engine, received, received + timedelta(days=20 + n), kind=Kind.compliment if n % 4 == 0 else Kind.complaint, held=n == 5)
    policy = load_policy()
    today = date(2026, 5, 1)

    def reports() -> dict[int, str]:
        return {year: to_json(build_report(engine, policy, year, today=today, tz=LONDON, years=3)) for year in (2023, 2024, 2025)}

    before = reports()
    result = run(engine, POLICY, LONDON, utc(date(2040, 1, 1)))
    assert result.deleted > 300 and len(erased(engine)) == result.counts["case"] + result.counts["compliment"]
    assert reports() == before
    with Session(engine) as session:
        assert session.exec(select(sa.func.count()).select_from(Message)).one() == 1  # the held case's
        assert session.exec(select(sa.func.count()).select_from(Contact)).one() == 1


def test_heard_retention_prints_json_and_deletes_unless_a_dry_run(engine, database_url: str) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import run_heard

    kept = lived_case(engine, date(2020, 1, 6), date(2020, 2, 3), held=True)
    gone = lived_case(engine, date(2020, 3, 2), date(2020, 4, 1))
    with Session(engine) as session:
        references = {case_id: session.get(Case, case_id).reference for case_id in (kept, gone)}  # type: ignore[union-attr]
    dry = run_heard("retention", "--now", "2026-06-01T02:00", "--dry-run", "--json", database_url=database_url)
    assert dry.returncode == 0, dry.stderr
    listed = json.loads(dry.stdout)
    assert [{k: d[k] for k in ("reference", "closed_on", "rule", "held")} for d in listed["due"]] == [
        {"reference": references[kept], "closed_on": "2020-02-03", "rule": "case", "held": True},
        {"reference": references[gone], "closed_on": "2020-04-01", "rule": "case", "held": False},
    ] and listed["deleted"] == 0
    assert erased(engine) == set()
    done = run_heard("retention", "--now", "2026-06-01T02:00", "--json", database_url=database_url)
    assert json.loads(done.stdout)["deleted"] == 1 and erased(engine) == {gone}
    text = run_heard("retention", "--now", "2026-06-02", "--dry-run", database_url=database_url)
    assert "1 due (1 on legal hold)" in text.stdout and "HELD: not deleted" in text.stdout
    wrong = run_heard("retention", "--now", "soon", database_url=database_url)
    assert wrong.returncode == 2 and "--now: 'soon' is not an ISO 8601 time" in wrong.stderr


def test_the_scheduler_runs_retention_daily(engine) -> None:  # type: ignore[no-untyped-def]
    from scheduler.runner import SweepClock
    from tests.retention_helpers import CLOCK

    gone = lived_case(engine, date(2020, 3, 2), date(2020, 4, 1))
    clock = SweepClock(engine, CLOCK, LONDON, 60, now=lambda: utc(date(2026, 4, 2)))
    job = clock.scheduler.get_job("retention")
    assert job is not None and str(job.trigger) == "interval[1 day, 0:00:00]"
    clock.retain()
    assert erased(engine) == {gone}


def test_two_runs_at_once_delete_each_case_once(engine) -> None:  # type: ignore[no-untyped-def]
    """Two schedulers on one database: the conditional claim lets one of them have each case."""
    from concurrent.futures import ThreadPoolExecutor

    cases = {lived_case(engine, date(2019, 1, 7), date(2019, 2, 1) + timedelta(days=n)) for n in range(8)}
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run(engine, POLICY, LONDON, utc(date(2026, 1, 1))), range(2)))
    assert sum(r.counts.get("case", 0) for r in results) == len(cases) and erased(engine) == cases
    with Session(engine) as session:
        events = session.exec(select(AuditEvent.case_id).where(AuditEvent.action == "retention_deleted")).all()
    assert sorted(events) == sorted(cases)
