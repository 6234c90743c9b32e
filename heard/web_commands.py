"""`heard officer …`, `heard cases` and `heard demo`: the officers' web app's commands."""

from __future__ import annotations

import json
import smtplib
import sys
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import click
import sqlalchemy as sa

from models import Case, Deadline, Message, Officer, Team, session_scope
from models.enums import CaseStatus, OfficerRole


def register(cli: click.Group) -> None:
    """Add the web app's commands to the `heard` group."""
    cli.add_command(officer)
    cli.add_command(cases)
    cli.add_command(demo)


def _ctx():  # type: ignore[no-untyped-def]
    from heard.cli import Context

    return click.get_current_context().ensure_object(Context)


@click.group()
def officer() -> None:
    """Add and list the officers who sign in to the web app."""


@officer.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in OfficerRole]), default="officer", show_default=True,
              help="officer: works cases; manager: also team performance, extensions, audit; admin: also accounts and policy.")
@click.option("--email", default="", help="The officer's email address.")
@click.option("--team", "team_name", default="", help="Name of the officer's team (created if new).")
@click.option("--generate-password", is_flag=True, help="Make up a password and print it once, instead of asking for one.")
def officer_add(name: str, role: str, email: str, team_name: str, generate_password: bool) -> None:
    """Add an officer. Asks for the password (twice) unless --generate-password is given."""
    from desk.auth import MIN_PASSWORD_LENGTH, add_officer, new_password

    engine = _ctx().engine()
    password = new_password() if generate_password else click.prompt(
        f"Password for {name} (at least {MIN_PASSWORD_LENGTH} characters)", hide_input=True, confirmation_prompt=True)
    from desk.names import checked

    try:
        with session_scope(engine) as session:
            team_id = None
            if team_name.strip():
                team_name = checked(team_name, "a team")
                team = session.exec(sa.select(Team).where(Team.name == team_name)).scalars().first()  # type: ignore[call-overload]
                if team is None:
                    team = Team(name=team_name)
                    session.add(team)
                    session.flush()
                team_id = team.id
            name = add_officer(session, name, OfficerRole(role), password, email=email, team_id=team_id).name
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"added {name} ({role})")
    if generate_password:
        click.echo(f"password: {password}  (shown once)")


@officer.command("list")
def officer_list() -> None:
    """List officers, their roles and whether they can sign in."""
    engine = _ctx().engine()
    with session_scope(engine) as session:
        for o in session.execute(sa.select(Officer).order_by(Officer.name)).scalars():
            click.echo(f"{o.name:<24} {o.role.value:<8} {'active' if o.active else 'inactive'}")
    engine.dispose()


def _change_officer(name: str, change, done: str) -> None:  # type: ignore[no-untyped-def]
    """Find an officer by name, apply `change(session, officer, sessions)`, audit it, end their sessions."""
    from datetime import UTC, datetime

    from models import AuditEvent
    from desk.auth import Sessions
    from desk.names import normalise

    engine = _ctx().engine()
    try:
        with session_scope(engine) as session:
            found = session.execute(sa.select(Officer).where(Officer.name == normalise(name))).scalars().first()
            if found is None:
                raise click.ClickException(f"there is no officer called {normalise(name)!r} (see `heard officer list`)")
            now = datetime.now(UTC)
            sessions = Sessions(idle_seconds=0, lifetime_seconds=0, now=lambda: now)
            detail = change(session, found) or {}
            ended = sessions.end_all(session, found.id, f"heard officer {click.get_current_context().info_name}")
            session.add(AuditEvent(at=now, actor="heard (command line)", officer_id=found.id,
                                   action=f"officer_{click.get_current_context().info_name.replace('-', '_')}",
                                   detail={"name": found.name, "sessions_ended": ended, **detail}))
    finally:
        engine.dispose()
    click.echo(done.format(name=normalise(name)))


