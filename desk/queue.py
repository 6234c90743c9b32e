"""The triage queue: open cases, safeguarding first (disclosures, then possible concerns),
then by the nearest deadline officers must meet, with filters.

Fast with a million cases: the flagged cases are few and read through an index on
(status, safeguarding, triage_state); the rest are read in deadline order straight off the
(status, due_on) index of deadlines — once for `open`, once for `missed`, merged — keeping
for each case only its earliest live deadline, so the first page touches a few hundred rows.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from models import Case, Deadline
from models.enums import (
    CaseStatus, Channel, DeadlineKind, DeadlineStatus, Kind, Reason, Role, SafeguardingLevel, Stage, TriageState,
)
from scheduler.calendar import WorkingDayCalendar
from models import values as checked
from desk.activity import replied_since_opened

PAGE_SIZE = 50
WORKING = (CaseStatus.open, CaseStatus.responded)
# Deadlines officers must meet (not the complainant's windows, not the automatic acknowledgement).
OFFICER_DEADLINES = (
    DeadlineKind.initial_feedback, DeadlineKind.stage_1, DeadlineKind.stage_2,
    DeadlineKind.stage_3_panel, DeadlineKind.stage_3_report, DeadlineKind.stage_3_response,
)
LIVE = (DeadlineStatus.open, DeadlineStatus.missed)
REVIEW = {"needs": TriageState.needs_review, "confirmed": TriageState.confirmed, "all": None}


@dataclass(frozen=True)
class QueueFilters:
    kind: Kind | None = None
    reason: Reason | None = None
    role: Role | None = None
    team_id: int | None = None
    stage: Stage | None = None
    channel: Channel | None = None
    overdue: bool = False
    review: str = "needs"
    owner_id: int | None = None
    unassigned: bool = False
    safeguarding: SafeguardingLevel | None = None
    due_week: bool = False  # a live deadline in the next 5 working days (the dashboard's "due this week")
    page: int = 1
    due_window: tuple[date, date] | None = None  # set by `fetch_queue` from `due_week` and today; not a parameter

    def query_string(self, **changes: Any) -> str:
        """The filters as URL parameters (for links to other pages of the same view)."""
        f = replace(self, **changes)
        pairs = {
            "kind": f.kind, "reason": f.reason, "role": f.role, "team": f.team_id, "stage": f.stage,
            "channel": f.channel, "overdue": "1" if f.overdue else None, "review": f.review if f.review != "needs" else None,
            "owner": "none" if f.unassigned else f.owner_id, "safeguarding": f.safeguarding,
            "due": "week" if f.due_week else None, "page": f.page if f.page > 1 else None,
        }
        from urllib.parse import urlencode

        return urlencode({k: (v.value if hasattr(v, "value") else v) for k, v in pairs.items() if v is not None})


def parse_filters(params: dict[str, str], me: int | None = None) -> tuple[QueueFilters, list[str]]:
    """Filters from URL parameters; a value that makes no sense is dropped and named in `errors`."""
    errors: list[str] = []
    values: dict[str, Any] = {}

    def choice(name: str, enum: type) -> None:
        raw = params.get(name, "").strip()
        if raw:
            try:
                values[name] = enum(raw)
            except ValueError:
                errors.append(f"{name}: {raw!r} is not one of {', '.join(m.value for m in enum)}")

    for name, enum in (("kind", Kind), ("reason", Reason), ("role", Role), ("stage", Stage), ("channel", Channel),
                       ("safeguarding", SafeguardingLevel)):
        choice(name, enum)
    due = params.get("due", "").strip()
    if due == "week":
        values["due_week"] = True
    elif due:
        errors.append(f"due: {checked.shown(due)} is not week")
    for name, target, parse in (("team", "team_id", lambda raw: checked.record_id(raw, "team")), ("page", "page", checked.page_number)):
        raw = params.get(name, "").strip()
        if raw:
            try:
                values[target] = parse(raw)
            except checked.BadValue as exc:
                errors.append(str(exc))
    owner = params.get("owner", "").strip()
    if owner == "me" and me is not None:
        values["owner_id"] = me
    elif owner == "none":
        values["unassigned"] = True
    elif owner:
        try:
            values["owner_id"] = checked.record_id(owner, "officer")
        except checked.BadValue:
            errors.append(f"owner: {checked.shown(owner)} is not me, none or an officer")
    values["overdue"] = params.get("overdue", "") in ("1", "on", "true", "yes")
    review = params.get("review", "needs") or "needs"
    if review not in REVIEW:
        errors.append(f"review: {review!r} is not one of needs, confirmed, all")
        review = "needs"
    values["review"] = review
    return QueueFilters(**values), errors


def _case_conditions(f: QueueFilters, sqlite: bool = False) -> list[Any]:
    """What a case must be to be in this view.

    On SQLite the status test is wrapped in `likelihood(…, 0.05)`: without histograms the
    planner takes "open or responded" for half the table and would scan it, or read a
    one-column index such as a team's (every case that team ever had); told that working
    cases are few, it reads the queue index (status, triage_state, safeguarding)."""
    working: Any = Case.status.in_(WORKING)
    if sqlite:  # written out: SQLAlchemy would add "= 1" to a function, hiding it from the planner
        listed = ", ".join(f"'{s.value}'" for s in WORKING)
        working = sa.text(f'likelihood("case".status IN ({listed}), 0.05)')
    conds: list[Any] = [working]
    if REVIEW[f.review] is not None:
        conds.append(Case.triage_state == REVIEW[f.review])
    for column, value in ((Case.kind, f.kind), (Case.complainant_role, f.role), (Case.team_id, f.team_id),
                          (Case.stage, f.stage), (Case.channel, f.channel), (Case.owner_id, f.owner_id)):
        if value is not None:
            conds.append(column == value)
    if f.unassigned:
        conds.append(Case.owner_id.is_(None))
    if f.safeguarding is not None:
        conds.append(Case.safeguarding_level == f.safeguarding)
    if f.due_window is not None:
        d = sa.orm.aliased(Deadline)
        conds.append(sa.exists().where(d.case_id == Case.id, d.status.in_(LIVE), d.kind.in_(OFFICER_DEADLINES),
                                       d.due_on >= f.due_window[0], d.due_on <= f.due_window[1]))
    if f.reason is not None:
        # reasons is a JSON list of codes; codes never contain one another in quotes.
        conds.append(sa.cast(Case.reasons, sa.Text).like(f'%"{f.reason.value}"%'))
    return conds


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _nearest_deadline() -> Any:
    d = sa.orm.aliased(Deadline)
    return (sa.select(sa.func.min(d.due_on))
            .where(d.case_id == Case.id, d.status.in_(LIVE), d.kind.in_(OFFICER_DEADLINES))
            .correlate(Case).scalar_subquery())


@dataclass
class QueueRow:
    case: Case
    due_on: date | None
    days_left: int | None  # working days; negative when overdue
    team: str = ""
    owner: str = ""
    new_activity: bool = False  # a reply came in since the owner last opened the case
    today: date | None = None

    @property
    def due_badge(self) -> str:
        """The due date's badge: overdue, today, soon (within 3 working days), or "" while there is time."""
        if self.due_on is None or self.days_left is None or self.today is None:
            return ""
        if self.due_on < self.today:
            return "overdue"
        if self.due_on == self.today:
            return "today"
        return "soon" if self.days_left <= 3 else ""


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    filters: QueueFilters
    errors: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def count_queue(session: Session, f: QueueFilters, today: date) -> int:
    window = f.due_window if not f.overdue else None
    conds = _case_conditions(replace(f, due_window=None) if window else f, _is_sqlite(session))
    if not f.overdue and window is None:
        return session.execute(sa.select(sa.func.count()).select_from(Case).where(*conds)).scalar_one()
    # Overdue or due within a window: counted from the deadlines side, through their (status, due_on) index.
    d = sa.orm.aliased(Deadline)
    due = (d.due_on >= window[0], d.due_on <= window[1]) if window else (d.due_on < today,)
    return session.execute(
        sa.select(sa.func.count(sa.distinct(d.case_id))).join(Case, Case.id == d.case_id)
        .where(d.status.in_(LIVE), *due, d.kind.in_(OFFICER_DEADLINES), *conds)
    ).scalar_one()


