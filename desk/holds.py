"""Retention for managers: the deletions due in the next month, and legal holds.

A hold (court proceedings, an Ombudsman investigation, a subject access request in progress)
stops the retention run deleting a case; a manager sets it and lifts it, each with a reason,
and both are audited. The page lists what the schedule would delete in the coming month, so
a hold can be set in time.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from models import Case, LegalHold, Officer, values
from models.retention import hold_on
from scheduler.retention import Schedule
from desk import deps
from desk.case import CaseNotFound, find_case
from desk.casework import Refused, audit

MAX_REASON = 2000
AHEAD_DAYS = 31
DONE = {"held": "The case is on legal hold: it will not be deleted.", "lifted": "The hold is lifted."}

router = APIRouter()


def install(web: deps.Web) -> None:
    """`legal_hold(case_id)` for the case page, which says when a case is held."""

    def legal_hold(case_id: int) -> LegalHold | None:
        with Session(web.engine) as session:
            return hold_on(session, case_id)

    web.env.globals["legal_hold"] = legal_hold


def reason_given(raw: str, what: str = "the reason") -> str:
    reason = values.short_text(raw, what, MAX_REASON)
    if not reason:
        raise Refused(f"give {what}: it is kept in the audit log")
    return reason


def _page(request: Request, session: Session, *, error: str = "", notice: str = "", form: dict | None = None,
          status: int = 200) -> Response:
    w = deps.web(request)
    until = w.today + timedelta(days=AHEAD_DAYS)
    due = [d for d in Schedule(w.policy.retention, w.zone).cases(session, until)]
    holds = list(session.exec(select(LegalHold, Case.reference).join(Case, Case.id == LegalHold.case_id)
                              .where(LegalHold.lifted_at.is_(None)).order_by(LegalHold.set_at)))  # type: ignore[union-attr]
    return deps.render(request, "retention.html", status=status, due=due, until=until, holds=holds,
                       policy=w.policy.retention, error=error, notice=notice, form=form or {})


@router.get("/retention", include_in_schema=False)
def retention_page(request: Request, done: str = "", who: Officer = Depends(deps.manager), session: Session = deps.DB) -> Response:
    return _page(request, session, notice=DONE.get(done, ""))


@router.post("/retention/holds", include_in_schema=False)
def hold_set(request: Request, reference: str = Form(""), reason: str = Form(""), who: Officer = Depends(deps.manager),
             session: Session = deps.DB) -> Response:
    actor = deps.actor(request, who)
    try:
        case = find_case(session, reference)
        reason = reason_given(reason)
        if case.erased_at is not None:
            raise Refused(f"{case.reference}'s personal data was deleted on {case.erased_at:%d %B %Y}: there is nothing left to hold")
        if hold_on(session, case.id) is not None:  # type: ignore[arg-type]
            raise Refused(f"{case.reference} is already on legal hold")
    except CaseNotFound as exc:
        return _page(request, session, error=str(exc.detail), form={"reference": reference, "reason": reason}, status=400)
    except (Refused, values.BadValue) as exc:
        return _page(request, session, error=str(exc), form={"reference": reference, "reason": reason}, status=400)
    session.add(LegalHold(case_id=case.id, reason=reason, set_by=who.name, set_at=actor.now))  # type: ignore[arg-type]
    audit(session, actor, case, "legal_hold_set", reason=reason)
    return RedirectResponse("/retention?done=held", status_code=303)


@router.post("/retention/holds/{hold_id}/lift", include_in_schema=False)
def hold_lift(request: Request, hold_id: str, reason: str = Form(""), who: Officer = Depends(deps.manager),
              session: Session = deps.DB) -> Response:
    actor = deps.actor(request, who)
    hold = session.get(LegalHold, values.record_id(hold_id, "hold"))
    if hold is None or hold.lifted_at is not None:
        return _page(request, session, error="that hold is not in force (lifted by someone else?)", status=404)
    try:
        reason = reason_given(reason, "the reason for lifting it")
    except (Refused, values.BadValue) as exc:
        return _page(request, session, error=str(exc), status=400)
    hold.lifted_at, hold.lifted_by, hold.lift_reason = actor.now, who.name, reason
    audit(session, actor, session.get(Case, hold.case_id), "legal_hold_lifted", reason=reason)
    return RedirectResponse("/retention?done=lifted", status_code=303)
