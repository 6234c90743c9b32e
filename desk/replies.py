"""Replying to the complainant from the case page: write (or start from a reply template),
attach files to an email, read the reply exactly as it will be sent, then send it.

The preview is the outbox item itself, written as a draft that no sender claims: what the
officer reads is what goes, attachments included. Sending moves it to pending once (a double
click sends one reply) and is a save on the case, refused if the case changed meanwhile.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from models import Attachment, OutboxItem, values
from models.enums import Channel, OutboxStatus
from desk import casework, deps, reply_templates
from desk.attachments import Upload, check_uploads, keep_uploads
from desk.case import DONE, _act, _refused, based_on, case_context, find_case
from desk.casework import Actor, Refused
from desk.review import reply, send_draft

router = APIRouter(dependencies=[Depends(based_on)])


@router.post("/cases/{reference}/reply", include_in_schema=False)
async def draft_reply(request: Request, reference: str, actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    """Write the reply as a draft with its files, placeholders filled, and show it to the officer."""
    form = await request.form()
    body, once = str(form.get("body", "")), str(form.get("once", ""))
    uploads = [Upload(f.filename or "", f.content_type or "", await f.read())
               for f in form.getlist("attachments") if isinstance(f, UploadFile)]

    def work(case) -> str:  # type: ignore[no-untyped-def]
        files = check_uploads(uploads)
        if files and case.channel.written_on is not Channel.email:
            raise Refused(f"files can be attached to email replies only; this case's replies go by {case.channel.written_on.value}")
        filled = reply_templates.fill(body, reply_templates.case_values(session, case, actor.officer.name))
        item = reply(session, case, actor, body=filled, once=once, draft=True)
        if item.status is OutboxStatus.draft and not session.exec(select(Attachment).where(Attachment.outbox_id == item.id)).first():
            keep_uploads(session, item, files)  # once: a form sent twice collides on its key, and its files with it
        casework.audit(session, actor, case, "reply_drafted", outbox_id=item.id, files=len(files))
        return "draft" if item.status is OutboxStatus.draft else "reply"

    return _act(request, session, reference, actor, "draft", {"body": body}, work, versioned=False)


def _draft(session: Session, case_id: int, outbox_id: str) -> OutboxItem:
    try:
        item = session.get(OutboxItem, values.record_id(outbox_id, "reply"))
    except values.BadValue:
        item = None
    if item is None or item.case_id != case_id or item.purpose != "reply":
        raise Refused("there is no such reply on this case (discarded by someone else?)")
    return item


@router.post("/cases/{reference}/reply/{outbox_id}/send", include_in_schema=False)
def send_reply(request: Request, reference: str, outbox_id: str, actor: Actor = Depends(deps.actor),
               session: Session = deps.DB) -> Response:
    """Send the previewed reply (a save: refused when the case changed since the preview)."""
    def work(case) -> None:  # type: ignore[no-untyped-def]
        send_draft(session, case, actor, _draft(session, case.id, outbox_id))

    return _act(request, session, reference, actor, "reply", {}, work)


@router.post("/cases/{reference}/reply/{outbox_id}/discard", include_in_schema=False)
def discard_reply(request: Request, reference: str, outbox_id: str, actor: Actor = Depends(deps.actor),
                  session: Session = deps.DB) -> Response:
    """Throw the draft away and put its words back in the reply box, to change them."""
    case = find_case(session, reference)
    try:
        item = _draft(session, case.id, outbox_id)  # type: ignore[arg-type]
        if item.status is not OutboxStatus.draft:
            raise Refused("that reply has already been sent")
    except Refused as exc:
        return _refused(request, session, case, actor, str(exc), {})
    body = item.body
    for a in list(session.exec(select(Attachment).where(Attachment.outbox_id == item.id))):
        session.delete(a)
    session.flush()  # the files first: they name the item
    session.delete(item)
    casework.audit(session, actor, case, "reply_discarded", outbox_id=item.id)
    session.flush()
    return deps.render(request, "case.html", done=DONE["discarded"] + " Its words are back in the reply box; attach any files again.",
                       error="", form={"body": body}, **case_context(session, case, deps.web(request), actor.officer))