@officer.command("reset-password")
@click.argument("name")
def officer_reset_password(name: str) -> None:
    """Give an officer a new password, printed once, and end their sessions (e.g. an admin who lost theirs)."""
    from desk.auth import hash_password, new_password

    password = new_password()

    def change(session, found):  # type: ignore[no-untyped-def]
        found.password_hash = hash_password(password)

    _change_officer(name, change, "new password for {name}: " + password + "  (shown once)")


@officer.command("disable")
@click.argument("name")
def officer_disable(name: str) -> None:
    """Stop an officer signing in, and end their sessions now."""
    _change_officer(name, lambda session, found: setattr(found, "active", False), "{name} is disabled and signed out everywhere")


@officer.command("enable")
@click.argument("name")
def officer_enable(name: str) -> None:
    """Let a disabled officer sign in again (with their existing password)."""
    _change_officer(name, lambda session, found: setattr(found, "active", True), "{name} can sign in again")


@officer.command("reset-second-factor")
@click.argument("name")
def officer_reset_second_factor(name: str) -> None:
    """Forget an officer's authenticator app and recovery codes; they set it up again at their next sign-in."""
    from desk import second_factor

    _change_officer(name, lambda session, found: second_factor.reset(found),
                    "{name} will set up two-factor sign-in again at their next sign-in")


@click.command()
@click.option("--status", "statuses", multiple=True, type=click.Choice([s.value for s in CaseStatus]),
              help="Only cases with this status (repeatable). Default: every status.")
@click.option("--limit", type=click.IntRange(0), default=200, show_default=True, help="At most this many, newest first (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array instead of a table.")
def cases(statuses: tuple[str, ...], limit: int, as_json: bool) -> None:
    """List cases, newest first: reference, status, kind, stage, triage, next deadline."""
    engine = _ctx().engine()
    nearest = (sa.select(sa.func.min(Deadline.due_on))
               .where(Deadline.case_id == Case.id, Deadline.status.in_(["open", "missed"]), Deadline.kind != "acknowledgement")
               .correlate(Case).scalar_subquery())
    query = (sa.select(Case, nearest.label("due"), Officer.name.label("owner"), Team.name.label("team"))
             .outerjoin(Officer, Officer.id == Case.owner_id).outerjoin(Team, Team.id == Case.team_id)
             .order_by(Case.received_at.desc(), Case.id.desc()))
    if statuses:
        query = query.where(Case.status.in_(statuses))
    if limit:
        query = query.limit(limit)
    rows = []
    with engine.connect() as conn:
        from sqlmodel import Session

        with Session(bind=conn) as session:
            for case, due, owner, team in session.execute(query):
                rows.append({
                    "reference": case.reference, "status": case.status.value, "kind": case.kind.value if case.kind else None,
                    "stage": case.stage.value if case.stage else None, "channel": case.channel.value,
                    "triage": case.triage_state.value, "safeguarding": case.safeguarding,
                    "safeguarding_level": case.safeguarding_level.value if case.safeguarding_level else None,
                    "received_at": case.received_at.isoformat(), "next_deadline": due.isoformat() if due else None,
                    "owner": owner, "team": team, "summary": case.summary[:80],
                })
    engine.dispose()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no cases")
        return
    for r in rows:
        flag = {"disclosure": "SAFEGUARDING ", "possible": "possible-safeguarding "}.get(r["safeguarding_level"] or "", "")
        click.echo(f"{r['reference']:<16} {r['status']:<9} {(r['kind'] or '-'):<16} {(r['stage'] or '-'):<16} "
                   f"{r['triage']:<12} due {r['next_deadline'] or '-':<10}  {flag}{' '.join(r['summary'].split())[:50]}")



DEMO_TEAMS = ["Children in Care", "Leaving Care", "Fostering", "Family Support"]

