"""Reply templates: words admins keep for replies officers send often, with placeholders that
are filled for each case, so a reply says the right reference, date and name without retyping.

A placeholder is a word in braces. Only the ones below exist; a template naming any other is
refused when it is saved (a typo would otherwise reach a complainant as `{refrence}`).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from models import Case, Contact, Deadline, Officer, ReplyTemplate, values
from models.enums import Stage
from scheduler.wording import hear_by
from desk import deps
from desk.casework import LIVE, STAGE_DEADLINE, Refused, audit

PLACEHOLDERS = {
    "reference": "the case's reference, like CSC-2026-00042",
    "date": "the date they will hear by: the current stage's response date (else the next date due), like Monday 30 November 2026",
    "name": "the complainant's name, as they gave it",
    "officer": "the name of the officer sending the reply",
}
FIELD = re.compile(r"\{([^{}]*)\}")
MAX_NAME, MAX_BODY = 120, 20_000

DONE = {"added": "Template added.", "changed": "Template saved.", "deleted": "Template deleted."}

router = APIRouter()


def unknown_placeholders(text: str) -> list[str]:
    return list(dict.fromkeys(f"{{{m[1]}}}" for m in FIELD.finditer(text) if m[1] not in PLACEHOLDERS))


def check(name: str, body: str) -> tuple[str, str]:
    """A template's name and words as they may be saved, or Refused saying what to change."""
    name, body = values.short_text(name, "the name", MAX_NAME), values.short_text(body, "the template", MAX_BODY)
    if not name:
        raise Refused("give the template a name")
    if not body:
        raise Refused("the template is empty")
    unknown = unknown_placeholders(body)
    if unknown:
        known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
        raise Refused(f"{' and '.join(unknown)} {'is not a placeholder' if len(unknown) == 1 else 'are not placeholders'}: "
                      f"the placeholders are {known}")
    return name, body


def fill(text: str, filled: dict[str, str]) -> str:
    """The text with each known placeholder replaced; one with no value (a case with no name)
    is left as it is, for the officer to see in the preview and replace."""
    return FIELD.sub(lambda m: filled.get(m[1]) or m[0], text)


def case_values(session: Session, case: Case, officer_name: str) -> dict[str, str]:
    """What the placeholders mean for this case."""
    contact = session.get(Contact, case.contact_id) if case.contact_id else None
    live = list(session.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.status.in_(LIVE))
                             .order_by(Deadline.due_on)))
    stage_kind = STAGE_DEADLINE.get(case.stage) if case.stage not in (None, Stage.ombudsman) else None  # type: ignore[arg-type]
    due = next((d for d in live if d.kind == stage_kind), live[0] if live else None)
    return {"reference": case.reference, "date": hear_by(due.due_on) if due else "",
            "name": contact.display_name.strip() if contact else "", "officer": officer_name}


def templates(session: Session) -> list[ReplyTemplate]:
    return list(session.exec(select(ReplyTemplate).order_by(ReplyTemplate.name)))


def _page(request: Request, session: Session, *, error: str = "", notice: str = "", form: dict | None = None,
          status: int = 200) -> Response:
    return deps.render(request, "reply_templates.html", status=status, templates=templates(session),
                       placeholders=PLACEHOLDERS, error=error, notice=notice, form=form or {})


def _refused(request: Request, session: Session, error: str, form: dict) -> Response:
    session.rollback()
    return _page(request, session, error=error, form=form, status=400)


def _template(session: Session, template_id: str) -> ReplyTemplate | None:
    return session.get(ReplyTemplate, values.record_id(template_id, "template"))


@router.get("/admin/reply-templates", include_in_schema=False)
def templates_page(request: Request, done: str = "", who: Officer = Depends(deps.admin), session: Session = deps.DB) -> Response:
    return _page(request, session, notice=DONE.get(done, ""))


@router.post("/admin/reply-templates", include_in_schema=False)
def template_add(request: Request, name: str = Form(""), body: str = Form(""), who: Officer = Depends(deps.admin),
                 session: Session = deps.DB) -> Response:
    actor = deps.actor(request, who)
    try:
        name, body = check(name, body)
        if session.exec(select(ReplyTemplate).where(ReplyTemplate.name == name)).first():
            raise Refused(f"there is already a template called {name!r}")
    except (Refused, values.BadValue) as exc:
        return _refused(request, session, str(exc), {"new": True, "name": name, "body": body})
    session.add(ReplyTemplate(name=name, body=body, changed_by=who.name, changed_at=actor.now))
    audit(session, actor, None, "reply_template_added", name=name)
    return RedirectResponse("/admin/reply-templates?done=added", status_code=303)


@router.post("/admin/reply-templates/{template_id}", include_in_schema=False)
def template_change(request: Request, template_id: str, name: str = Form(""), body: str = Form(""),
                    who: Officer = Depends(deps.admin), session: Session = deps.DB) -> Response:
    actor = deps.actor(request, who)
    template = _template(session, template_id)
    if template is None:
        return _page(request, session, error="there is no such template (deleted by someone else?)", status=404)
    try:
        name, body = check(name, body)
        other = session.exec(select(ReplyTemplate).where(ReplyTemplate.name == name, ReplyTemplate.id != template.id)).first()
        if other:
            raise Refused(f"there is already a template called {name!r}")
    except (Refused, values.BadValue) as exc:
        return _refused(request, session, str(exc), {"id": template.id, "name": name, "body": body})
    before = template.name
    template.name, template.body, template.changed_by, template.changed_at = name, body, who.name, actor.now
    audit(session, actor, None, "reply_template_changed", name=name, before=before)
    return RedirectResponse("/admin/reply-templates?done=changed", status_code=303)


@router.post("/admin/reply-templates/{template_id}/delete", include_in_schema=False)
def template_delete(request: Request, template_id: str, who: Officer = Depends(deps.admin),
                    session: Session = deps.DB) -> Response:
    template = _template(session, template_id)
    if template is not None:
        audit(session, deps.actor(request, who), None, "reply_template_deleted", name=template.name)
        session.delete(template)
    return RedirectResponse("/admin/reply-templates?done=deleted", status_code=303)
