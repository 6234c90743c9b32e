"""The case page — the whole story in order, triage and its history, deadlines, advocacy,
what was sent and whether it arrived, notes and the audit trail — and every action on it.

Each view is audited ("viewed"); each action is a form that posts here, calls
`casework`/`review`, and comes back to the page (303) or shows the refusal with what the
officer typed still in the form. Each form carries the version of the case the page showed,
so a save based on an older one is refused rather than overwriting another officer's work.
Replies (`replies`) and attachment downloads (`attachments`) have modules of their own.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from models import Advocacy, Attachment, AuditEvent, Case, Deadline, Message, Officer, OutboxItem, ReplyTemplate, StageRecord, TrainingLabel
from models.enums import Kind, OfficerRole, OutboxStatus, Outcome, Reason, Role, Stage
from triage.intake import REFERENCE
from desk import casework, deps, reply_templates
from models import values
from desk.auth import at_least
from desk.casework import LIVE, Actor, Refused
from desk.contacts import contact_panel
from desk.queue import days_left, triage_options
from desk.review import Verdict, confirm_triage, safeguarding_level

log = logging.getLogger("heard.desk")


async def based_on(request: Request) -> None:
    """The version of the case the officer's page showed, from the form's `version` field, for
    `_act` to check (every form on the case page carries it; a form without it is not checked)."""
    request.state.based_on = None
    if request.method == "POST":
        raw = (await request.form()).get("version")
        if isinstance(raw, str) and raw.strip():
            request.state.based_on = values.whole_number(raw, "the version of the case", low=1, high=values.MAX_ID)


router = APIRouter(dependencies=[Depends(based_on)])

DONE = {
    "triage": "Triage saved.", "assign": "Assignment saved.", "convert": "Converted.", "merge": "Merged.",
    "extend": "Deadline extended.", "extension_requested": "Extension requested: a manager will decide.",
    "respond": "Stage response recorded.", "escalate": "Escalated.", "remedies": "ADR, compensation and learning saved.",
    "reply": "Reply queued to send.", "referral": "Safeguarding referral recorded.", "note": "Note added.",
    "close": "Case closed.", "reopen": "Case reopened.", "draft": "Read the reply below as it will be sent, then send it.",
    "discarded": "Reply discarded: nothing was sent.",
    "logged": "Logged: classified and in the queue.", "acknowledged": "Acknowledgement recorded.",
}


class CaseNotFound(HTTPException):
    def __init__(self, reference: str) -> None:
        super().__init__(status_code=404, detail=f"there is no case {reference}")


def find_case(session: Session, reference: str) -> Case:
    reference = reference.strip().upper()
    if not REFERENCE.fullmatch(reference):
        raise CaseNotFound(reference[:40])
    case = session.exec(select(Case).where(Case.reference == reference)).first()
    if case is None:
        raise CaseNotFound(reference)
    return case


def names_reference(session: Session, case: Case) -> str | None:
    """The case this one was opened from a message naming, by a sender not a contact on it."""
    named = session.get(Case, case.names_case_id) if case.names_case_id else None
    return named.reference if named else None


@dataclass
class StoryItem:
    at: Any
    what: str  # "in", "out", "event"
    message: Message | None = None
    outbox: OutboxItem | None = None
    event: AuditEvent | None = None
    attachments: list[Attachment] | None = None


def story(session: Session, case: Case) -> list[StoryItem]:
    """Messages in and out and what officers did, in time order, across channels."""
    items: list[StoryItem] = []
    messages = list(session.exec(select(Message).where(Message.case_id == case.id)))
    files: dict[int, list[Attachment]] = {}
    if messages:
        for a in session.exec(select(Attachment).where(Attachment.message_id.in_([m.id for m in messages]))):
            files.setdefault(a.message_id, []).append(a)
    for m in messages:
        items.append(StoryItem(m.received_at, "in" if m.direction.value == "inbound" else "out", message=m, attachments=files.get(m.id, [])))
    sent = list(session.exec(select(OutboxItem).where(OutboxItem.case_id == case.id, OutboxItem.status != OutboxStatus.draft)))
    sent_files = outbox_files(session, [o.id for o in sent])  # type: ignore[misc]
    for o in sent:
        items.append(StoryItem(o.sent_at or o.created_at, "out", outbox=o, attachments=sent_files.get(o.id, [])))
    for e in session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.action != "viewed")):
        items.append(StoryItem(e.at, "event", event=e))
    items.sort(key=lambda i: i.at)
    return items


def outbox_files(session: Session, outbox_ids: list[int]) -> dict[int, list[Attachment]]:
    files: dict[int, list[Attachment]] = {}
    if outbox_ids:
        for a in session.exec(select(Attachment).where(Attachment.outbox_id.in_(outbox_ids)).order_by(Attachment.id)):
            files.setdefault(a.outbox_id, []).append(a)  # type: ignore[arg-type]
    return files


def case_context(session: Session, case: Case, w: deps.Web, who: Officer) -> dict[str, Any]:
    deadlines = list(session.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.due_on, Deadline.id)))
    live = [d for d in deadlines if d.status in LIVE]
    stage_deadline, extension_request = casework.extension_state(session, case)
    drafts = list(session.exec(select(OutboxItem).where(OutboxItem.case_id == case.id, OutboxItem.status == OutboxStatus.draft)
                               .order_by(OutboxItem.id)))
    officers, teams = casework.officers_and_teams(session)
    names = {o.id: o.name for o in session.exec(select(Officer))}
    audit_rows = list(session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(500)))
    merged_from = list(session.exec(select(Case.reference).where(Case.merged_into_id == case.id)))
    named_by = list(session.exec(select(Case.reference).where(Case.names_case_id == case.id, Case.merged_into_id.is_(None))
                                 .order_by(Case.id)))
    return {
        "case": case, "story": story(session, case), "deadlines": deadlines,
        "days_left": {d.id: days_left(w.clock.calendar, w.today, d.due_on) for d in deadlines},
        "stage_records": list(session.exec(select(StageRecord).where(StageRecord.case_id == case.id).order_by(StageRecord.started_on))),
        "advocacy": list(session.exec(select(Advocacy).where(Advocacy.case_id == case.id))),
        "labels": list(session.exec(select(TrainingLabel).where(TrainingLabel.case_id == case.id).order_by(TrainingLabel.created_at))),
        "notes": [e for e in reversed(audit_rows) if e.action == "note"],
        "audit": audit_rows if at_least(who, OfficerRole.manager) else [],
        "officers": officers, "teams": teams, "names": names, "merged_from": merged_from,
        "team_name": next((t.name for t in teams if t.id == case.team_id), ""),
        "outcomes": list(Outcome), "once": secrets.token_hex(12),
        "merged_into": session.get(Case, case.merged_into_id).reference if case.merged_into_id else "",
        "names_reference": names_reference(session, case), "named_by": named_by,
        "next_due": live[0] if live else None, "stage_deadline": stage_deadline, "extension_request": extension_request,
        "contact": contact_panel(session, case), "drafts": drafts, "draft_files": outbox_files(session, [d.id for d in drafts]),  # type: ignore[misc]
        "reply_templates": reply_templates.templates(session),
        **triage_options(),
    }


@router.get("/cases/{reference}", include_in_schema=False)
def case_page(request: Request, reference: str, done: str = "", template: str = "", actor: Actor = Depends(deps.actor),
              session: Session = deps.DB) -> Response:
    """The case; `?template=ID` starts the reply from a reply template, filled in for this case."""
    case = find_case(session, reference)
    casework.audit(session, actor, case, "viewed")
    session.flush()
    form, error = {}, ""
    if template.strip():
        try:
            chosen = session.get(ReplyTemplate, values.record_id(template, "template"))
        except values.BadValue as exc:
            chosen, error = None, str(exc)
        if chosen is None:
            error = error or "that reply template no longer exists: choose another"
        else:
            form = {"body": reply_templates.fill(chosen.body, reply_templates.case_values(session, case, actor.officer.name)),
                    "template": chosen.id}
    return deps.render(request, "case.html", done=DONE.get(done, ""), error=error, form=form,
                       **case_context(session, case, deps.web(request), actor.officer))


@router.get("/cases/{reference}/messages/{message_id}/raw", include_in_schema=False)
def raw_message(reference: str, message_id: str, actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    """The email exactly as received, as a download (never shown in the browser)."""
    case = find_case(session, reference)
    try:
        message = session.get(Message, values.record_id(message_id, "message"))
    except values.BadValue:
        message = None
    if message is None or message.case_id != case.id or message.raw_bytes is None:
        raise HTTPException(404, "no raw email for that message")
    casework.audit(session, actor, case, "downloaded_raw", message_id=message.id)
    return Response(message.raw_bytes, media_type="application/octet-stream", headers={
        "content-disposition": f'attachment; filename="{case.reference}-{message.id}.eml"'})


def _redirect(case: Case, done: str) -> Response:
    return RedirectResponse(f"/cases/{case.reference}?done={done}#top", status_code=303)


def _refused(request: Request, session: Session, case: Case, actor: Actor, error: str, form: dict[str, Any]) -> Response:
    session.rollback()
    case = find_case(session, case.reference)
    return deps.render(request, "case.html", status=400, done="", error=error, form=form,
                       **case_context(session, case, deps.web(request), actor.officer))


def _act(request: Request, session: Session, reference: str, actor: Actor, done: str, form: dict[str, Any], work,  # type: ignore[no-untyped-def]
         *, versioned: bool = True) -> Response:
    """Do `work` on the case, or show the refusal. A `versioned` save is refused when the case
    changed since the officer's page showed it, and moves the version on when it succeeds."""
    case = find_case(session, reference)
    try:
        if versioned:
            casework.save_on(session, case, actor, getattr(request.state, "based_on", None))
        result = work(case)
    except (Refused, values.BadValue) as exc:
        return _refused(request, session, case, actor, str(exc), form)
    except ValueError as exc:
        return _refused(request, session, case, actor, f"that value is not allowed: {exc}", form)
    done = result if isinstance(result, str) and result in DONE else done
    log.info("case %s: %s by officer %s", case.reference, done, actor.officer.id, extra={"case": case.reference})
    return _redirect(case, done)


