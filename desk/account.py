"""Signing in and out, the second factor, and an officer's own account page.

Sign-in is two steps for anyone who owes a second factor (managers and admins by default, or
everyone the policy names, and anyone who enrolled): the password starts a session that can
do nothing but give the code (or enrol), and the code completes it. Both steps count against
the same sign-in limits.
"""

from __future__ import annotations

from urllib.parse import quote as _quote
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from models import AuditEvent, Officer
from desk import deps, second_factor
from desk.auth import NotSignedIn, check_password
from desk.names import normalise

router = APIRouter()


def quote(path: str) -> str:
    return _quote(path, safe="")


def safe_next(target: str) -> str:
    """Only a path on this site (never `//evil.example` or a full URL)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


def _wait_message(wait: int) -> str:
    if wait < 60:
        return f"Too many failed tries. Try again in {wait} second{'s' if wait != 1 else ''}."
    minutes = -(-wait // 60)
    return f"Too many failed tries. Try again in {minutes} minute{'s' if minutes > 1 else ''}."


def _failed(db: Session, now, name: str, who: Officer | None, address: str, step: str) -> None:  # type: ignore[no-untyped-def]
    """A failed sign-in is audited too: the name tried (cut short), where from, and at which step."""
    db.add(AuditEvent(at=now, actor=(who.name if who else name)[:120] or "(no name)", officer_id=who.id if who else None,
                      action="sign_in_failed", detail={"address": address, "step": step, "known": who is not None}))


def _signed_in(request: Request, db: Session, who: Officer, how: str) -> None:
    w = deps.web(request)
    w.limiter.record(db, who.name, _address(request), w.now(), succeeded=True)
    db.add(AuditEvent(at=w.now(), actor=who.name, officer_id=who.id, action="signed_in",
                      detail={"address": _address(request), "how": how}))


@router.get("/signin", include_in_schema=False)
def signin_page(request: Request, next: str = "/") -> Response:
    return deps.render(request, "signin.html", next=safe_next(next), error="", name="")


@router.post("/signin", include_in_schema=False)
def signin(request: Request, name: str = Form(""), password: str = Form(""), next: str = Form("/"),
           db: Session = deps.DB) -> Response:
    w = deps.web(request)
    address, now, target = _address(request), w.now(), safe_next(next)
    wait = w.limiter.retry_after(db, name, address, now)
    if wait:
        return deps.render(request, "signin.html", status=429, next=target, name=name, error=_wait_message(wait))
    who = db.exec(select(Officer).where(Officer.name == normalise(name))).first() if len(name) <= 200 else None
    if not check_password(who, password):
        w.limiter.record(db, name, address, now, succeeded=False)
        _failed(db, now, name, who, address, "password")
        return deps.render(request, "signin.html", status=401, next=target, name=name,
                           error="That name and password do not match an active officer.")
    assert who is not None
    owed = second_factor.owed(who, w.policy)
    w.sessions.end(db, deps.session_token(request), "signed in again")
    token = w.sessions.start(db, who, second_factor_done=not owed, address=address,
                             user_agent=request.headers.get("user-agent", ""))
    if owed:
        step = "/signin/code" if second_factor.enrolled(who) else "/account/two-factor"
        response = RedirectResponse(f"{step}?next={quote(target)}", status_code=303)
    else:
        _signed_in(request, db, who, "password")
        response = RedirectResponse(target, status_code=303)
    w.keep_session(response, token)
    return response


def _pending(request: Request, db: Session):  # type: ignore[no-untyped-def]
    """The officer and session between password and code (a full session is fine too)."""
    return deps.web(request).sessions.find(deps.session_token(request), db)


@router.get("/signin/code", include_in_schema=False)
def code_page(request: Request, next: str = "/", db: Session = deps.DB) -> Response:
    who, row = _pending(request, db)
    if row.second_factor_done:
        return RedirectResponse(safe_next(next), status_code=303)
    if not second_factor.enrolled(who):
        return RedirectResponse(f"/account/two-factor?next={quote(safe_next(next))}", status_code=303)
    return deps.render(request, "signin_code.html", next=safe_next(next), error="")


@router.post("/signin/code", include_in_schema=False)
def code(request: Request, code: str = Form(""), next: str = Form("/"), db: Session = deps.DB) -> Response:
    w = deps.web(request)
    who, row = _pending(request, db)
    target, address, now = safe_next(next), _address(request), w.now()
    if row.second_factor_done:
        return RedirectResponse(target, status_code=303)
    wait = w.limiter.retry_after(db, who.name, address, now)
    if wait:
        return deps.render(request, "signin_code.html", status=429, next=target, error=_wait_message(wait))
    how = ("code" if second_factor.check_code(who, code, now)
           else "recovery code" if len(code) <= 40 and second_factor.use_recovery_code(who, code) else "")
    if not how:
        w.limiter.record(db, who.name, address, now, succeeded=False)
        _failed(db, now, who.name, who, address, "code")
        return deps.render(request, "signin_code.html", status=401, next=target,
                           error="That code is not right. Codes change every 30 seconds: use the one your app shows now.")
    row.second_factor_done = True
    _signed_in(request, db, who, how)
    if how == "recovery code":
        db.add(AuditEvent(at=now, actor=who.name, officer_id=who.id, action="recovery_code_used",
                          detail={"left": len(who.recovery_codes)}))
    return RedirectResponse(target, status_code=303)


@router.get("/account/two-factor", include_in_schema=False)
def enrol_page(request: Request, next: str = "/", db: Session = deps.DB) -> Response:
    """Enrol an authenticator app: scan the QR code Heard draws, then type its first code."""
    who, row = _pending(request, db)
    if second_factor.enrolled(who):
        return RedirectResponse("/account" if row.second_factor_done else f"/signin/code?next={quote(safe_next(next))}",
                                status_code=303)
    return _enrol_form(request, who, safe_next(next), "")


def _enrol_form(request: Request, who: Officer, target: str, error: str, status: int = 200) -> Response:
    w = deps.web(request)
    second_factor.start_enrolment(who)
    uri = second_factor.enrolment_uri(who, f"Heard ({w.policy.council.name})")
    return deps.render(request, "two_factor.html", status=status, next=target, error=error, secret=who.totp_secret,
                       qr=second_factor.qr_data_uri(uri), required=second_factor.required(who, w.policy))


@router.post("/account/two-factor", include_in_schema=False)
def enrol(request: Request, code: str = Form(""), next: str = Form("/"), db: Session = deps.DB) -> Response:
    w = deps.web(request)
    who, row = _pending(request, db)
    target, address, now = safe_next(next), _address(request), w.now()
    if second_factor.enrolled(who):
        return RedirectResponse(target, status_code=303)
    wait = w.limiter.retry_after(db, who.name, address, now)
    if wait:
        return _enrol_form(request, who, target, _wait_message(wait), status=429)
    if not second_factor.check_code(who, code, now):
        w.limiter.record(db, who.name, address, now, succeeded=False)
        return _enrol_form(request, who, target, "That code is not right. Type the six digits your app shows now.", status=400)
    who.totp_confirmed_at = now
    codes = second_factor.new_recovery_codes(who)
    db.add(AuditEvent(at=now, actor=who.name, officer_id=who.id, action="second_factor_enrolled", detail={}))
    if not row.second_factor_done:
        row.second_factor_done = True
        _signed_in(request, db, who, "code (enrolment)")
    return deps.render(request, "recovery_codes.html", codes=codes, next=target)


@router.get("/account", include_in_schema=False)
def account_page(request: Request, who: Officer = Depends(deps.officer), db: Session = deps.DB) -> Response:
    """The officer's own sessions (with "Sign out everywhere") and their second factor."""
    w = deps.web(request)
    _, current = w.sessions.find(deps.session_token(request), db)
    return deps.render(request, "account.html", sessions=w.sessions.live(db, who.id), current_id=current.id,  # type: ignore[arg-type]
                       enrolled=second_factor.enrolled(who), required=second_factor.required(who, w.policy),
                       recovery_left=len(who.recovery_codes))


@router.post("/account/signout-everywhere", include_in_schema=False)
def signout_everywhere(request: Request, who: Officer = Depends(deps.officer), db: Session = deps.DB) -> Response:
    w = deps.web(request)
    ended = w.sessions.end_all(db, who.id, "signed out everywhere")  # type: ignore[arg-type]
    db.add(AuditEvent(at=w.now(), actor=who.name, officer_id=who.id, action="signed_out_everywhere", detail={"sessions": ended}))
    return _signed_out(request)


@router.post("/signout", include_in_schema=False)
def signout(request: Request, db: Session = deps.DB) -> Response:
    w = deps.web(request)
    try:
        who, _ = w.sessions.find(deps.session_token(request), db)
    except NotSignedIn:
        return _signed_out(request)
    w.sessions.end(db, deps.session_token(request), "signed out")
    db.add(AuditEvent(at=w.now(), actor=who.name, officer_id=who.id, action="signed_out", detail={}))
    return _signed_out(request)


def _signed_out(request: Request) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    deps.web(request).forget_session(response)
    return response
