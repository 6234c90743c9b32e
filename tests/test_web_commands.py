"""`heard officer add`, `heard cases` and `heard demo` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from heard.web_commands import DEMO, DEMO_CHATS, register
from models import Case, Officer, Team, make_engine
from models.enums import CaseStatus, OfficerRole
from tests.helpers import ROOT, free_port, heard_env, run_heard
from tests.web_helpers import open_case
from desk.auth import check_password


@pytest.fixture
def heard(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The `heard` group with these commands, on a migrated SQLite database."""
    url = f"sqlite:///{tmp_path / 'heard.db'}"
    assert run_heard("db", "upgrade", database_url=url).returncode == 0

    @click.group()
    def group() -> None:
        pass

    register(group)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, **settings: str):  # type: ignore[no-untyped-def]
        env = {"HEARD_DATABASE_URL": url, **{f"HEARD_{k.upper()}": v for k, v in settings.items()}}
        return runner.invoke(group, list(args), input=input, env=env, catch_exceptions=False)

    invoke.url = url  # type: ignore[attr-defined]
    return invoke


def test_officer_add_asks_for_the_password_twice_and_hashes_it(heard) -> None:  # type: ignore[no-untyped-def]
    result = heard("officer", "add", "Sam Patel", "--role", "manager", "--team", "Leaving Care",
                   input="a good long password\na good long password\n")
    assert result.exit_code == 0, result.output
    assert "added Sam Patel (manager)" in result.output
    with Session(make_engine(heard.url)) as session:
        sam = session.exec(select(Officer).where(Officer.name == "Sam Patel")).one()
    assert sam.role is OfficerRole.manager and sam.team_id is not None
    assert sam.password_hash.startswith("$argon2id$")
    assert check_password(sam, "a good long password")
    listed = heard("officer", "list").output.split()
    assert listed == ["Sam", "Patel", "manager", "active"]


def test_officer_add_refuses_a_short_password_and_a_taken_name(heard) -> None:  # type: ignore[no-untyped-def]
    short = heard("officer", "add", "sam", input="short\nshort\n")
    assert short.exit_code == 1 and "a password needs at least 10 characters" in short.output
    assert heard("officer", "add", "sam", "--generate-password").exit_code == 0
    again = heard("officer", "add", "sam", "--generate-password")
    assert again.exit_code == 1 and "there is already an officer called 'sam'" in again.output


def test_a_generated_password_is_printed_once_and_works(heard) -> None:  # type: ignore[no-untyped-def]
    result = heard("officer", "add", "ada", "--role", "admin", "--generate-password")
    password = result.output.split("password: ")[1].split()[0]
    with Session(make_engine(heard.url)) as session:
        assert check_password(session.exec(select(Officer)).one(), password)


def test_cases_lists_cases_for_people_and_as_json_for_scripts(heard) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(heard.url)
    first = open_case(engine, "Nobody rang me back.\n\nTwice now.")
    second = open_case(engine, "Where are my savings?", sender="s@example.org")
    with Session(engine) as session:
        session.exec(select(Case).where(Case.reference == second)).one().status = CaseStatus.closed
        session.commit()
    table = heard("cases")
    assert table.exit_code == 0 and first in table.output and second in table.output
    assert "Nobody rang me back. Twice now." in table.output and "\\n" not in table.output  # text, not a Python repr
    data = json.loads(heard("cases", "--json", "--status", "open").output)
    assert [c["reference"] for c in data] == [first]
    assert data[0]["next_deadline"] == "2026-12-07" and data[0]["status"] == "open"
    bad = heard("cases", "--status", "pending")
    assert bad.exit_code == 2 and "'pending' is not one of" in bad.output


def test_demo_feeds_representations_through_the_real_smtp_intake_and_web_chat(heard, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    smtp_port, web_port = free_port(), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "heard", "serve", "--only", "email", "--only", "web"], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=heard_env(database_url=heard.url, smtp_port=str(smtp_port), web_port=str(web_port)),
    )
    try:
        assert server.stdout is not None
        while "Press Ctrl-C" not in (line := server.stdout.readline()):
            assert line, "heard serve stopped"
        result = heard("demo", smtp_port=str(smtp_port), web_port=str(web_port))
    finally:
        server.terminate()
        server.communicate(timeout=20)
    assert result.exit_code == 0, result.output
    assert f"sent {len(DEMO)} emails to complaints@heard.localhost" in result.output
    assert f"told {len(DEMO_CHATS)} stories through the web chat" in result.output
    total = 11 + len(DEMO_CHATS)  # the follow-up email threads onto its first
    assert f"{total} cases opened or threaded (11 from email, {len(DEMO_CHATS)} from the web chat)" in result.output
    with Session(make_engine(heard.url)) as session:
        cases = session.exec(select(Case)).all()
    assert len(DEMO) == 12 and len(cases) == 11 + len(DEMO_CHATS)  # the follow-up threads onto its first email
    assert sum(c.channel.value == "webchat" for c in cases) == len(DEMO_CHATS)
    assert any("40 miles from my school" in c.summary for c in cases)
    assert not any("<script>" in c.summary for c in cases)
    with Session(make_engine(heard.url)) as session:
        assert [t.name for t in session.exec(select(Team))] == ["Children in Care", "Leaving Care", "Fostering", "Family Support"]


