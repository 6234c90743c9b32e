"""`heard import`: historic representations from a CSV file or an Excel workbook into the case record.

1. Every record is read (`sources`: a record that cannot be read is a bad row, never skipped)
   and checked (`layout.RowReader`); a bad row is kept as (line, reason).
2. Good rows are written in chunks with Core bulk inserts (`executemany`), all inside one
   transaction: cases first (their ids come back in order), then stages, deadlines and
   advocacy offers.
3. At the end, any bad row rolls the whole transaction back — nothing is half-imported —
   unless `skip_bad` was asked for, when the good rows are kept and the bad ones listed.

Deadlines come from the statutory clock, so imported cases explain their dates as live ones do.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models import Advocacy, Case, Deadline, ReferenceSequence, StageRecord, Team
from models import audit_chain
from models.enums import CaseStatus, DeadlineKind, DeadlineStatus, Kind, Procedure, Stage, TriageState
from scheduler.clock import CaseEvents, Clock, DueDate
from reports.bulk import BulkInsert
from reports.layout import Representation, RowError, RowReader, StageRow, check_header
from reports.sources import Progress, Row, Unreadable, open_source, place

MAX_ERRORS_KEPT = 1000  # when nothing is imported; with skip_bad every skipped row is kept, to be listed
OUR_REFERENCE = re.compile(r"CSC-(\d{4})-(\d{5})")
CASE, STAGE, DEADLINE, ADVOCACY, TEAM = (t.__table__ for t in (Case, StageRecord, Deadline, Advocacy, Team))  # type: ignore[attr-defined]
CASE_COLUMNS = (
    "id", "reference", "kind", "reasons", "primary_reason", "complainant_role", "enquiry_source", "procedure", "stage", "status",
    "channel", "team_id", "summary", "triage_state", "triage_detail", "safeguarding", "safeguarding_signals",
    "eligibility_flags", "possible_escalation", "adr", "adr_note", "compensation_pence", "learning", "child_ethnicity",
    "received_at", "closed_at", "created_at",
)
DEADLINE_COLUMNS = ("case_id", "kind", "due_on", "explanation", "status", "met_on", "original_due_on", "extension_reason", "created_at")


class _Frozen(dict):  # type: ignore[type-arg]
    """A constant JSON object that `BulkInsert` can remember (dicts are unhashable)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))


IMPORTED = _Frozen(imported=True)
NONE: tuple[str, ...] = ()
STAGE_DEADLINE = {Stage.initial_feedback: DeadlineKind.initial_feedback, Stage.stage_1: DeadlineKind.stage_1, Stage.stage_2: DeadlineKind.stage_2}


