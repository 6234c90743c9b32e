"""Managers read the audit log; admins manage officers' accounts and read the council policy
in force (the policy itself is the file named by HEARD_POLICY_FILE)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from models import AuditEvent, Case, Officer, Team
from models.enums import OfficerRole
from desk import deps, second_factor
from models import values
from desk.auth import add_officer, hash_password, new_password
from desk.casework import Actor, audit

router = APIRouter()


@router.get("/audit", include_in_schema=False)
def audit_page(request: Request, who: Officer = Depends(deps.manager), session: Session = deps.DB,
               officer: str = "", action: str = "") -> Response:
    """The latest 300 audit events, optionally for one officer or one action."""
    query = (sa.select(AuditEvent, Case.reference).outerjoin(Case, Case.id == AuditEvent.case_id)
             .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(300))
    if officer:
        query = query.where(AuditEvent.actor == officer)
    if action:
        query = query.where(AuditEvent.action == action)
    rows = session.execute(query).all()
    return deps.render(request, "audit.html", rows=rows, officer=officer, action=action)


def _officers_page(request: Request, session: Session, *, error: str = "", notice: str = "", shown_password: str = "",
                   shown_for: str = "", status: int = 200) -> Response:
    officers = list(session.exec(select(Officer).order_by(Officer.name)))
    teams = list(session.exec(select(Team).order_by(Team.name)))
    return deps.render(request, "officers.html", status=status, officers=officers, teams=teams, roles=list(OfficerRole),
                       error=error, notice=notice, shown_password=shown_password, shown_for=shown_for,
                       enrolled={o.id for o in officers if second_factor.enrolled(o)})


@router.get("/admin/officers", include_in_schema=False)
def officers_page(request: Request, who: Officer = Depends(deps.admin), session: Session = deps.DB) -> Response:
    return _officers_page(request, session)


@router.post("/admin/officers", include_in_schema=False)
def officer_add(request: Request, name: str = Form(""), role: str = Form("officer"), email: str = Form(""),
                who: Officer = Depends(deps.admin), session: Session = deps.DB) -> Response:
    """A new account with a generated password, shown once to the admin to pass on."""
    w = deps.web(request)
    password = new_password()
    try:
        name, email = values.short_text(name, "the name", 120), values.short_text(email, "the email address", 320)
        added = add_officer(session, name, OfficerRole(role), password, email=email)
    except ValueError as exc:
        session.rollback()
        return _officers_page(request, session, error=str(exc), status=400)
    audit(session, Actor(who, w.now(), w.zone), None, "officer_added", name=added.name, role=added.role.value)
    return _officers_page(request, session, shown_password=password, shown_for=added.name)


@router.post("/admin/officers/{officer_id}", include_in_schema=False)
def officer_change(request: Request, officer_id: str, role: str = Form(""), active: str = Form(""), reset: str = Form(""),
                   team: str = Form(""), who: Officer = Depends(deps.admin), session: Session = deps.DB) -> Response:
    w = deps.web(request)
    try:
        target = session.get(Officer, values.record_id(officer_id, "officer"))
        team_id = values.optional_id(team, "team")
    except values.BadValue as exc:
        return _officers_page(request, session, error=str(exc), status=400)
    if target is None:
        return _officers_page(request, session, error="no such officer", status=404)
    if team_id is not None and session.get(Team, team_id) is None:
        return _officers_page(request, session, error=f"team: there is no team numbered {team_id}", status=400)
    if target.id == who.id and (active != "1" or (role and role != who.role.value)):
        return _officers_page(request, session, error="you cannot remove your own admin role or deactivate yourself", status=400)
    try:
        target.role = OfficerRole(role) if role else target.role
    except ValueError:
        return _officers_page(request, session, error=f"{role!r} is not a role", status=400)
    target.active = active == "1"
    target.team_id = team_id
    password = ""
    if reset == "1":
        password = new_password()
        target.password_hash = hash_password(password)
    ended = w.sessions.end_all(session, target.id, "disabled by an admin") if not target.active else 0  # type: ignore[arg-type]
    audit(session, Actor(who, w.now(), w.zone), None, "officer_changed", name=target.name, role=target.role.value,
          active=target.active, password_reset=bool(password), sessions_ended=ended)
    if password:
        return _officers_page(request, session, shown_password=password, shown_for=target.name)
    return RedirectResponse("/admin/officers", status_code=303)


def _officer(session: Session, officer_id: str) -> Officer | None:
    """The officer a path names (a number that cannot be an id is BadValue: a clear 400)."""
    return session.get(Officer, values.record_id(officer_id, "officer"))


@router.post("/admin/officers/{officer_id}/end-sessions", include_in_schema=False)
def officer_end_sessions(request: Request, officer_id: str, who: Officer = Depends(deps.admin),
                         session: Session = deps.DB) -> Response:
    """Sign an officer out everywhere (a lost laptop, a shared screen)."""
    w = deps.web(request)
    target = _officer(session, officer_id)
    if target is None:
        return _officers_page(request, session, error="no such officer", status=404)
    ended = w.sessions.end_all(session, target.id, "ended by an admin")  # type: ignore[arg-type]
    audit(session, Actor(who, w.now(), w.zone), None, "officer_sessions_ended", name=target.name, sessions=ended)
    return _officers_page(request, session, notice=f"Ended {ended} session{'s' if ended != 1 else ''} of {target.name}.")


@router.post("/admin/officers/{officer_id}/reset-second-factor", include_in_schema=False)
def officer_reset_second_factor(request: Request, officer_id: str, who: Officer = Depends(deps.admin),
                                session: Session = deps.DB) -> Response:
    """For an officer who lost their phone and their recovery codes: they enrol again at their next
    sign-in. Their sessions end, so nobody keeps a session the second factor no longer backs."""
    w = deps.web(request)
    target = _officer(session, officer_id)
    if target is None:
        return _officers_page(request, session, error="no such officer", status=404)
    second_factor.reset(target)
    ended = w.sessions.end_all(session, target.id, "second factor reset")  # type: ignore[arg-type]
    audit(session, Actor(who, w.now(), w.zone), None, "second_factor_reset", name=target.name, sessions_ended=ended)
    return _officers_page(request, session, notice=f"{target.name} will set up two-factor sign-in again when they next sign in.")


@router.get("/admin/policy", include_in_schema=False)
def policy_page(request: Request, who: Officer = Depends(deps.admin)) -> Response:
    policy = deps.web(request).policy
    return deps.render(request, "policy.html", policy=policy.model_dump(mode="json"))
