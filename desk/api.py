"""The JSON API under /api, for scripts and other tools. It uses the same session cookie as
the pages; a change needs the `X-CSRF-Token` header (GET /api/me gives the token)."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel
from sqlmodel import Session, select

from models import Deadline, Officer
from models.enums import Kind, Reason, Role, SafeguardingLevel
from desk import casework, deps
from desk.case import find_case, names_reference
from desk.casework import Actor, Refused
from desk.dashboard import build
from desk.queue import QueueRow, days_left, fetch_queue, parse_filters
from desk.review import Verdict, confirm_triage, safeguarding_level

router = APIRouter(prefix="/api", tags=["officers"])


class Me(BaseModel):
    name: str
    role: str
    csrf_token: str


class QueueItem(BaseModel):
    reference: str
    opening_words: str
    kind: str | None
    confidence: float | None
    reasons: list[str]
    role: str | None
    safeguarding: bool  # flagged at either level
    safeguarding_level: SafeguardingLevel | None  # disclosure (urgent), possible (officers check) or none
    safeguarding_signals: list[str]
    interpreter_needed: str  # the language they wrote in (ISO 639-1), or ""
    stage: str | None
    channel: str
    triage_state: str
    due_on: date | None
    working_days_left: int | None
    team: str
    owner: str
    new_activity: bool = False  # a reply came in since the owner last opened the case


class QueueOut(BaseModel):
    total: int
    page: int
    pages: int
    items: list[QueueItem]


class DeadlineOut(BaseModel):
    kind: str
    due_on: date
    status: str
    explanation: str
    working_days_left: int | None
    original_due_on: date | None
    extension_reason: str


class CaseOut(BaseModel):
    reference: str
    status: str
    kind: str | None
    stage: str | None
    procedure: str
    channel: str
    reasons: list[str]
    primary_reason: str | None
    role: str | None
    triage_state: str
    triage_confidence: float | None
    safeguarding: bool
    safeguarding_level: SafeguardingLevel | None
    safeguarding_signals: list[str]
    safeguarding_referral_at: datetime | None
    received_at: datetime
    summary: str
    names_reference: str | None  # opened from a message naming that case, whose sender is not a contact on it
    deadlines: list[DeadlineOut]
    version: int  # send it back with a change: a save based on an older version is refused (409)


class TriageIn(BaseModel):
    kind: Kind | None
    reasons: list[Reason] = []
    primary_reason: Reason | None = None
    role: Role | None = None
    safeguarding: bool = False  # true means `disclosure`, unless safeguarding_level says otherwise
    safeguarding_level: SafeguardingLevel | None = None
    version: int | None = None  # the case's version the verdict was based on (GET /api/cases/REF); stale → 409


class TriageOut(BaseModel):
    reference: str
    corrected: list[str]


def _item(row: QueueRow) -> QueueItem:
    c = row.case
    return QueueItem(
        reference=c.reference, opening_words=c.summary[:200], kind=c.kind, confidence=c.triage_confidence,
        reasons=[str(r) for r in c.reasons], role=c.complainant_role, safeguarding=c.safeguarding,
        safeguarding_level=c.safeguarding_level, safeguarding_signals=list(c.safeguarding_signals),
        interpreter_needed=c.interpreter_needed, stage=c.stage,
        channel=c.channel, triage_state=c.triage_state, due_on=row.due_on, working_days_left=row.days_left,
        team=row.team, owner=row.owner, new_activity=row.new_activity,
    )


@router.get("/me", response_model=Me)
def me(request: Request, who: Officer = Depends(deps.officer)) -> Me:
    """Who is signed in, and the token to send as X-CSRF-Token with changes."""
    return Me(name=who.name, role=who.role.value, csrf_token=request.state.csrf_token)


# The queue's filters, read from the query string by `parse_filters`; described here for the OpenAPI description.
FILTERS = {
    "kind": "initial_feedback, complaint or compliment", "reason": "a reason code", "role": "who is complaining",
    "team": "a team's number", "stage": "a stage", "channel": "email, telegram, webchat, phone, letter, in_person, councillor or mp", "overdue": "1: overdue only",
    "review": "needs (the default), confirmed or all", "owner": "me, none or an officer's number", "page": "from 1",
    "safeguarding": "disclosure or possible", "due": "week: a live deadline in the next 5 working days",
}


@router.get("/queue", response_model=QueueOut, openapi_extra={"parameters": [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}
    for name, text in FILTERS.items()]})
def queue(request: Request, who: Officer = Depends(deps.officer), session: Session = deps.DB) -> QueueOut:
    """The triage queue with the page's filters (kind, reason, role, team, stage, channel, safeguarding, due, overdue,
    review, owner, page)."""
    w = deps.web(request)
    filters, errors = parse_filters(dict(request.query_params), me=who.id)
    if errors:
        raise HTTPException(422, "; ".join(errors))
    page = fetch_queue(session, filters, w.clock.calendar, w.today)
    return QueueOut(total=page.total, page=filters.page, pages=page.pages, items=[_item(r) for r in page.rows])


@router.get("/cases/{reference}", response_model=CaseOut)
def case(request: Request, reference: str, actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> CaseOut:
    """One case and its deadlines. Audited as a view."""
    w = deps.web(request)
    c = find_case(session, reference)
    casework.audit(session, actor, c, "viewed", via="api")
    deadlines = session.exec(select(Deadline).where(Deadline.case_id == c.id).order_by(Deadline.due_on)).all()
    return CaseOut(
        reference=c.reference, status=c.status, kind=c.kind, stage=c.stage, procedure=c.procedure, channel=c.channel,
        reasons=[str(r) for r in c.reasons], primary_reason=c.primary_reason, role=c.complainant_role,
        triage_state=c.triage_state, triage_confidence=c.triage_confidence, safeguarding=c.safeguarding,
        safeguarding_level=c.safeguarding_level, safeguarding_signals=list(c.safeguarding_signals),
        safeguarding_referral_at=c.safeguarding_referral_at, received_at=c.received_at, summary=c.summary,
        names_reference=names_reference(session, c),
        deadlines=[DeadlineOut(kind=d.kind, due_on=d.due_on, status=d.status, explanation=d.explanation,
                               working_days_left=days_left(w.clock.calendar, w.today, d.due_on) if d.status in casework.LIVE else None,
                               original_due_on=d.original_due_on, extension_reason=d.extension_reason) for d in deadlines],
        version=c.version,
    )


@router.post("/cases/{reference}/triage", response_model=TriageOut)
def triage(request: Request, reference: str, verdict: TriageIn, actor: Actor = Depends(deps.actor),
           session: Session = deps.DB) -> TriageOut:
    """Confirm or correct the triage; each corrected field becomes a training label."""
    c = find_case(session, reference)
    try:
        casework.save_on(session, c, actor, verdict.version)
        corrected = confirm_triage(session, c, deps.web(request).clock, actor, Verdict(
            verdict.kind, verdict.reasons, verdict.primary_reason, verdict.role,
            verdict.safeguarding_level or safeguarding_level(verdict.safeguarding)))
    except Refused as exc:
        raise HTTPException(409, str(exc)) from None
    return TriageOut(reference=c.reference, corrected=corrected)


@router.get("/dashboard")
def dashboard(request: Request, who: Officer = Depends(deps.officer), session: Session = deps.DB) -> dict:
    """The dashboard's figures."""
    from dataclasses import asdict

    from models.enums import OfficerRole
    from desk.auth import at_least

    board = build(session, deps.web(request), with_teams=at_least(who, OfficerRole.manager))
    data = asdict(board)
    data["timeliness"]["on_time_share"] = board.timeliness.on_time_share
    return data


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, who: Officer = Depends(deps.officer)) -> dict:
    """The API's OpenAPI description (signed in, like everything else)."""
    return request.app.openapi()
