"""The SQL behind the annual report: every figure is a GROUP BY in the database.

Each query covers both years at once (the previous financial year and the one reported) and
returns a few hundred or thousand grouped rows, never the cases themselves, so a million
representations take seconds and little memory. Months are numbered 1–12 for the previous
year and 13–24 for the year reported; 0 is before, 25 after. Timestamps are bucketed at local
(Europe/London) midnight, converted to UTC, so a representation received at 00:30 BST on
1 April belongs to April.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models import Advocacy, Case, Deadline, StageRecord, Team
from models.enums import CaseStatus, DeadlineKind, DeadlineStatus, Kind, Outcome, Procedure, Stage

CASE, STAGE, DEADLINE, ADVOCACY, TEAM = (t.__table__ for t in (Case, StageRecord, Deadline, Advocacy, Team))  # type: ignore[attr-defined]
BEFORE, AFTER = 0, 25


@dataclass(frozen=True)
class Span:
    """The two financial years a report compares: months 1–24 from 1 April of `first_year`."""

    first_year: int
    tz: ZoneInfo

    @property
    def month_starts(self) -> list[date]:
        """25 dates: the first of each of the 24 months, then the day after the last."""
        days = []
        for i in range(25):
            year, month = divmod(3 + i, 12)
            days.append(date(self.first_year + year, month + 1, 1))
        return days

    @property
    def instants(self) -> list[datetime]:
        return [datetime.combine(d, time(0), self.tz).astimezone(UTC) for d in self.month_starts]


def _bucket(column: sa.ColumnElement, edges: list) -> sa.ColumnElement:  # type: ignore[type-arg]
    whens = [(column < edge, i) for i, edge in enumerate(edges)]
    return sa.case(*whens, else_=AFTER)


def _year(column: sa.ColumnElement, edges: list) -> sa.ColumnElement:  # type: ignore[type-arg]
    """0 for the previous year, 1 for the year reported (rows outside are filtered out)."""
    return sa.case((column < edges[12], 0), else_=1)


def _live(query: sa.Select) -> sa.Select:  # type: ignore[type-arg]
    return query.where(CASE.c.status != CaseStatus.merged)


def _rows(conn: Connection, query: sa.Select) -> list[tuple]:  # type: ignore[type-arg]
    return [tuple(r) for r in conn.execute(query)]


def received(conn: Connection, span: Span) -> list[tuple]:
    """(year, kind, procedure, enquiry_source, role, adr, count, compensation pence, payments)."""
    edges = span.instants
    year = _year(CASE.c.received_at, edges).label("y")
    cols = (CASE.c.kind, CASE.c.procedure, CASE.c.enquiry_source, CASE.c.complainant_role, CASE.c.adr)
    paid = sa.func.sum(sa.case((CASE.c.compensation_pence > 0, 1), else_=0))
    query = _live(
        sa.select(year, *cols, sa.func.count(), sa.func.coalesce(sa.func.sum(CASE.c.compensation_pence), 0), paid)
        .where(CASE.c.received_at >= edges[0], CASE.c.received_at < edges[24])
        .group_by(year, *cols)
    )
    return _rows(conn, query)


def complaints_profile(conn: Connection, span: Span) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Complaints received, one scan, as three lists of (year, procedure, value, count): by team
    name, by reason code (a complaint counts under each of its reasons) and by the child's ethnicity."""
    edges = span.instants
    year = _year(CASE.c.received_at, edges).label("y")
    reasons = sa.cast(CASE.c.reasons, sa.Text).label("r")
    query = _live(
        sa.select(year, CASE.c.procedure, CASE.c.team_id, reasons, CASE.c.child_ethnicity, sa.func.count())
        .where(CASE.c.kind == Kind.complaint, CASE.c.received_at >= edges[0], CASE.c.received_at < edges[24])
        .group_by(year, CASE.c.procedure, CASE.c.team_id, reasons, CASE.c.child_ethnicity)
    )
    names = dict(_rows(conn, sa.select(TEAM.c.id, TEAM.c.name)))
    teams: Counter[tuple[int, object, str]] = Counter()
    codes: Counter[tuple[int, object, str]] = Counter()
    ethnicity: Counter[tuple[int, object, str]] = Counter()
    parsed: dict[str, list[str]] = {}
    for y, procedure, team_id, text, group, n in _rows(conn, query):
        teams[(y, procedure, names.get(team_id, ""))] += n
        ethnicity[(y, procedure, group or "")] += n
        if text not in parsed:
            parsed[text] = json.loads(text or "[]") or ["not_recorded"]
        for code in parsed[text]:
            codes[(y, procedure, code)] += n
    return tuple([(y, p, v, n) for (y, p, v), n in counter.items()] for counter in (teams, codes, ethnicity))  # type: ignore[return-value]


def stages(conn: Connection, span: Span) -> list[tuple]:
    """(stage, procedure, started_on, responded_on, outcome, count) for every stage started or
    answered in either year: volumes by start, timeliness and outcomes by response."""
    edges = span.month_starts
    cols = (STAGE.c.stage, CASE.c.procedure, STAGE.c.started_on, STAGE.c.responded_on, STAGE.c.outcome)
    in_span = sa.or_(
        sa.and_(STAGE.c.started_on >= edges[0], STAGE.c.started_on < edges[24]),
        sa.and_(STAGE.c.responded_on >= edges[0], STAGE.c.responded_on < edges[24]),
    )
    query = _live(
        sa.select(*cols, sa.func.count())
        .select_from(STAGE.join(CASE, CASE.c.id == STAGE.c.case_id))
        .where(in_span)
        .group_by(*cols)
    )
    return _rows(conn, query)


