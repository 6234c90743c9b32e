"""The audit log shows tampering: a changed or deleted entry breaks the hash chain, `heard audit
verify` names the first broken entry, and writers at once (PostgreSQL) still form one chain."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from models import AuditEvent, make_engine, session_scope, write_audit
from models.audit_chain import AppendOnly, verify
from models.migrate import upgrade
from tests.helpers import run_heard

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _write(engine: Engine, count: int, start: int = 0) -> list[int]:
    ids = []
    for n in range(start, start + count):
        with session_scope(engine) as session:
            event = write_audit(session, at=T0 + timedelta(minutes=n), actor="Olga", action="viewed_case",
                                n=n, words=("café", 1.5))
            session.flush()
            ids.append(event.id)
    return ids


def _verdict(engine: Engine):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return verify(session)


def test_entries_form_one_chain_that_verifies_whole(engine: Engine) -> None:
    ids = _write(engine, 5)
    with session_scope(engine) as session:  # several in one transaction join in the order added
        for n in range(3):
            write_audit(session, at=T0, actor="scheduler", action="sweep", n=n)
    with session_scope(engine) as session:
        rows = session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert [r.seq for r in rows] == list(range(1, 9))
    assert [r.id for r in rows][:5] == ids
    assert all(r.prev_hash == before.hash for before, r in zip(rows, rows[1:]))
    assert [r.detail["n"] for r in rows[5:]] == [0, 1, 2]
    verdict = _verdict(engine)
    assert verdict.whole and verdict.checked == 8


def test_a_changed_detail_and_a_deleted_entry_name_the_first_broken_one(engine: Engine) -> None:
    ids = _write(engine, 6)
    with engine.begin() as conn:  # tampering, around the app
        conn.execute(sa.text("UPDATE auditevent SET detail = :d WHERE id = :id"), {"d": '{"n": 99}', "id": ids[2]})
        conn.execute(sa.text("DELETE FROM auditevent WHERE id = :id"), {"id": ids[4]})
    verdict = _verdict(engine)
    assert not verdict.whole and verdict.broken_id == ids[2] and verdict.checked == 2
    assert "content was changed" in verdict.reason


def test_a_deleted_entry_breaks_the_one_after_it(engine: Engine) -> None:
    ids = _write(engine, 4)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM auditevent WHERE id = :id"), {"id": ids[1]})
    verdict = _verdict(engine)
    assert verdict.broken_id == ids[2] and "missing" in verdict.reason


def test_deleting_the_last_entries_shows_at_the_chain_head(engine: Engine) -> None:
    ids = _write(engine, 3)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM auditevent WHERE id = :id"), {"id": ids[-1]})
    verdict = _verdict(engine)
    assert not verdict.whole and "last entries were deleted" in verdict.reason


def test_a_row_written_around_the_app_is_outside_the_chain(engine: Engine) -> None:
    _write(engine, 2)
    with engine.begin() as conn:
        conn.execute(sa.insert(AuditEvent.__table__).values(at=T0, actor="x", action="forged", detail={}, prev_hash="", hash=""))
    assert "outside the chain" in _verdict(engine).reason


def test_the_app_never_changes_or_deletes_an_entry(engine: Engine) -> None:
    ids = _write(engine, 1)
    with pytest.raises(AppendOnly):
        with session_scope(engine) as session:
            session.get(AuditEvent, ids[0]).action = "something_else"  # type: ignore[union-attr]
            session.flush()
    with pytest.raises(AppendOnly):
        with session_scope(engine) as session:
            session.delete(session.get(AuditEvent, ids[0]))
            session.flush()
    assert _verdict(engine).whole


def test_a_rolled_back_entry_leaves_the_chain_whole(engine: Engine) -> None:
    _write(engine, 1)
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            write_audit(session, at=T0, actor="Olga", action="viewed_case")
            session.flush()
            raise RuntimeError
    _write(engine, 1, start=1)
    assert _verdict(engine).whole and _verdict(engine).checked == 2


def test_the_migration_chains_the_entries_already_written(database_url: str) -> None:
    upgrade(database_url, "0012")  # the revision before the chain
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            for n in range(4):
                conn.execute(sa.text("INSERT INTO auditevent (at, actor, action, detail) VALUES (:at, 'Olga', 'viewed_case', :d)"),
                             {"at": T0 + timedelta(seconds=n), "d": f'{{"n": {n}, "why": "caf\\u00e9"}}'})
        upgrade(database_url)
        assert _verdict(engine).whole and _verdict(engine).checked == 4
        _write(engine, 2)
        assert _verdict(engine).checked == 6
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_two_processes_writing_at_once_form_one_chain(engine: Engine) -> None:
    """Writers on separate connections, released together, each committing many entries
    (with other work in the same transaction): one chain, no number twice, none skipped."""
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers are serialised by SQLite itself")
    writers, each = 6, 15
    gate = threading.Barrier(writers)
    failures: list[BaseException] = []
    url = engine.url.render_as_string(hide_password=False)

    def writer(w: int) -> None:
        own = make_engine(url)
        try:
            gate.wait()
            for n in range(each):
                with session_scope(own) as session:
                    write_audit(session, at=T0, actor=f"writer {w}", action="searched", n=n)
                    session.flush()  # inserted early, chained at commit
                    write_audit(session, at=T0, actor=f"writer {w}", action="viewed_case", n=n)
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    verdict = _verdict(engine)
    assert verdict.whole and verdict.checked == writers * each * 2


def test_heard_audit_verify_exits_0_when_whole_and_1_naming_the_broken_entry(engine: Engine) -> None:
    ids = _write(engine, 3)
    url = engine.url.render_as_string(hide_password=False)
    whole = run_heard("audit", "verify", database_url=url)
    assert whole.returncode == 0, whole.stderr
    assert "whole: 3 entries" in whole.stdout
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE auditevent SET actor = 'Someone else' WHERE id = :id"), {"id": ids[1]})
    broken = run_heard("audit", "verify", database_url=url)
    assert broken.returncode == 1
    assert f"entry {ids[1]} " in broken.stderr and "changed" in broken.stderr


def test_the_sweeps_entries_join_the_chain_and_a_dry_run_adds_none(engine: Engine) -> None:
    """The scheduler writes on a Core connection: its entries are chained just before it commits."""
    from datetime import date

    from sqlmodel import select

    from models import Advocacy, Deadline
    from models.enums import AdvocacyAnswer, DeadlineKind, Role
    from scheduler.clock import Clock
    from scheduler.policy import load_policy
    from scheduler.sweep import Sweep
    from tests.factories import LONDON, at, open_case

    clock = Clock(load_policy())
    case_id = open_case(engine, clock, date(2026, 10, 26), role=Role.child_or_young_person, advocate_offered=True)
    with session_scope(engine) as session:
        session.exec(select(Advocacy)).one().answer = AdvocacyAnswer.yes
        session.add(Deadline(case_id=case_id, kind=DeadlineKind.stage_2_request, due_on=date(2026, 11, 2)))
    _write(engine, 1)
    Sweep(engine, clock, LONDON).run(at(date(2026, 11, 3), 7), dry_run=True)
    assert _verdict(engine).checked == 1
    Sweep(engine, clock, LONDON).run(at(date(2026, 11, 3), 7))
    with session_scope(engine) as session:
        rows = session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert {"advocacy_referral", "window_closed"} <= {r.action for r in rows[1:]} and all(r.seq for r in rows)
    _write(engine, 1, start=1)
    verdict = _verdict(engine)
    assert verdict.whole and verdict.checked == len(rows) + 1


def test_retention_may_erase_a_deleted_cases_words_and_nothing_else_passes(engine: Engine) -> None:
    """The chain hashes each detail through its own hash, so erasing the words of a deleted case's
    entries (and only that: `{"erased": rule}`) leaves it whole; any other change still shows."""
    from models import Case
    from models.audit_chain import erase_details
    from tests.web_helpers import open_case

    reference = open_case(engine, "Nobody rang me back about contact.")
    with session_scope(engine) as session:
        case_id = session.execute(sa.select(Case.id).where(Case.reference == reference)).scalar_one()
        write_audit(session, at=T0, actor="Olga", action="note", case_id=case_id, text="Mum says Dean Smith hit her")
    other = _write(engine, 2)
    with session_scope(engine) as session:
        assert erase_details(session, [case_id], "case") >= 2  # "opened" and the note
    with session_scope(engine) as session:
        details = session.execute(sa.select(AuditEvent.detail).where(AuditEvent.case_id == case_id)).scalars().all()
    assert details and all(d == {"erased": "case"} for d in details)
    assert _verdict(engine).whole
    with engine.begin() as conn:  # an erased entry given other words is tampering
        conn.execute(sa.text("UPDATE auditevent SET detail = :d WHERE id = :id"), {"d": '{"erased": "x", "n": 1}', "id": other[0]})
    verdict = _verdict(engine)
    assert not verdict.whole and verdict.broken_id == other[0] and "content was changed" in verdict.reason


def test_intake_and_imports_write_their_entries_on_the_chain(engine: Engine) -> None:
    """Intake opens cases in bulk and `heard import` writes on a plain connection: neither may
    leave an entry outside the chain (it would read as written around the app)."""
    from tests.web_helpers import open_case

    open_case(engine, "Nobody rang me back about contact.")
    imported = run_heard("import", "tests/data/report_year.csv", database_url=engine.url.render_as_string(hide_password=False))
    assert imported.returncode == 0, imported.stderr
    with session_scope(engine) as session:
        actions = set(session.execute(sa.select(AuditEvent.action)).scalars())
    assert {"opened", "import"} <= actions
    assert _verdict(engine).whole