# A dozen representations of the kinds councils receive, written for the demo (none is real).
DEMO: list[dict[str, object]] = [
    {"from": "jade.14@example.org", "subject": "my social worker",
     "body": "hi its jade. my social worker keeps cancelling when shes meant to come and see me and nobody tells me why. "
             "ive had 3 different ones this year. i want someone to actually listen to me"},
    {"from": "m.okafor@example.org", "subject": "Contact with my son",
     "body": "Dear complaints team,\n\nFor the third week running nobody has rung me back about contact with my son Daniel. "
             "The family time on Saturday was cancelled by text at 9pm the night before. I would like this treated as a formal complaint.\n\n"
             "Yours sincerely,\nMichael Okafor"},
    {"from": "ryan.care.leaver@example.org", "subject": "Savings",
     "body": "Hello, I left care two years ago and I was told I had savings from when I was looked after. I have asked my PA four times "
             "and still nobody can tell me where the money is. I am 20 and I need it for a deposit.\n\nRyan"},
    {"from": "the.hendersons@example.org", "subject": "Fostering allowance",
     "body": "Hi, we are foster carers for two siblings. Our allowance has been paid late three months in a row and we have had "
             "to use our own savings for school uniforms. Could someone look into this please?\n\nSue and Pete Henderson"},
    {"from": "grandma.pat@example.org", "subject": "Thank you",
     "body": "I just wanted to say thank you to Amira in the Family Support team. She was kind and patient with my grandson and "
             "sorted out his school transport in a week. Please pass this on.\n\nPat Wilson"},
    {"from": "cllr.ahmed@example.org", "subject": "Enquiry on behalf of a constituent",
     "body": "Dear Complaints Manager,\n\nI write on behalf of my constituent, a mother whose parenting assessment contains "
             "several factual errors, including the wrong school for her daughter. She asked for corrections in June and has heard "
             "nothing. I should be grateful for a response.\n\nCllr Farah Ahmed"},
    {"from": "kayla.s@example.org", "subject": "please help",
     "body": "my foster carers boyfriend shouts at me and last night he pushed me into the wall. im scared to go home after school. "
             "please dont tell him i said"},
    {"from": "t.brennan@example.org", "subject": "Records request",
     "body": "I asked for my records from when I was in care in 2009 (subject access request) eleven weeks ago. The law says one "
             "month. Nobody answers my emails.\n\nTom Brennan"},
    {"from": "sam.parent@example.org", "subject": "Minutes",
     "body": "Hello, the minutes from last month's child in need meeting were never sent to me. Can I have a copy please? Thanks, Sam"},
    {"from": "ellie.j@example.org", "subject": "<script>alert('x')</script> my placement", "html": True,
     "body": "<html><body><p onclick=\"alert('x')\">I have been moved to a placement 40 miles from my school and my friends.</p>"
             "<script>alert('hostile')</script><img src=x onerror=\"alert('img')\"><p>Nobody asked me what I wanted. "
             "<a href=\"javascript:alert(1)\">Read more</a></p></body></html>"},
    {"from": "m.okafor@example.org", "subject": "Re: Contact with my son", "reply_to_first_parent": True,
     "body": "Further to my email: Saturday's family time has now been cancelled again. Daniel was very upset.\n\nMichael Okafor"},
    {"from": "dr.lewis@example.org", "subject": "Concern from a GP practice",
     "body": "Dear colleagues,\n\nI am a GP. A young person in your care told me her social worker shared her health information "
             "with her birth father without asking her. She is 16 and very distressed. She has agreed I can raise this.\n\nDr A Lewis"},
]


DEMO_CHATS = [
    ["hi im 14", "my social worker cancelled my contact with my little brother again and nobody told me why 😢"],
    ["i left care last year and my setting up home allowance still hasnt come", "the landlord wants the deposit by friday"],
    ["i just want to say thank you to Priya my PA", "she helped me get my passport sorted and came to my college interview"],
]


