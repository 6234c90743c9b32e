"""Logging a representation that came by phone, letter, in person, or from a councillor or MP:
the officers' form (`/representations/new`), `POST /api/cases` for scripts, and recording an
acknowledgement sent by post or phone. The rules live in `triage.logged` and
`desk.acknowledging`; this module reads requests and answers them.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from models import values
from triage import figures
from triage.intake import Classify
from triage.logged import LOGGED, Logged, Typed, earlier, log, read, scan_of
from desk import acknowledging, casework, deps
from desk.case import case_context, find_case
from desk.casework import Actor, Refused

ONCE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # a form's token or an Idempotency-Key: becomes part of a dedupe key


class NewCase(BaseModel):
    """A representation an officer took by phone, letter, in person, or from a councillor or MP."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(description="phone, letter, in_person, councillor or mp")
    received_on: str = Field(description="the day the council received it, YYYY-MM-DD (not after today): the clock runs from it")
    text: str = Field(description="the officer's summary, or the letter's text: what the classifier reads")
    contact_name: str = Field("", description="who it is from")
    contact_email: str | None = Field(None, description="when given, the acknowledgement goes there by email")
    contact_phone: str | None = None
    contact_postal_address: str | None = None


class NewCaseOut(BaseModel):
    reference: str


def representations_router(classify: Classify | None = None, attachment_max_bytes: int = 10 * 1024 * 1024) -> APIRouter:
    """The routes, with the classifier they read with and the largest scan they keep."""
    router = APIRouter()

    def take(request: Request, session: Session, actor: Actor, logged: Logged, once: str) -> str:
        done = earlier(session, once)
        if done is not None:  # the same form or Idempotency-Key again: the case it made
            return done.reference
        case = log(session, logged, once=once, officer=actor.officer.name, clock=deps.web(request).clock, zone=actor.zone,
                   now=actor.now, classify=classify)
        casework.audit(session, actor, case, "logged", channel=logged.channel.value, received_on=logged.received_on.isoformat(),
                       scan=logged.scan.filename if logged.scan else None, once=once)
        figures.accepted(logged.channel.value)
        return case.reference

    @router.get("/representations/new", include_in_schema=False)
    def form_page(request: Request, actor: Actor = Depends(deps.actor)) -> Response:
        return _form(request, actor, {}, "", limit=attachment_max_bytes)

    @router.post("/representations", include_in_schema=False)
    def create(request: Request, channel: str = Form(""), received_on: str = Form(""), text: str = Form(""),
               name: str = Form(""), email: str = Form(""), phone: str = Form(""), postal_address: str = Form(""),
               once: str = Form(""), scan: UploadFile | None = File(None), actor: Actor = Depends(deps.actor),
               session: Session = deps.DB) -> Response:
        typed = {"channel": channel, "received_on": received_on, "text": text, "name": name, "email": email,
                 "phone": phone, "postal_address": postal_address}
        try:
            if not ONCE.fullmatch(once):
                raise values.BadValue("reload the page and try again")
            logged = read(Typed(**typed), actor.today)
            if scan is not None and scan.filename:
                logged = replace(logged, scan=scan_of(scan.filename, scan.file.read(attachment_max_bytes + 1), attachment_max_bytes))
            reference = take(request, session, actor, logged, once)
        except values.BadValue as exc:
            session.rollback()
            return _form(request, actor, typed, str(exc), status=400, limit=attachment_max_bytes)
        return RedirectResponse(f"/cases/{reference}?done=logged#top", status_code=303)

    @router.post("/api/cases", status_code=201, response_model=NewCaseOut, tags=["officers"],
                 responses={400: {"description": "a value that makes no sense, with a sentence saying why"}})
    def create_by_api(request: Request, new: NewCase, idempotency_key: str | None = Header(None),
                      actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Any:
        """Log a representation taken by phone, letter, in person, or from a councillor or MP: it is
        classified, joins the queue, and its clock runs from `received_on`. Sending the same
        `Idempotency-Key` again gives the same case, not a second one."""
        if idempotency_key is not None and not ONCE.fullmatch(idempotency_key):
            raise values.BadValue("Idempotency-Key: 1 to 64 letters, digits, or . _ : -")
        logged = read(Typed(new.channel, new.received_on, new.text, new.contact_name, new.contact_email or "",
                            new.contact_phone or "", new.contact_postal_address or ""), actor.today)
        once = f"api:{idempotency_key}" if idempotency_key else f"api-{uuid.uuid4().hex}"
        return JSONResponse({"reference": take(request, session, actor, logged, once)}, status_code=201)

    @router.post("/cases/{reference}/acknowledged", include_in_schema=False)
    def acknowledged(request: Request, reference: str, how: str = Form(""), on: str = Form(""),
                     actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
        case = find_case(session, reference)
        try:
            acknowledging.record(session, case, actor, how=how, on=values.day(on, "the day it was sent", default=actor.today))
        except (Refused, values.BadValue) as exc:
            session.rollback()
            case = find_case(session, reference)
            return deps.render(request, "case.html", status=400, done="", error=str(exc), form={"how": how, "on": on},
                               **case_context(session, case, deps.web(request), actor.officer))
        return RedirectResponse(f"/cases/{case.reference}?done=acknowledged#top", status_code=303)

    return router


def _form(request: Request, actor: Actor, typed: dict[str, str], error: str, *, limit: int, status: int = 200) -> Response:
    return deps.render(request, "log_representation.html", status=status, form=typed, error=error, channels=LOGGED,
                       once=secrets.token_hex(12), received_max=actor.today.isoformat(), scan_max_bytes=limit)
