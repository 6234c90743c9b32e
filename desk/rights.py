"""The manager's page for a person's requests: find them by an address, put their details right
(rectification), or erase what may be erased, each with a reason, audited (`desk/erasure.py`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from models import ChannelIdentity, Contact, Officer, values
from desk import deps
from desk.casework import Refused
from desk.contacts import shown_address
from desk.erasure import STATISTICS, correct, erase, find_person, plan
from desk.holds import reason_given

router = APIRouter()


def _page(request: Request, session: Session, *, address: str = "", contact: Contact | None = None, error: str = "",
          notice: str = "", outcome: dict | None = None, status: int = 200) -> Response:
    identities, erasure = [], None
    if contact is not None:
        identities = [(i, shown_address(i)) for i in session.exec(select(ChannelIdentity).where(ChannelIdentity.contact_id == contact.id)
                                                                   .order_by(ChannelIdentity.id))]
        erasure = plan(session, contact)
    return deps.render(request, "person.html", status=status, address=address, contact=contact, identities=identities,
                       erasure=erasure, statistics=STATISTICS, error=error, notice=notice, outcome=outcome)


def _contact(session: Session, contact_id: str) -> Contact | None:
    return session.get(Contact, values.record_id(contact_id, "person"))


@router.get("/people", include_in_schema=False)
def person_page(request: Request, address: str = "", contact: str = "", done: str = "", who: Officer = Depends(deps.manager),
                session: Session = deps.DB) -> Response:
    found = _contact(session, contact) if contact else find_person(session, values.short_text(address, "the address", 320))
    error = "" if found or not (address or contact) else "Heard holds no person with that email address, phone number or Telegram chat."
    return _page(request, session, address=address, contact=found, error=error,
                 notice="Their details are corrected." if done == "corrected" else "", status=200 if found or not error else 404)


NO_SUCH_PERSON = "there is no such person (erased by someone else?)"


@router.post("/people/{contact_id}/correct", include_in_schema=False)
def person_correct(request: Request, contact_id: str, display_name: str = Form(""), identity: str = Form(""),
                   address: str = Form(""), reason: str = Form(""), who: Officer = Depends(deps.manager),
                   session: Session = deps.DB) -> Response:
    person = _contact(session, contact_id)
    if person is None:
        return _page(request, session, error=NO_SUCH_PERSON, status=404)
    try:
        why = reason_given(reason)
        name = values.short_text(display_name, "the name", 200)
        correct(session, person, deps.actor(request, who), why, display_name=name or None,
                identity_id=values.optional_id(identity, "address"), address=address)
    except (Refused, values.BadValue) as exc:
        session.rollback()
        return _page(request, session, contact=session.get(Contact, person.id), error=str(exc), status=400)
    return RedirectResponse(f"/people?contact={person.id}&done=corrected", status_code=303)


@router.post("/people/{contact_id}/erase", include_in_schema=False)
def person_erase(request: Request, contact_id: str, reason: str = Form(""), who: Officer = Depends(deps.manager),
                 session: Session = deps.DB) -> Response:
    person = _contact(session, contact_id)
    if person is None:
        return _page(request, session, error=NO_SUCH_PERSON, status=404)
    try:
        why = reason_given(reason)
    except (Refused, values.BadValue) as exc:
        return _page(request, session, contact=person, error=str(exc), status=400)
    erasure = plan(session, person)
    kept = [(case.reference, because) for case, because in erasure.kept]
    erased, gone = erase(session, erasure, deps.actor(request, who), why)
    outcome = {"erased": erased, "contact_gone": gone, "kept": kept}
    return _page(request, session, contact=None if gone else session.get(Contact, int(contact_id)), outcome=outcome)
