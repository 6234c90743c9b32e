"""The sweep: turns what is due in the database into outbox rows. Time is always passed in.

One sweep, in one transaction:
1. (working days) an acknowledgement not sent in time alerts the complaints manager;
2. (working days) response deadlines whose bookmark (`next_action_on`) has come get the latest reminder or
   escalation (see `chase`), and passed ones are marked missed;
3. request windows that have closed are marked, so the case may close;
4. advocacy follow-ups and referrals (see `advocacy`);
5. the daily digest, on working days from the policy's digest time (see `digest`).
Sweeps take turns: one at a time holds the sweep lock to its commit (see `take_write_lock`), so
a second scheduler, or `heard sweep` beside them, runs after it and finds done what it did.
Rows another writer holds (an officer's open transaction) are skipped (`FOR UPDATE SKIP
LOCKED`), for the next sweep; every outbox row has an idempotency key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models import Case, Deadline, Officer, Team, audit_chain
from models.enums import CaseStatus, DeadlineKind
from scheduler import wording
from scheduler.chase import RESPONSES, bookmark_for, days_left, due_now
from scheduler.clock import Clock
from scheduler.outbox import enqueue, row, take_write_lock

BATCH = 5000
DEADLOCK, DEADLOCK_TRIES = "40P01", 5  # PostgreSQL's deadlock_detected
log = logging.getLogger("heard.scheduler")
WINDOWS = (DeadlineKind.stage_2_request, DeadlineKind.stage_3_request)
D, C = Deadline.__table__, Case.__table__


@dataclass
class SweepResult:
    at: datetime
    actions: list[dict[str, Any]] = field(default_factory=list)
    missed: int = 0

    def count(self, kind: str) -> int:
        return sum(1 for a in self.actions if a["action"] == kind)


class Sweep:
    def __init__(self, engine: Engine, clock: Clock, zone: ZoneInfo) -> None:
        self.engine, self.clock, self.zone = engine, clock, zone
        self.policy, self.calendar = clock.policy, clock.calendar

    def run(self, now: datetime, *, dry_run: bool = False) -> SweepResult:
        """One sweep; on PostgreSQL, tried again when it deadlocks with another writer (an
        officer's change to the same deadlines, taken in another order). PostgreSQL rolls the
        sweep back whole, and it can simply run again, since every outbox row it writes has an
        idempotency key."""
        for attempt in range(1, DEADLOCK_TRIES + 1):
            try:
                return self._run(now, dry_run=dry_run)
            except sa.exc.OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) != DEADLOCK or attempt == DEADLOCK_TRIES:
                    raise
                log.warning("sweep deadlocked with another writer (try %d of %d); running it again", attempt, DEADLOCK_TRIES)
        raise AssertionError("unreachable")

    def _run(self, now: datetime, *, dry_run: bool) -> SweepResult:
        from scheduler.advocacy import advocacy_pass
        from scheduler.digest import digest_pass

        today = now.astimezone(self.zone).date()
        result = SweepResult(now)
        conn = self.engine.connect()
        try:
            with conn.begin() as transaction:
                take_write_lock(conn)
                self._bookmarks(conn, today)
                if self.calendar.is_working_day(today):  # officers hear from it on working days only
                    self._acknowledgements(conn, today, now, result)
                    self._chase(conn, today, now, result)
                result.missed = self._mark_missed(conn, today)
                self._windows(conn, today, now, result)
                advocacy_pass(conn, self.clock, self.zone, today, now, result)
                digest_pass(conn, self.clock, self.zone, today, now, result)
                if dry_run:
                    transaction.rollback()
                else:
                    audit_chain.write_queued(conn)  # last: the audit chain's lock is held only to the commit
        finally:
            audit_chain.forget_queued(conn)
            conn.close()
        return result

    def _lock(self, query: sa.Select, conn: Connection) -> sa.Select:
        return query.with_for_update(skip_locked=True, of=D) if conn.dialect.name == "postgresql" else query

    def _acknowledgements(self, conn: Connection, today, now: datetime, result: SweepResult) -> None:  # type: ignore[no-untyped-def]
        """An acknowledgement still unsent on the working day after it was due alerts the manager, once.

        (Sending one marks its deadline met at once: see `acknowledged`.)
        """
        late = conn.execute(self._lock(
            sa.select(D.c.id, D.c.due_on, C.c.id, C.c.reference).join(C, C.c.id == D.c.case_id)
            .where(D.c.kind == DeadlineKind.acknowledgement.value, D.c.status.in_(["open", "missed"]),
                   D.c.next_action_on <= today, D.c.met_on.is_(None)), conn)).all()
        rows = []
        for deadline_id, due, case_id, reference in late:
            subject, body = wording.acknowledgement_missed(reference, due)
            rows.append(row(f"ack-missed:{deadline_id}", "escalation", "email", self.policy.council.complaints_manager_email,
                            subject, body, now, case_id=case_id))
            result.actions.append({"action": "acknowledgement_missed", "case": reference, "deadline_id": deadline_id})
        enqueue(conn, rows)
        if late:
            conn.execute(sa.update(D).where(D.c.id.in_([r[0] for r in late]))
                         .values(next_action_on=None, last_action="alerted", status="missed"))

    def _bookmarks(self, conn: Connection, today) -> None:  # type: ignore[no-untyped-def]
        """Deadlines written without a bookmark (an import, an older version) get one."""
        fresh = conn.execute(self._lock(sa.select(D.c.id, D.c.kind, D.c.due_on).where(
            D.c.status == "open", D.c.next_action_on.is_(None), D.c.met_on.is_(None),
            D.c.kind.in_([k.value for k in (*RESPONSES, DeadlineKind.acknowledgement)]), D.c.last_action == ""), conn)).all()
        before = self.policy.reminders.before_due
        if fresh:
            conn.execute(sa.update(D).where(D.c.id == sa.bindparam("i")).values(next_action_on=sa.bindparam("n")),
                         [{"i": i, "n": bookmark_for(self.calendar, DeadlineKind(k), due, before)} for i, k, due in fresh])

    def _chase(self, conn: Connection, today, now: datetime, result: SweepResult) -> None:  # type: ignore[no-untyped-def]
        officer, team = Officer.__table__, Team.__table__
        reminders = self.policy.reminders
        while True:
            due_rows = conn.execute(self._lock(
                sa.select(D.c.id, D.c.kind, D.c.due_on, D.c.explanation, D.c.last_action, D.c.met_on, C.c.id.label("case_id"),
                          C.c.reference, C.c.status.label("case_status"), officer.c.email.label("owner"),
                          team.c.manager_email.label("manager"))
                .join(C, C.c.id == D.c.case_id).outerjoin(officer, officer.c.id == C.c.owner_id)
                .outerjoin(team, team.c.id == C.c.team_id)
                .where(D.c.status.in_(["open", "missed"]), D.c.next_action_on <= today,
                       D.c.kind.in_([k.value for k in RESPONSES]))
                .order_by(D.c.next_action_on).limit(BATCH), conn)).all()
            if not due_rows:
                return
            outbox, bookmarks = [], []
            for r in due_rows:
                if r.met_on is not None or r.case_status in (CaseStatus.closed.value, CaseStatus.merged.value):
                    bookmarks.append({"i": r.id, "n": None, "l": r.last_action})
                    continue
                due = due_now(self.calendar, r.due_on, today, reminders.before_due, reminders.escalation_repeat)
                # The label carries the due date, so an extended deadline is chased afresh.
                label = f"{r.due_on.isoformat()}/{due.label}" if due.label else None
                if label is None or label == r.last_action:
                    bookmarks.append({"i": r.id, "n": due.next_on, "l": r.last_action})
                    continue
                next_on = due.next_on
                if "overdue" in label:  # weekly from the last one sent, even when that one was late
                    next_on = max(next_on, self.calendar.after(today, reminders.escalation_repeat))
                bookmarks.append({"i": r.id, "n": next_on, "l": label})
                outbox += self._chase_rows(r, label, today, now)
                result.actions.append({"action": "escalation" if "overdue" in label else "reminder",
                                       "label": due.label, "case": r.reference, "deadline_id": r.id, "kind": r.kind,
                                       "due": r.due_on.isoformat()})
            enqueue(conn, outbox)
            _move_bookmarks(conn, bookmarks)

    def _chase_rows(self, r: Any, label: str, today, now: datetime) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
        key = f"deadline:{r.id}:{label}"
        if "overdue" in label:
            subject, body = wording.escalation(r.reference, r.kind, r.due_on, self.calendar.working_days_between(r.due_on, today))
            return [row(key, "escalation", "email", self.policy.council.complaints_manager_email, subject, body, now, case_id=r.case_id)]
        subject, body = wording.reminder(r.reference, r.kind, r.due_on, days_left(self.calendar, today, r.due_on), r.explanation)
        people = sorted({a for a in (r.owner, r.manager) if a}) or [self.policy.council.complaints_team_email]
        return [row(f"{key}:{to}", "reminder", "email", to, subject, body, now, case_id=r.case_id) for to in people]

    def _mark_missed(self, conn: Connection, today) -> int:  # type: ignore[no-untyped-def]
        return conn.execute(sa.update(D).where(
            D.c.status == "open", D.c.due_on < today, D.c.met_on.is_(None), D.c.kind.not_in([k.value for k in WINDOWS])
        ).values(status="missed")).rowcount

    def _windows(self, conn: Connection, today, now: datetime, result: SweepResult) -> None:  # type: ignore[no-untyped-def]
        closed = conn.execute(self._lock(sa.select(D.c.id, D.c.case_id, D.c.kind, D.c.due_on).where(
            D.c.status == "open", D.c.kind.in_([k.value for k in WINDOWS]), D.c.due_on < today), conn)).all()
        for deadline_id, case_id, kind, due in closed:
            conn.execute(sa.update(D).where(D.c.id == deadline_id).values(status="met", met_on=due))
            audit_chain.queue(conn, at=now, actor="scheduler", case_id=case_id, action="window_closed",
                              detail={"deadline": kind, "closed_on": due.isoformat(), "note": "no request came in time; the case may close"})
            result.actions.append({"action": "window_closed", "case_id": case_id, "kind": kind})


def sweep(engine: Engine, clock: Clock, zone: ZoneInfo, now: datetime, *, dry_run: bool = False) -> SweepResult:
    return Sweep(engine, clock, zone).run(now, dry_run=dry_run)


def acknowledged(conn: Connection, case_id: int | None, on) -> None:  # type: ignore[no-untyped-def]
    """An acknowledgement went out: its deadline is met (called by every channel's sender) — or,
    when it went after its due date (a letter logged days after it came), missed but done, as
    the importer records a late one, so the annual report counts it late."""
    if case_id is not None:
        status = sa.case((D.c.due_on >= on, "met"), else_="missed")
        conn.execute(sa.update(D).where(D.c.case_id == case_id, D.c.kind == DeadlineKind.acknowledgement.value,
                                        D.c.met_on.is_(None)).values(status=status, met_on=on, next_action_on=None))


def _move_bookmarks(conn: Connection, bookmarks: list[dict[str, Any]]) -> None:
    """Straight to the driver, like `enqueue`: dates as the models store them."""
    postgres = conn.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    conn.exec_driver_sql(
        f"UPDATE deadline SET next_action_on = {mark}, last_action = {mark} WHERE id = {mark}",
        [(b["n"] if postgres or b["n"] is None else b["n"].isoformat(), b["l"], b["i"]) for b in bookmarks],
    )
