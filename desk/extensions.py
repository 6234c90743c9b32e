"""Extension requests awaiting a manager's decision, and the decision.

An officer asks for an extension on the case page (`casework.request_extension`: an
"extension_requested" audit event); a manager approves by extending (`casework.extend`, which
tells the complainant why and the new date) or declines (an "extension_declined" event the
officer sees in the case's story, after which they may ask again). A request awaits while
its case is being worked, it is the pending request `casework.extension_state` gives the case
page, and neither has happened since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from models import AuditEvent, Case, Officer
from desk import casework, deps
from desk.casework import Actor, Refused
from desk.queue import WORKING

router = APIRouter()
DECIDED = ("extended", "extension_declined")


@dataclass
class ExtensionRequest:
    case: Case
    asked_by: str
    asked_at: datetime
    reason: str
    due_on: date | None  # the stage's live response deadline; None when there is none left to extend


def awaiting(session: Session) -> list[ExtensionRequest]:
    """Oldest first, through the partial index on requests (migration 0010)."""
    later = sa.orm.aliased(AuditEvent)
    request = AuditEvent
    decided_or_replaced = sa.exists().where(
        later.case_id == request.case_id, later.id > request.id,
        sa.or_(later.action.in_(DECIDED), later.action == "extension_requested"))
    rows = session.execute(
        sa.select(request, Case).join(Case, Case.id == request.case_id)
        .where(request.action == "extension_requested", ~decided_or_replaced, Case.status.in_(WORKING))
        .order_by(request.id)).all()
    found = []
    for event, case in rows:
        deadline, pending = casework.extension_state(session, case)  # the case page's view of the same request
        if pending is None or pending.id != event.id:
            continue  # asked at an earlier stage, or declined
        found.append(ExtensionRequest(case, event.actor, event.at, str(event.detail.get("reason", "")),
                                      deadline.due_on if deadline else None))
    return found


def decline(session: Session, case: Case, actor: Actor, note: str) -> None:
    """Say no to the case's waiting request; the officer sees it, and the note, in the case's story."""
    if not any(r.case.id == case.id for r in awaiting(session)):
        raise Refused(f"{case.reference} has no extension request waiting for a decision")
    casework.audit(session, actor, case, "extension_declined", reason=note.strip())  # the case's story shows a "reason"


DONE = {"approved": "approved: the deadline is extended and the complainant told", "declined": "declined"}


@router.get("/extensions", include_in_schema=False)
def extensions_page(request: Request, who: Officer = Depends(deps.manager), session: Session = deps.DB) -> Response:
    done, ref = request.query_params.get("done", ""), request.query_params.get("ref", "")
    from triage.intake import REFERENCE

    said = f"{ref} {DONE[done]}." if done in DONE and REFERENCE.fullmatch(ref) else ""
    return deps.render(request, "extensions.html", requests=awaiting(session), done=said, error="",
                       zone=deps.web(request).zone)


@router.post("/extensions/{reference}", include_in_schema=False)
def decide(request: Request, reference: str, decision: str = Form(""), reason: str = Form(""), note: str = Form(""),
           who: Officer = Depends(deps.manager), actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    """Approve (extend, with the reason the complainant is told) or decline."""
    from desk.case import find_case

    case = find_case(session, reference)
    try:
        if decision == "approve":
            if not any(r.case.id == case.id for r in awaiting(session)):
                raise Refused(f"{case.reference} has no extension request waiting for a decision")
            casework.save_on(session, case, actor, None)  # an officer's page open on the case now shows it stale
            casework.extend(session, case, deps.web(request).clock, actor, reason)
        elif decision == "decline":
            casework.save_on(session, case, actor, None)
            decline(session, case, actor, note)
        else:
            raise Refused("choose approve or decline")
    except Refused as exc:
        session.rollback()
        return deps.render(request, "extensions.html", status=400, requests=awaiting(session), done="",
                           error=f"{case.reference}: {exc}", zone=deps.web(request).zone)
    return RedirectResponse(f"/extensions?done={decision}d&ref={case.reference}", status_code=303)