def _flagged(session: Session, f: QueueFilters, today: date, skip: int, take: int) -> tuple[list[tuple[int, date | None]], int]:
    nearest = _nearest_deadline()
    sqlite = _is_sqlite(session)
    conds = [*_case_conditions(f, sqlite), Case.safeguarding == sa.true()]
    if f.overdue:
        conds.append(nearest < today)
    total = session.execute((sa.select(sa.func.count()).select_from(Case).where(*conds))).scalar_one()
    if take <= 0 or skip >= total:
        return [], total
    rows = session.execute((
        sa.select(Case.id, nearest.label("due")).where(*conds)
        .order_by(sa.case((Case.safeguarding_level == SafeguardingLevel.disclosure, 0), else_=1),
                  nearest.is_(None), nearest, Case.id).offset(skip).limit(take)
    )).all()
    return [(r.id, r.due) for r in rows], total


SCAN_BUDGET = 5_000  # deadlines read in order before a selective view asks the planner instead


def _live_deadlines(session: Session, status: DeadlineStatus, before: date | None) -> Iterator[tuple[date, int, int]]:
    """(due_on, id, case_id) of live officer deadlines with this status, in order, read in
    growing batches straight off the (status, due_on) index."""
    last: tuple[date, int] | None = None
    size = 200
    while True:
        query = (sa.select(Deadline.due_on, Deadline.id, Deadline.case_id)
                 .where(Deadline.status == status, Deadline.kind.in_(OFFICER_DEADLINES))
                 .order_by(Deadline.due_on, Deadline.id).limit(size))
        if before is not None:
            query = query.where(Deadline.due_on < before)
        if last is not None:
            query = query.where(sa.or_(Deadline.due_on > last[0], sa.and_(Deadline.due_on == last[0], Deadline.id > last[1])))
        rows = [tuple(r) for r in session.execute(query)]
        yield from rows  # type: ignore[misc]
        if len(rows) < size:
            return
        last, size = (rows[-1][0], rows[-1][1]), min(size * 4, 5_000)


