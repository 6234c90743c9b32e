"""Subject access in the officers' app: managers record a request (due one calendar month on),
download the answer (audited) and mark it answered; any officer marks a third party's details
in a message to withhold. The dashboard shows the requests still open, soonest due first."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from desk import deps
from desk.casework import Actor
from desk.case import find_case
from desk.subject_access import NobodyFound, export, mark_withheld, open_requests, record_request
from models import Case, Message, Officer, SubjectAccessRequest, session_scope, values

router = APIRouter()


def _page(request: Request, session: Session, *, error: str = "", address: str = "", status: int = 200) -> Response:
    requests = list(session.exec(select(SubjectAccessRequest).order_by(SubjectAccessRequest.answered_on.is_not(None),
                                                                       SubjectAccessRequest.due_on.desc()).limit(200)))
    return deps.render(request, "subject_access.html", status=status, requests=requests, error=error, address=address)


@router.get("/subject-access", include_in_schema=False)
def subject_access_page(request: Request, who: Officer = Depends(deps.manager), session: Session = deps.DB) -> Response:
    return _page(request, session)


@router.post("/subject-access", include_in_schema=False)
def subject_access_record(request: Request, address: str = Form(""), received_on: str = Form(""),
                          who: Officer = Depends(deps.manager), session: Session = deps.DB) -> Response:
    w = deps.web(request)
    try:
        received = values.day(received_on, "the day it was received", default=w.today)
        if received > w.today:
            raise values.BadValue("the day it was received cannot be in the future")
        record_request(session, address, received, actor=who.name, now=w.now(), officer_id=who.id)
    except values.BadValue as exc:
        session.rollback()
        return _page(request, session, error=str(exc), address=address[:320], status=400)
    return RedirectResponse("/subject-access", status_code=303)


def _request(session: Session, request_id: str) -> SubjectAccessRequest:
    try:
        found = session.get(SubjectAccessRequest, values.record_id(request_id, "request"))
    except values.BadValue:
        found = None
    if found is None:
        raise HTTPException(404, "there is no such subject access request")
    return found


@router.get("/subject-access/{request_id}/answer.zip", include_in_schema=False)
def subject_access_download(request: Request, request_id: str, who: Officer = Depends(deps.manager),
                            session: Session = deps.DB) -> Response:
    """Everything held about the person, as a zip: building it is the export, and is audited."""
    found = _request(session, request_id)
    try:
        archive = export(session, found, actor=who.name, now=deps.web(request).now(), officer_id=who.id)
    except NobodyFound as exc:
        session.rollback()
        return _page(request, session, error=str(exc), status=404)
    return Response(archive.data, media_type="application/zip", headers={
        "content-disposition": f'attachment; filename="subject-access-{found.id}.zip"'})


@router.post("/subject-access/{request_id}/answered", include_in_schema=False)
def subject_access_answered(request: Request, request_id: str, who: Officer = Depends(deps.manager),
                            session: Session = deps.DB) -> Response:
    from models import write_audit

    found, w = _request(session, request_id), deps.web(request)
    if found.answered_on is None:
        found.answered_on = w.today
        write_audit(session, at=w.now(), actor=who.name, officer_id=who.id, action="subject_access_answered",
                    request_id=found.id, late=w.today > found.due_on)
    return RedirectResponse("/subject-access", status_code=303)


def _message_on(session: Session, reference: str, message_id: str) -> tuple[Case, Message]:
    case = find_case(session, reference)
    try:
        message = session.get(Message, values.record_id(message_id, "message"))
    except values.BadValue:
        message = None
    if message is None or message.case_id != case.id:
        raise HTTPException(404, "that message is not on this case")
    return case, message


@router.get("/cases/{reference}/messages/{message_id}/withhold", include_in_schema=False)
def withhold_page(request: Request, reference: str, message_id: str, who: Officer = Depends(deps.officer),
                  session: Session = deps.DB) -> Response:
    case, message = _message_on(session, reference, message_id)
    return deps.render(request, "withhold.html", case=case, m=message, error="", words="", reason="")


@router.post("/cases/{reference}/messages/{message_id}/withhold", include_in_schema=False)
def withhold(request: Request, reference: str, message_id: str, words: str = Form(""), reason: str = Form(""),
             actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    """Mark words in a message as a third party's details: a subject access answer withholds them."""
    case, message = _message_on(session, reference, message_id)
    try:
        mark_withheld(session, message, words, reason, actor=actor.officer.name, now=actor.now, officer_id=actor.officer.id)
    except values.BadValue as exc:
        session.rollback()
        case, message = _message_on(session, reference, message_id)
        return deps.render(request, "withhold.html", status=400, case=case, m=message, error=str(exc),
                           words=words[:2000], reason=reason[:500])
    return RedirectResponse(f"/cases/{case.reference}#story-h", status_code=303)


def due_panel(request: Request) -> list[SubjectAccessRequest]:
    """The dashboard's panel: open requests, soonest due first (read in a session of its own, so
    the dashboard's own code need not change)."""
    with session_scope(deps.web(request).engine) as session:
        return open_requests(session)[:20]
