"""The triage queue page: the view with its filters, and confirming or correcting a row in
one step (the form posts here and comes back to the same view)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from models import Officer, Team
from models.enums import Kind, Reason, Role
from desk import deps
from desk.casework import Actor, Refused
from desk.queue import fetch_queue, parse_filters, triage_options

router = APIRouter()


@router.get("/queue", include_in_schema=False)
def queue_page(request: Request, who: Officer = Depends(deps.officer), session: Session = deps.DB) -> Response:
    w = deps.web(request)
    filters, errors = parse_filters(dict(request.query_params), me=who.id)
    page = fetch_queue(session, filters, w.clock.calendar, w.today)
    page.errors = errors
    teams = list(session.execute(sa.select(Team).order_by(Team.name)).scalars())
    return deps.render(request, "queue.html", page=page, teams=teams, **triage_options())


@router.post("/queue/{reference}/triage", include_in_schema=False)
def confirm_from_queue(
    request: Request, reference: str, kind: str = Form(""), role: str = Form(""), primary_reason: str = Form(""),
    safeguarding: str = Form(""), back: str = Form(""), actor: Actor = Depends(deps.actor), session: Session = deps.DB,
) -> Response:
    """Confirm or correct from the queue row, then return to the same view."""
    from desk.case import find_case
    from desk.review import Verdict, confirm_triage, safeguarding_level

    case = find_case(session, reference)
    reasons = list(case.reasons)
    try:
        primary = Reason(primary_reason) if primary_reason else None
        chosen_kind = Kind(kind) if kind else None
        if chosen_kind is Kind.compliment:
            reasons, primary = [], None
        elif primary and primary not in reasons:
            reasons = [primary, *[r for r in reasons if r != case.primary_reason]]
        verdict = Verdict(chosen_kind, reasons, primary, Role(role) if role else None, safeguarding_level(safeguarding))
        corrected = confirm_triage(session, case, deps.web(request).clock, actor, verdict)
    except (Refused, ValueError) as exc:
        session.rollback()
        return deps.render(request, "message.html", status=400, title="Not saved", text=str(exc))
    target = back if back.startswith("/queue") and not back.startswith("//") else "/queue"
    sep = "&" if "?" in target else "?"
    what = "corrected" if corrected else "confirmed"
    return RedirectResponse(f"{target}{sep}done={what}&ref={case.reference}", status_code=303)