def test_demo_says_when_heard_is_not_running(heard) -> None:  # type: ignore[no-untyped-def]
    result = heard("demo", smtp_port=str(free_port()))
    assert result.exit_code == 1
    assert "cannot reach the SMTP intake at 127.0.0.1:" in result.output and "start Heard first with `make run`" in result.output


def test_an_admin_who_lost_the_password_gets_a_new_one_and_old_sessions_end(heard) -> None:  # type: ignore[no-untyped-def]
    from tests.web_helpers import client, csrf_token, make_app

    heard("officer", "add", "ada", "--role", "officer", "--generate-password")
    engine = make_engine(heard.url)
    app = make_app(engine)
    old = heard("officer", "reset-password", "ada").output
    assert "new password for ada: " in old and "(shown once)" in old
    password = old.split("new password for ada: ")[1].split()[0]
    c = client(app)
    assert c.post("/signin", data={"name": "ada", "password": password, "csrf_token": csrf_token(c)}).status_code == 303
    assert c.get("/queue").status_code == 200
    heard("officer", "reset-password", " ada ")  # the name as the sign-in form normalises it
    assert c.get("/queue").status_code == 303
    missing = heard("officer", "reset-password", "nobody")
    assert missing.exit_code == 1 and "there is no officer called 'nobody'" in missing.output


def test_disable_signs_an_officer_out_at_once_and_enable_lets_them_back(heard) -> None:  # type: ignore[no-untyped-def]
    from models import AuditEvent
    from tests.web_helpers import PASSWORD, client, csrf_token, make_app

    heard("officer", "add", "olu", input=f"{PASSWORD}\n{PASSWORD}\n")
    engine = make_engine(heard.url)
    app = make_app(engine)
    c = client(app)
    c.post("/signin", data={"name": "olu", "password": PASSWORD, "csrf_token": csrf_token(c)})
    assert c.get("/queue").status_code == 200
    assert "olu is disabled and signed out everywhere" in heard("officer", "disable", "olu").output
    assert c.get("/queue").status_code == 303
    assert heard("officer", "list").output.split() == ["olu", "officer", "inactive"]
    refused = c.post("/signin", data={"name": "olu", "password": PASSWORD, "csrf_token": csrf_token(c)})
    assert refused.status_code == 401
    assert "olu can sign in again" in heard("officer", "enable", "olu").output
    assert c.post("/signin", data={"name": "olu", "password": PASSWORD, "csrf_token": csrf_token(c)}).status_code == 303
    with Session(engine) as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.actor == "heard (command line)")).all()
    assert actions == ["officer_disable", "officer_enable"]


def test_names_with_hidden_characters_are_refused_for_officers_and_teams(heard) -> None:  # type: ignore[no-untyped-def]
    bidi = heard("officer", "add", "adm\u202enim", "--generate-password")
    assert bidi.exit_code == 1 and "invisible or control characters (U+202E)" in bidi.output
    team = heard("officer", "add", "sam", "--team", "x" * 81, "--generate-password")
    assert team.exit_code == 1 and "at most 80 characters" in team.output


def test_the_demo_queue_marks_only_the_real_disclosure_urgent() -> None:
    """The issue saw the demo's first rows pink for plain complaints about cancelled contact: with
    the shipped classifier, only Kayla's message (pushed into a wall, scared to go home) is a
    `disclosure`; no plain complaint, thank-you or chat is."""
    from triage.classifier import load_classifier

    clf = load_classifier()
    levels = {str(d["body"])[:40]: clf.classify(str(d["body"])).safeguarding_level for d in DEMO}
    levels.update({chat[0][:40]: clf.classify("\n".join(chat)).safeguarding_level for chat in DEMO_CHATS})
    urgent = [start for start, level in levels.items() if level == "disclosure"]
    assert urgent == ["my foster carers boyfriend shouts at me "]