def _demo_web_chats(url: str) -> int:
    """Each chat is its own phone: its messages, then "That's everything", carrying its cookie by hand
    (the cookie is Secure, which a script talking plain http to 127.0.0.1 would otherwise drop)."""
    import secrets
    import urllib.error
    import urllib.parse
    import urllib.request

    origin = url.rsplit("/chat", 1)[0]
    told = 0
    for lines in DEMO_CHATS:
        cookie = ""
        try:
            for form in [*({"text": line} for line in lines), {"button": "done"}]:
                body = urllib.parse.urlencode({**form, "once": secrets.token_hex(8)}).encode()
                headers = {"accept": "application/json", "origin": origin, **({"cookie": cookie} if cookie else {})}
                with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=30) as reply:
                    cookie = cookie or (reply.headers.get("set-cookie") or "").split(";", 1)[0]
            told += 1
        except (urllib.error.URLError, OSError) as exc:
            raise click.ClickException(f"cannot reach the web chat at {url} ({exc}): start Heard first with `make run`") from None
    return told


@click.command()
@click.option("--wait", type=click.FloatRange(0), default=20, show_default=True, help="Seconds to wait for the cases to open.")
def demo(wait: float) -> None:
    """Send a dozen realistic representations to the running SMTP intake, so the queue has work.

    Start Heard first (`make run` or `heard serve`) in another terminal. Three young people
    also tell their story through the running web chat, as a phone would.
    """
    ctx = _ctx()
    settings = ctx.settings
    to = settings.complaint_addresses[0]
    engine = ctx.engine()
    with session_scope(engine) as session:  # teams to assign the demo cases to, on a fresh database
        if session.execute(sa.select(Team.id)).first() is None:
            for name in DEMO_TEAMS:
                session.add(Team(name=name))
    ids: list[str] = []
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            parent_id = ""
            for item in DEMO:
                msg = EmailMessage()
                msg["From"], msg["To"], msg["Subject"] = str(item["from"]), to, str(item["subject"])
                msg["Date"] = formatdate(localtime=True)
                msg["Message-ID"] = make_msgid(domain="demo.heard.localhost")
                if item.get("reply_to_first_parent") and parent_id:
                    msg["In-Reply-To"] = msg["References"] = parent_id
                if item.get("html"):
                    msg.set_content(str(item["body"]), subtype="html")
                else:
                    msg.set_content(str(item["body"]))
                if item["from"] == "m.okafor@example.org" and not parent_id:
                    parent_id = msg["Message-ID"]
                smtp.send_message(msg)
                ids.append(msg["Message-ID"])
    except OSError as exc:
        engine.dispose()
        raise click.ClickException(
            f"cannot reach the SMTP intake at {settings.smtp_host}:{settings.smtp_port} ({exc}): start Heard first with `make run`"
        ) from None
    click.echo(f"sent {len(ids)} emails to {to} via {settings.smtp_host}:{settings.smtp_port}")
    from datetime import UTC, datetime

    started = datetime.now(UTC)
    chats = _demo_web_chats(f"http://{settings.web_host}:{settings.web_port}/chat")
    click.echo(f"told {chats} stories through the web chat at http://{settings.web_host}:{settings.web_port}/chat")
    deadline = time.monotonic() + wait
    refs: list[str] = []
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            refs = [r for (r,) in conn.execute(
                sa.select(Case.reference).join(Message, Message.case_id == Case.id)
                .where(Message.external_id.in_(ids)).distinct().order_by(Case.reference))]
            done = conn.execute(sa.select(sa.func.count()).select_from(Message)
                                .where(Message.external_id.in_(ids), Message.state != "stored")).scalar_one()
        if done >= len(ids):
            break
        time.sleep(0.3)
    with engine.connect() as conn:  # the web chat's stories are cases too: count them with the emails'
        chat_refs = [r for (r,) in conn.execute(sa.select(Case.reference).where(Case.channel == "webchat", Case.received_at >= started)
                                                .order_by(Case.reference))]
    engine.dispose()
    refs = sorted(set(refs) | set(chat_refs))
    click.echo(f"{len(refs)} cases opened or threaded ({len(refs) - len(chat_refs)} from email, {len(chat_refs)} from the web chat): "
               f"{', '.join(refs) or 'none yet (is the intake processing?)'}")
    click.echo(f"open the queue: http://{settings.web_host}:{settings.web_port}/queue")
    if not refs:
        sys.exit(1)