def _by_deadline(session: Session, f: QueueFilters, today: date, want: int) -> list[tuple[int, date]]:
    """The first `want` unflagged cases in order of their earliest live officer deadline.

    1. Merge the `open` and `missed` deadline streams: every live officer deadline, in order,
       so the first time a case appears is its earliest deadline.
    2. Keep, a chunk at a time, the cases that fit the view (a primary-key look-up).
    3. A view so selective that the budget runs out is handed to the planner as one query.
    """
    conds = [*_case_conditions(f, _is_sqlite(session)), Case.safeguarding == sa.false()]
    before = today if f.overdue else None
    stream = heapq.merge(*(_live_deadlines(session, status, before) for status in LIVE))
    picked: list[tuple[int, date]] = []
    seen: set[int] = set()
    scanned = 0
    while len(picked) < want:
        chunk: list[tuple[int, date]] = []
        for due, _id, case_id in stream:
            scanned += 1
            if case_id not in seen:
                seen.add(case_id)
                chunk.append((case_id, due))
                if len(chunk) >= max(100, 2 * (want - len(picked))):
                    break
        if not chunk:
            return picked
        fits = set(session.execute(sa.select(Case.id).where(Case.id.in_([c for c, _ in chunk]), *conds)).scalars())
        picked.extend(item for item in chunk if item[0] in fits)
        if len(picked) < want and scanned > SCAN_BUDGET:
            return _by_deadline_planned(session, f, today, want)
    return picked[:want]


def _by_deadline_planned(session: Session, f: QueueFilters, today: date, want: int) -> list[tuple[int, date]]:
    """The same answer as one query per status, for views that few cases fit (the planner
    then starts from the cases)."""
    found: list[tuple[date, int, int]] = []
    for status in LIVE:
        d, earlier = sa.orm.aliased(Deadline), sa.orm.aliased(Deadline)
        sooner = sa.exists().where(
            earlier.case_id == d.case_id, earlier.status.in_(LIVE), earlier.kind.in_(OFFICER_DEADLINES),
            sa.or_(earlier.due_on < d.due_on, sa.and_(earlier.due_on == d.due_on, earlier.id < d.id)),
        )
        query = (
            sa.select(d.due_on, d.id, d.case_id).join(Case, Case.id == d.case_id)
            .where(d.status == status, d.kind.in_(OFFICER_DEADLINES), Case.safeguarding == sa.false(),
                   *_case_conditions(f, _is_sqlite(session)), ~sooner)
            .order_by(d.due_on, d.id).limit(want)
        )
        if f.overdue:
            query = query.where(d.due_on < today)
        found.extend((r.due_on, r.id, r.case_id) for r in session.execute(query))
    found.sort()
    return [(case_id, due) for due, _id, case_id in found[:want]]


