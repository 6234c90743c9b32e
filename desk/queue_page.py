"""The triage queue page: the view with its filters; confirming a row as suggested in one
click, correcting one row in a form opened under it on demand (never a form per row), and
assigning the ticked rows to an officer in one submit. Each posts here and comes back to the
same view."""

from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from models import Case, Officer, Team
from models import values
from models.enums import Kind, Reason, Role
from triage.intake import REFERENCE
from desk import casework, deps
from desk.casework import Actor, Refused
from desk.queue import PAGE_SIZE, fetch_queue, parse_filters, triage_options

router = APIRouter()
MOST_AT_ONCE = 4 * PAGE_SIZE  # a bulk assignment is a page's ticked rows, not a mailing list


@router.get("/queue", include_in_schema=False)
def queue_page(request: Request, who: Officer = Depends(deps.officer), session: Session = deps.DB) -> Response:
    w = deps.web(request)
    filters, errors = parse_filters(dict(request.query_params), me=who.id)
    page = fetch_queue(session, filters, w.clock.calendar, w.today)
    page.errors = errors
    teams = list(session.execute(sa.select(Team).order_by(Team.name)).scalars())
    officers, _ = casework.officers_and_teams(session)
    correcting = request.query_params.get("correct", "").strip().upper()
    return deps.render(request, "queue.html", page=page, teams=teams, officers=officers, correcting=correcting,
                       zone=w.zone, done=_done(request, session), **triage_options())


def _done(request: Request, session: Session) -> str:
    """What the last action did, said back from the redirect's parameters (checked, never echoed raw)."""
    q = request.query_params
    done, ref = q.get("done", ""), q.get("ref", "").strip().upper()
    if done in ("confirmed", "corrected") and REFERENCE.fullmatch(ref):
        return f"{ref} {done}."
    if done == "assigned":
        try:
            count = values.whole_number(q.get("count", ""), "count", low=1, high=MOST_AT_ONCE)
            owner = values.optional_id(q.get("to", ""), "officer")  # not "owner": that is the view's filter
        except values.BadValue:
            return ""
        name = session.get(Officer, owner).name if owner and session.get(Officer, owner) else "nobody"
        return f"{count} case{'' if count == 1 else 's'} assigned to {name}."
    return ""


def _back(back: str) -> str:
    """The view to return to: a queue path only (never another site)."""
    return back if back.startswith("/queue") and not back.startswith("//") else "/queue"


def _then(back: str, **said: object) -> RedirectResponse:
    target = _back(back).split("#")[0]
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}{urlencode(said)}", status_code=303)


@router.post("/queue/{reference}/triage", include_in_schema=False)
def confirm_from_queue(
    request: Request, reference: str, verdict: str = Form(""), kind: str = Form(""), role: str = Form(""),
    primary_reason: str = Form(""), safeguarding: str = Form(""), back: str = Form(""), version: str = Form(""),
    actor: Actor = Depends(deps.actor), session: Session = deps.DB,
) -> Response:
    """Confirm as suggested (`verdict=as_suggested`: the case's own values, nothing to send), or
    correct with the fields of the correction form, which carries the version of the case it
    showed (a correction based on an older one is refused, as on the case page); then return to
    the same view."""
    from desk.case import find_case
    from desk.review import Verdict, confirm_triage, safeguarding_level

    case = find_case(session, reference)
    reasons = list(case.reasons)
    try:
        based_on = values.whole_number(version, "the version of the case", low=1, high=values.MAX_ID) if version.strip() else None
        casework.save_on(session, case, actor, based_on)
        if verdict == "as_suggested":
            chosen = Verdict(case.kind, reasons, case.primary_reason, case.complainant_role, case.safeguarding_level)
        else:
            primary = Reason(primary_reason) if primary_reason else None
            chosen_kind = Kind(kind) if kind else None
            if chosen_kind is Kind.compliment:
                reasons, primary = [], None
            elif primary and primary not in reasons:
                reasons = [primary, *[r for r in reasons if r != case.primary_reason]]
            chosen = Verdict(chosen_kind, reasons, primary, Role(role) if role else None, safeguarding_level(safeguarding))
        corrected = confirm_triage(session, case, deps.web(request).clock, actor, chosen)
    except (Refused, ValueError) as exc:  # values.BadValue is a ValueError
        session.rollback()
        return deps.render(request, "message.html", status=400, title="Not saved", text=str(exc))
    return _then(back, done="corrected" if corrected else "confirmed", ref=case.reference)


@router.post("/queue/assign", include_in_schema=False)
async def assign_from_queue(request: Request, actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    """Assign every ticked case to one officer (or to nobody), each audited as a single
    assignment is. All or nothing: one case that cannot be assigned stops the lot, named."""
    form = await request.form()
    back = str(form.get("back", ""))
    picked = [str(r).strip().upper() for r in form.getlist("case")]
    try:
        owner_id = values.optional_id(str(form.get("owner", "")), "officer")
        if not picked:
            raise Refused("tick the cases to assign first")
        if len(picked) > MOST_AT_ONCE:
            raise Refused(f"at most {MOST_AT_ONCE} cases can be assigned at once ({len(picked)} were ticked)")
        wrong = [values.shown(r) for r in picked if not REFERENCE.fullmatch(r)]
        if wrong:
            raise Refused(f"{', '.join(wrong[:3])} is not a case reference")
        owner = session.get(Officer, owner_id) if owner_id is not None else None
        if owner_id is not None and (owner is None or not owner.active):
            raise Refused("choose an officer who can work cases")
        found = {c.reference: c for c in session.exec(select(Case).where(Case.reference.in_(set(picked))))}
        missing = [r for r in dict.fromkeys(picked) if r not in found]
        if missing:
            raise Refused(f"there is no case {', '.join(missing[:3])}")
        for reference in dict.fromkeys(picked):
            case = found[reference]
            try:
                casework.save_on(session, case, actor, None)  # an officer's page open on the case now shows it stale
                casework.assign(session, case, actor, owner_id=owner_id, team_id=case.team_id)
            except Refused as exc:
                raise Refused(f"{reference}: {exc}; nothing was assigned") from None
    except (Refused, values.BadValue) as exc:
        session.rollback()
        return deps.render(request, "message.html", status=400, title="Not assigned", text=str(exc))
    return _then(back, done="assigned", count=len(dict.fromkeys(picked)), to=owner_id if owner_id is not None else "")