class ImportFailed(Exception):
    """The file as a whole cannot be imported (unreadable, bad header, or bad rows without skip)."""

    def __init__(self, message: str, result: ImportResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_count: int = 0
    teams_created: list[str] = field(default_factory=list)
    committed: bool = False
    keep_all_errors: bool = False
    sheet: str | None = None  # the worksheet read, for a workbook

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add_error(self, line: int, reason: str) -> None:
        with self._lock:  # the reader and the writer thread both report
            self.error_count += 1
            if self.keep_all_errors or len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append((line, reason))

    def place(self, line: int) -> str:
        """A line of a CSV file, or a row of the worksheet."""
        return place(line, self.sheet)


class _Writer:
    """Bulk-writes validated representations on one connection (one transaction); in a dry run
    it only counts them and the teams they would create."""

    def __init__(self, conn: Connection, clock: Clock, tz: ZoneInfo, now: datetime, result: ImportResult, *, dry_run: bool = False) -> None:
        self.conn, self.clock, self.tz, self.now, self.result, self.dry_run = conn, clock, tz, now, result, dry_run
        self.teams: dict[str, int | None] = {name: id_ for id_, name in conn.execute(sa.select(TEAM.c.id, TEAM.c.name))}
        self.postgres = conn.dialect.name == "postgresql"
        if not self.postgres and not dry_run:
            # SQLite: take the write lock now (a statement that changes nothing), so no other
            # process inserts a case while this transaction hands out the ids after the highest.
            conn.exec_driver_sql("DELETE FROM referencesequence WHERE 0")
            self._next_id = (conn.execute(sa.select(sa.func.max(CASE.c.id))).scalar() or 0) + 1
        self.highest: dict[int, int] = {}
        self.insert_cases = BulkInsert(conn, CASE, CASE_COLUMNS)
        self.insert_stages = BulkInsert(conn, STAGE, ("case_id", "stage", "started_on", "responded_on", "outcome", "note"))
        self.insert_deadlines = BulkInsert(conn, DEADLINE, DEADLINE_COLUMNS)
        self.insert_offers = BulkInsert(conn, ADVOCACY, ("case_id", "offered_at", "offered_on_channel", "answer", "help_wanted", "safe_contact", "consent_to_share"))
        self._due = lru_cache(maxsize=None)(self._deadlines)
        self._due_2 = lru_cache(maxsize=None)(self._stage_2)
        self._noon = lru_cache(maxsize=None)(lambda d: datetime.combine(d, time(12), self.tz).astimezone(UTC))

    def existing(self, references: list[str]) -> set[str]:
        """Which of these references the case record already has (plain SQL: thousands at a time)."""
        if self.postgres:
            found = self.conn.exec_driver_sql('SELECT reference FROM "case" WHERE reference = ANY(%s)', (references,))
        else:
            marks = ", ".join("?" for _ in references)
            found = self.conn.exec_driver_sql(f'SELECT reference FROM "case" WHERE reference IN ({marks})', tuple(references))
        return {row[0] for row in found}

    def _ids(self, count: int) -> list[int]:
        """Ids for the next cases, known before they are inserted so their stages can point at them."""
        if self.postgres:
            sql = """SELECT nextval(pg_get_serial_sequence('"case"', 'id')) FROM generate_series(1, %s)"""
            return [row[0] for row in self.conn.exec_driver_sql(sql, (count,))]
        first, self._next_id = self._next_id, self._next_id + count
        return list(range(first, first + count))

    def reserve_references(self) -> None:
        """Imported references in Heard's own form (CSC-2024-00042) are never issued again by intake."""
        seq = ReferenceSequence.__table__  # type: ignore[attr-defined]
        for year, number in self.highest.items():
            bumped = self.conn.execute(sa.update(seq).where(seq.c.year == year, seq.c.last < number).values(last=number))
            if bumped.rowcount == 0 and self.conn.execute(sa.select(seq.c.year).where(seq.c.year == year)).first() is None:
                self.conn.execute(sa.insert(seq).values(year=year, last=number))

    def _team_id(self, name: str) -> int | None:
        if not name:
            return None
        if name not in self.teams:
            insert = sa.insert(TEAM).values(name=name).returning(TEAM.c.id)
            self.teams[name] = None if self.dry_run else self.conn.execute(insert).scalar_one()
            self.result.teams_created.append(name)
        return self.teams[name]

    def _deadlines(self, received: date, procedure: Procedure, kind: Kind, extended: bool) -> dict[DeadlineKind, DueDate]:
        events = CaseEvents(received_on=received, procedure=procedure, kind=kind, stage_1_extended=extended)
        return {d.kind: d for d in self.clock.deadlines(events)}

    def _stage_2(self, requested: date, procedure: Procedure, extended: bool) -> DueDate:
        events = CaseEvents(
            received_on=requested,
            procedure=procedure,
            kind=Kind.complaint,
            stage_2_requested_on=requested,
            stage_2_statement_agreed_on=requested,
            stage_2_extended=extended,
        )
        return next(d for d in self.clock.deadlines(events) if d.kind is DeadlineKind.stage_2)

    def write(self, reps: list[Representation]) -> None:
        if self.dry_run:
            for rep in reps:
                self._team_id(rep.team)
            self.result.imported += len(reps)
            return
        for rep in reps:
            if match := OUR_REFERENCE.fullmatch(rep.reference):
                year, number = int(match.group(1)), int(match.group(2))
                self.highest[year] = max(number, self.highest.get(year, 0))
        ids = dict(zip((r.reference for r in reps), self._ids(len(reps)), strict=True))
        self.insert_cases([self._case_row(ids[r.reference], r) for r in reps])
        stages: list[tuple[Any, ...]] = []
        deadlines: list[tuple[Any, ...]] = []
        offers: list[tuple[Any, ...]] = []
        for rep in reps:
            case_id = ids[rep.reference]
            closed = bool(rep.closed_on) or _finished(rep)
            for s in rep.stages:
                stages.append((case_id, s.stage.value, s.started_on, s.responded_on, s.outcome.value if s.outcome else None, ""))
            if rep.kind is not Kind.compliment:
                deadlines.extend(self._deadline_rows(case_id, rep, closed))
            if rep.advocacy_offered:
                offered_at = self._noon(rep.acknowledged_on or rep.received_on)
                offers.append((case_id, offered_at, rep.channel, rep.advocacy_answer, "", "", False))
        self.insert_stages(stages)
        self.insert_deadlines(deadlines)
        self.insert_offers(offers)
        self.result.imported += len(reps)

    def _case_row(self, case_id: int, rep: Representation) -> tuple[Any, ...]:
        closed_on = rep.closed_on or (_last_date(rep) if _finished(rep) else None)
        return (
            case_id, rep.reference, rep.kind, tuple(rep.reasons), rep.reasons[0] if rep.reasons else None, rep.role, rep.enquiry_source,
            rep.procedure, rep.stage, CaseStatus.closed if closed_on else CaseStatus.open, rep.channel, self._team_id(rep.team),
            "", TriageState.confirmed, IMPORTED, False, NONE, NONE, False, rep.adr, "", rep.compensation_pence, rep.learning,
            rep.child_ethnicity, self._noon(rep.received_on), self._noon(closed_on) if closed_on else None, self.now,
        )

    def _deadline_rows(self, case_id: int, rep: Representation, closed: bool) -> Iterator[tuple[Any, ...]]:
        extended = any(s.extension_reason for s in rep.stages if s.stage is Stage.stage_1)
        due = self._due(rep.received_on, rep.procedure, rep.kind, extended)
        if rep.acknowledged_on:
            yield self._deadline(case_id, due[DeadlineKind.acknowledgement], rep.acknowledged_on, closed)
        for s in rep.stages:
            if s.stage is Stage.stage_3:
                continue  # stage 3's panel, report and response dates are not in the layout
            if s.stage is Stage.stage_2:
                this, plain = self._due_2(s.started_on, rep.procedure, bool(s.extension_reason)), self._due_2(s.started_on, rep.procedure, False)
            else:
                kind = STAGE_DEADLINE[s.stage]
                this, plain = due[kind], self._due(rep.received_on, rep.procedure, rep.kind, False)[kind]
            if s.extension_reason:
                yield self._deadline(case_id, this, s.responded_on, closed, plain.due_on, s.extension_reason)
            else:
                yield self._deadline(case_id, this, s.responded_on, closed)

    def _deadline(self, case_id: int, due: DueDate, done_on: date | None, closed: bool, original: date | None = None, why: str = "") -> tuple[Any, ...]:
        if done_on is not None:
            status = DeadlineStatus.met if done_on <= due.due_on else DeadlineStatus.missed
        else:
            status = DeadlineStatus.superseded if closed else DeadlineStatus.open
        return (case_id, due.kind.value, due.due_on, due.explanation, status.value, done_on, original, why, self.now)


def _finished(rep: Representation) -> bool:
    """A compliment, or a representation whose last stage has its response."""
    return not rep.stages or rep.stages[-1].responded_on is not None


def _last_date(rep: Representation) -> date:
    last: StageRow | None = rep.stages[-1] if rep.stages else None
    return last.responded_on if last and last.responded_on else rep.received_on


def import_csv(
    engine: Engine,
    path: Path,
    *,
    clock: Clock,
    tz: ZoneInfo,
    now: datetime,
    skip_bad: bool = False,
    dry_run: bool = False,
    sheet: str | None = None,
    progress: Progress | None = None,
    chunk_size: int = 5000,
) -> ImportResult:
    """Import the file; raises `ImportFailed` (having written nothing) when it cannot be imported whole.

    A dry run reads and checks everything, references against the case record too, and writes nothing.
    `sheet` names the worksheet to read from a workbook (default: the first).
    """
    result = ImportResult(keep_all_errors=skip_bad)
    reader = RowReader(today=now.astimezone(tz).date())
    try:
        source = open_source(path, sheet=sheet, progress=progress)
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot read: {exc.strerror}") from None
    except Unreadable as exc:
        raise ImportFailed(f"{path.name}: {exc}") from None
    result.sheet = source.sheet
    try:
        header = check_header(source.header)
    except RowError as exc:
        source.close()
        raise ImportFailed(f"{path.name}: {result.place(source.header_line)}: {exc}") from None
    seen: set[str] = set()
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":  # room for the indexes of a million cases; reset below
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
            conn.commit()
        try:
            _import_rows(conn, path, source.rows(), header, reader, writer_args=(clock, tz, now), result=result, seen=seen, skip_bad=skip_bad, dry_run=dry_run, chunk_size=chunk_size)
        except Unreadable as exc:  # found part-way through the file: the transaction is rolled back
            raise ImportFailed(f"{path.name}: {exc}; nothing was imported", result) from None
        finally:
            source.close()
            if conn.dialect.name == "sqlite":
                conn.rollback()
                conn.exec_driver_sql("PRAGMA cache_size=-2000")
                conn.commit()
    result.committed = not dry_run
    result.errors.sort()
    return result


def _import_rows(conn: Connection, path: Path, rows: Iterator[Row], header: list[str], reader: RowReader, *, writer_args: tuple[Clock, ZoneInfo, datetime], result: ImportResult, seen: set[str], skip_bad: bool, dry_run: bool, chunk_size: int) -> None:
    clock, tz, now = writer_args
    # The database work of each chunk runs on a writer thread while this one reads the next
    # chunk: SQLite and psycopg let go of the GIL while they work, so the two overlap.
    with conn.begin() as transaction, ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as pool:
        writer = _Writer(conn, clock, tz, now, result, dry_run=dry_run)
        pending: list[tuple[int, Representation]] = []
        in_flight: list[Future[None]] = []

        def store(chunk: list[tuple[int, Representation]]) -> None:
            clash = writer.existing([rep.reference for _, rep in chunk])
            good = []
            for line, rep in chunk:
                if rep.reference in clash:
                    result.add_error(line, f"reference {rep.reference} is already in the case record")
                else:
                    good.append(rep)
            if skip_bad or not result.error_count:
                writer.write(good)

        def flush() -> None:
            while in_flight:  # one chunk at a time: memory stays bounded, and errors surface here
                in_flight.pop().result()
            in_flight.append(pool.submit(store, list(pending)))
            pending.clear()

        for start, values, problem in rows:
            result.rows += 1
            if problem:
                result.add_error(start, problem)
                continue
            try:
                rep = reader.read(dict(zip(header, values, strict=True)))
            except RowError as exc:
                result.add_error(start, str(exc))
                continue
            if rep.reference in seen:
                result.add_error(start, f"reference {rep.reference} appears earlier in the file")
                continue
            seen.add(rep.reference)
            pending.append((start, rep))
            if len(pending) >= chunk_size:
                flush()
        if pending:
            flush()
        while in_flight:
            in_flight.pop().result()
        if result.error_count and not skip_bad:
            transaction.rollback()
            result.imported = 0
            line, reason = min(result.errors)
            raise ImportFailed(f"{path.name}: {result.error_count} bad row(s), the first on {result.place(line)}: {reason}; nothing was imported", result)
        if not result.imported:  # an import of nothing is not a success
            transaction.rollback()
            if result.error_count:
                raise ImportFailed(f"{path.name}: all {result.error_count:,} row(s) are bad; nothing was imported", result)
            where = "the file" if result.sheet is None else f"sheet {result.sheet!r}"
            raise ImportFailed(f"{path.name}: {where} has a header but no rows; nothing was imported")
        if dry_run:
            transaction.rollback()
            return
        writer.reserve_references()
        audit_chain.queue(conn, at=now, actor="heard import", action="import",
                          detail={"file": path.name, "rows": result.rows, "imported": result.imported,
                                  "skipped": result.error_count} | ({"sheet": result.sheet} if result.sheet is not None else {}))
        audit_chain.write_queued(conn)  # last in the import's transaction: the chain head is locked until it commits