@router.post("/cases/{reference}/triage", include_in_schema=False)
async def triage_action(request: Request, reference: str, actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    form = await request.form()
    data = {"kind": form.get("kind", ""), "role": form.get("role", ""), "primary_reason": form.get("primary_reason", ""),
            "reasons": form.getlist("reasons"), "safeguarding": form.get("safeguarding", "")}

    def work(case: Case) -> None:
        verdict = Verdict(Kind(data["kind"]) if data["kind"] else None, [Reason(r) for r in data["reasons"]],
                          Reason(data["primary_reason"]) if data["primary_reason"] else None,
                          Role(data["role"]) if data["role"] else None, safeguarding_level(data["safeguarding"]))
        confirm_triage(session, case, deps.web(request).clock, actor, verdict)

    return _act(request, session, reference, actor, "triage", data, work)


@router.post("/cases/{reference}/assign", include_in_schema=False)
def assign_action(request: Request, reference: str, owner: str = Form(""), team: str = Form(""),
                  actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    def work(case: Case) -> None:
        casework.assign(session, case, actor, owner_id=values.optional_id(owner, "officer"),
                        team_id=values.optional_id(team, "team"))

    return _act(request, session, reference, actor, "assign", {"owner": owner, "team": team}, work)


@router.post("/cases/{reference}/convert", include_in_schema=False)
def convert_action(request: Request, reference: str, to: str = Form(...), actor: Actor = Depends(deps.actor),
                   session: Session = deps.DB) -> Response:
    return _act(request, session, reference, actor, "convert", {"to": to},
                lambda case: casework.convert(session, case, deps.web(request).clock, actor, Kind(to)) and None)


@router.post("/cases/{reference}/merge", include_in_schema=False)
def merge_action(request: Request, reference: str, other: str = Form(""), actor: Actor = Depends(deps.actor),
                 session: Session = deps.DB) -> Response:
    def work(case: Case) -> None:
        ref = other.strip().upper()
        found = session.exec(select(Case).where(Case.reference == ref)).first() if REFERENCE.fullmatch(ref) else None
        if found is None:
            raise Refused(f"there is no case {other.strip()[:40]!r} to merge in")
        casework.merge(session, case, found, actor)

    return _act(request, session, reference, actor, "merge", {"other": other}, work)


@router.post("/cases/{reference}/extend", include_in_schema=False)
def extend_action(request: Request, reference: str, reason: str = Form(""), actor: Actor = Depends(deps.actor),
                  session: Session = deps.DB) -> Response:
    """Managers extend; an officer's extension is a request for a manager to approve."""
    def work(case: Case) -> str:
        if at_least(actor.officer, OfficerRole.manager):
            casework.extend(session, case, deps.web(request).clock, actor, reason)
            return "extend"
        casework.request_extension(session, case, actor, reason)
        return "extension_requested"

    return _act(request, session, reference, actor, "extend", {"reason": reason}, work)


@router.post("/cases/{reference}/respond", include_in_schema=False)
def respond_action(request: Request, reference: str, outcome: str = Form(""), on: str = Form(""), note: str = Form(""),
                   actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    def work(case: Case) -> None:
        if not outcome:
            raise Refused("choose the outcome")
        casework.record_response(session, case, deps.web(request).clock, actor, outcome=Outcome(outcome),
                                 on=values.day(on, "the response date", default=actor.today), note=note)

    return _act(request, session, reference, actor, "respond", {"outcome": outcome, "on": on, "note": note}, work)


@router.post("/cases/{reference}/escalate", include_in_schema=False)
def escalate_action(request: Request, reference: str, to: str = Form(""), on: str = Form(""),
                    actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    def work(case: Case) -> None:
        casework.escalate(session, case, deps.web(request).clock, actor, to=Stage(to),
                          requested_on=values.day(on, "the request date", default=actor.today))

    return _act(request, session, reference, actor, "escalate", {"to": to, "on": on}, work)


@router.post("/cases/{reference}/remedies", include_in_schema=False)
def remedies_action(request: Request, reference: str, adr: str = Form(""), adr_note: str = Form(""),
                    compensation: str = Form(""), learning: str = Form(""), actor: Actor = Depends(deps.actor),
                    session: Session = deps.DB) -> Response:
    def work(case: Case) -> None:
        casework.record_remedies(session, case, actor, adr=adr == "1", adr_note=adr_note,
                                 compensation_pence=values.pence(compensation), learning=learning)

    form = {"adr": adr, "adr_note": adr_note, "compensation": compensation, "learning": learning}
    return _act(request, session, reference, actor, "remedies", form, work)


@router.post("/cases/{reference}/referral", include_in_schema=False)
def referral_action(request: Request, reference: str, note: str = Form(""), actor: Actor = Depends(deps.actor),
                    session: Session = deps.DB) -> Response:
    return _act(request, session, reference, actor, "referral", {"referral_note": note},
                lambda case: casework.record_referral(session, case, actor, note))


@router.post("/cases/{reference}/note", include_in_schema=False)
def note_action(request: Request, reference: str, text: str = Form(""), actor: Actor = Depends(deps.actor),
                session: Session = deps.DB) -> Response:
    # A note is added beside the record, never over it: another officer's save does not make it stale.
    return _act(request, session, reference, actor, "note", {"note": text},
                lambda case: casework.add_note(session, case, actor, text), versioned=False)


@router.post("/cases/{reference}/close", include_in_schema=False)
def close_action(request: Request, reference: str, why: str = Form(""), confirm: str = Form(""),
                 actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    return _act(request, session, reference, actor, "close", {"why": why},
                lambda case: casework.close(session, case, actor, why, confirmed=confirm == "yes"))


@router.post("/cases/{reference}/reopen", include_in_schema=False)
def reopen_action(request: Request, reference: str, actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    return _act(request, session, reference, actor, "reopen", {},
                lambda case: casework.reopen(session, case, deps.web(request).clock, actor))