def _without_deadline(session: Session, f: QueueFilters, skip: int, take: int) -> list[tuple[int, None]]:
    sqlite = _is_sqlite(session)
    conds = [*_case_conditions(f, sqlite), Case.safeguarding == sa.false(), _nearest_deadline().is_(None)]
    rows = session.execute((sa.select(Case.id).where(*conds).order_by(Case.received_at, Case.id).offset(skip).limit(take)))
    return [(r.id, None) for r in rows]


def week_end(calendar: WorkingDayCalendar, today: date) -> date:
    """The last of the next 5 working days, today counting as the first when it is one: "due this week"."""
    return calendar.after(calendar.next_working_day(today), 4)


def fetch_queue(session: Session, f: QueueFilters, calendar: WorkingDayCalendar, today: date) -> QueuePage:
    """One page of the queue: flagged cases, then by deadline, then those with no deadline to meet."""
    if f.due_week:
        f = replace(f, due_window=(today, week_end(calendar, today)))
    start, end = (f.page - 1) * PAGE_SIZE, f.page * PAGE_SIZE
    total = count_queue(session, f, today)
    if start >= total:  # past the last page: nothing to show, and no deadline stream to scan for it
        return QueuePage([], total, f)
    picked, flagged_total = _flagged(session, f, today, start, PAGE_SIZE)
    need = PAGE_SIZE - len(picked)
    if need > 0:
        skip = max(0, start - flagged_total)  # where this page starts within the deadline stream
        stream = _by_deadline(session, f, today, skip + need)
        picked.extend(stream[skip : skip + need])
        if len(stream) < skip + need and not f.overdue:  # the stream ran out: cases with no deadline follow
            picked.extend(_without_deadline(session, f, max(0, skip - len(stream)), PAGE_SIZE - len(picked)))
    return QueuePage(_rows(session, picked[: end - start], calendar, today), total, f)


def days_left(calendar: WorkingDayCalendar, today: date, due: date | None) -> int | None:
    """Working days from today to the deadline; negative when it has passed."""
    if due is None:
        return None
    if due >= today:
        return working_days_between(calendar, today, due)
    return -working_days_between(calendar, due, today)


def working_days_between(calendar: WorkingDayCalendar, start: date, end: date) -> int:
    """`calendar.working_days_between` by arithmetic: weekdays minus weekday closures, so a
    deadline missed a year ago costs no more than one due tomorrow."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    weekdays = weeks * 5 + sum(1 for i in range(1, rest + 1) if (start + timedelta(days=i)).weekday() < 5)
    cache: dict[int, list[date]] = calendar.__dict__.setdefault("_closures_by_year", {})
    closed = 0
    for year in range(start.year, end.year + 1):
        if year not in cache:
            cache[year] = [d for d, _why in calendar.closures_in([year])]
        closed += sum(1 for d in cache[year] if start < d <= end)
    return weekdays - closed


def _rows(session: Session, picked: list[tuple[int, date | None]], calendar: WorkingDayCalendar, today: date) -> list[QueueRow]:
    from models import Officer, Team

    if not picked:
        return []
    ids = [case_id for case_id, _ in picked]
    cases = {c.id: c for c in session.execute(sa.select(Case).where(Case.id.in_(ids))).scalars()}
    team_ids = {c.team_id for c in cases.values() if c.team_id}
    owner_ids = {c.owner_id for c in cases.values() if c.owner_id}
    teams = dict(session.execute(sa.select(Team.id, Team.name).where(Team.id.in_(team_ids))).all()) if team_ids else {}
    owners = dict(session.execute(sa.select(Officer.id, Officer.name).where(Officer.id.in_(owner_ids))).all()) if owner_ids else {}
    replied = replied_since_opened(session, list(cases.values()))
    return [
        QueueRow(cases[i], due, days_left(calendar, today, due), teams.get(cases[i].team_id, ""), owners.get(cases[i].owner_id, ""),
                 new_activity=i in replied, today=today)
        for i, due in picked if i in cases
    ]



def triage_options() -> dict[str, Any]:
    return {"kinds": list(Kind), "reasons": list(Reason), "roles": list(Role), "stages": list(Stage), "channels": list(Channel)}