def acknowledgements(conn: Connection, span: Span) -> list[tuple]:
    """(year, procedure, status, count) of acknowledgements decided (met or missed), by the day the
    representation was received, as every other volume is counted."""
    edges = span.instants
    year = _year(CASE.c.received_at, edges).label("y")
    query = _live(
        sa.select(year, CASE.c.procedure, DEADLINE.c.status, sa.func.count())
        .select_from(DEADLINE.join(CASE, CASE.c.id == DEADLINE.c.case_id))
        .where(
            DEADLINE.c.kind == DeadlineKind.acknowledgement,
            DEADLINE.c.status.in_([DeadlineStatus.met, DeadlineStatus.missed]),
            CASE.c.received_at >= edges[0],
            CASE.c.received_at < edges[24],
        )
        .group_by(year, CASE.c.procedure, DEADLINE.c.status)
    )
    return _rows(conn, query)


def advocacy(conn: Connection, span: Span) -> list[tuple]:
    """(year, cases offered an advocate, cases that said yes), by when the case was received
    (the statutory procedure: the advocacy duty is the Children Act's)."""
    edges = span.instants
    year = _year(CASE.c.received_at, edges).label("y")
    yes = sa.case((ADVOCACY.c.answer == "yes", ADVOCACY.c.case_id))
    query = _live(
        sa.select(year, sa.func.count(sa.distinct(ADVOCACY.c.case_id)), sa.func.count(sa.distinct(yes)))
        .select_from(ADVOCACY.join(CASE, CASE.c.id == ADVOCACY.c.case_id))
        .where(CASE.c.received_at >= edges[0], CASE.c.received_at < edges[24], CASE.c.procedure == Procedure.statutory)
        .group_by(year)
    )
    return _rows(conn, query)


def stage_1_flow(conn: Connection, span: Span) -> list[tuple]:
    """(month received, month finished, withdrawn, count) for every statutory complaint received
    before the end.

    Finished is the stage 1 response, or closure without one (counted as withdrawn).
    """
    s1 = STAGE.alias("s1")
    month_instants, month_days = span.instants, span.month_starts
    finished = sa.case(
        (s1.c.responded_on.is_not(None), _bucket(s1.c.responded_on, month_days)),
        (CASE.c.closed_at.is_not(None), _bucket(CASE.c.closed_at, month_instants)),
        else_=AFTER,
    ).label("f")
    withdrawn = sa.case(
        (s1.c.outcome == Outcome.withdrawn, 1),
        (sa.and_(s1.c.responded_on.is_(None), CASE.c.closed_at.is_not(None)), 1),
        else_=0,
    ).label("w")
    arrived = _bucket(CASE.c.received_at, month_instants).label("r")
    query = _live(
        sa.select(arrived, finished, withdrawn, sa.func.count())
        .select_from(CASE.outerjoin(s1, sa.and_(s1.c.case_id == CASE.c.id, s1.c.stage == Stage.stage_1)))
        .where(CASE.c.kind == Kind.complaint, CASE.c.procedure == Procedure.statutory, CASE.c.received_at < month_instants[24])
        .group_by(arrived, finished, withdrawn)
    )
    return _rows(conn, query)


def learning(conn: Connection, span: Span, limit: int = 25) -> tuple[list[tuple[int, int]], list[tuple[str, int]]]:
    """How many upheld (or partly upheld) statutory complaints recorded learning in each year, and
    the year's most common lessons with how many complaints each came from."""
    edges = span.month_starts
    upheld = [Outcome.upheld, Outcome.partially_upheld]

    def cases(first: date, end: date) -> sa.Select:  # type: ignore[type-arg]
        return (sa.select(STAGE.c.case_id).select_from(STAGE.join(CASE, CASE.c.id == STAGE.c.case_id))
                .where(STAGE.c.outcome.in_(upheld), STAGE.c.responded_on >= first, STAGE.c.responded_on < end,
                       CASE.c.procedure == Procedure.statutory))

    counts = []
    for y, (first, end) in enumerate(((edges[0], edges[12]), (edges[12], edges[24]))):
        n = conn.execute(_live(sa.select(sa.func.count()).where(CASE.c.id.in_(cases(first, end)), CASE.c.learning != ""))).scalar_one()
        counts.append((y, n))
    lessons = _live(
        sa.select(CASE.c.learning, sa.func.count().label("n"))
        .where(CASE.c.id.in_(cases(edges[12], edges[24])), CASE.c.learning != "")
        .group_by(CASE.c.learning)
        .order_by(sa.desc("n"), CASE.c.learning)
        .limit(limit)
    )
    return counts, [(text, n) for text, n in conn.execute(lessons)]


def years_with_data(conn: Connection, tz: ZoneInfo) -> list[int]:
    """Financial years (by their first calendar year) from the first representation to the last."""
    first, last = conn.execute(sa.select(sa.func.min(CASE.c.received_at), sa.func.max(CASE.c.received_at))).one()
    if first is None:
        return []
    if isinstance(first, str):  # SQLite hands back text for an aggregate
        first, last = (datetime.fromisoformat(v).replace(tzinfo=UTC) for v in (first, last))
    years = []
    for moment in (first, last):
        local = moment.astimezone(tz).date() if moment.tzinfo else moment.date()
        years.append(local.year if local.month >= 4 else local.year - 1)
    return list(range(years[0], years[1] + 1))
