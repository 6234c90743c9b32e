"""`heard check` as an operator runs it: a real process, a real relay (aiosmtpd), the fake Bot API
server on loopback, real databases; one line per check and an exit status a script can read."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from models.migrate import head, upgrade
from tests.helpers import free_port, run_heard
from tests.telegram_fake import TOKEN, FakeBotAPI

USER, PASSWORD = "heard", "relay-password-1"


def lines(stdout: str) -> dict[str, tuple[str, str]]:
    """{check: (status, detail)} from `heard check`'s output."""
    found = {}
    for line in stdout.splitlines():
        if m := re.match(r"(ok|FAIL|skip)\s+(settings|policy|database|relay|telegram|secret key|web)\s+(.*)", line):
            found[m[2]] = (m[1], m[3])
    return found


@pytest.fixture
def migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'heard.db'}"
    upgrade(url)
    return url


class Sink:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.received.append(envelope.content)
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def relay() -> Iterator[tuple[int, Sink]]:
    """A relay that offers AUTH (over plain text, being on loopback) and no STARTTLS."""
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, authenticator=_authenticate, auth_require_tls=False)
    controller.start()
    yield port, sink
    controller.stop()


@pytest.fixture
def telegram() -> Iterator[FakeBotAPI]:
    """The fake Bot API server, knowing only TOKEN, on its own event loop in a thread."""
    api, loop = FakeBotAPI(only_token=TOKEN), asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(api.start(free_port()), loop).result(10)
    yield api
    asyncio.run_coroutine_threadsafe(api.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_everything_configured_and_working_is_one_ok_line_each_and_exit_0(migrated: str, relay, telegram: FakeBotAPI) -> None:  # type: ignore[no-untyped-def]
    port, sink = relay
    result = run_heard("check", database_url=migrated, relay_host="127.0.0.1", relay_port=str(port), relay_starttls="false",
                       relay_username=USER, relay_password=PASSWORD, telegram_token=TOKEN, telegram_api_base=telegram.url,
                       secret_key="k" * 32)
    assert result.returncode == 0, result.stdout + result.stderr
    found = lines(result.stdout)
    assert {name: status for name, (status, _) in found.items()} == {
        "settings": "ok", "policy": "ok", "database": "ok", "relay": "ok", "telegram": "ok", "secret key": "ok", "web": "ok"}
    assert found["database"][1] == f"{migrated} reachable, migrations current ({head()})"
    assert found["relay"][1] == f"127.0.0.1:{port}: EHLO answered, AUTH as {USER} accepted; QUIT (nothing sent)"
    assert "the bot is @heard_test_bot (id 123456)" in found["telegram"][1]
    assert [c.method for c in telegram.calls] == ["getMe"]
    assert sink.received == []  # a check never sends mail
    assert "relay-password-1" not in result.stdout and TOKEN not in result.stdout  # names of settings, never secrets
    assert result.stdout.splitlines()[-1] == "all 7 checks passed"


def test_what_is_not_configured_is_skipped_and_does_not_fail(migrated: str) -> None:
    result = run_heard("check", database_url=migrated)
    assert result.returncode == 0, result.stdout + result.stderr
    found = lines(result.stdout)
    assert found["relay"] == ("skip", "no HEARD_RELAY_HOST: mail out waits in the outbox")
    assert found["telegram"] == ("skip", "no HEARD_TELEGRAM_TOKEN: the bot does not run")
    assert result.stdout.splitlines()[-1] == "all 5 checks passed (2 skipped: not configured)"


def test_a_relay_that_refuses_the_password_fails_naming_the_answer(migrated: str, relay) -> None:  # type: ignore[no-untyped-def]
    port, sink = relay
    result = run_heard("check", database_url=migrated, relay_host="127.0.0.1", relay_port=str(port), relay_starttls="false",
                       relay_username=USER, relay_password="wrong")
    assert result.returncode == 1
    status, detail = lines(result.stdout)["relay"]
    assert status == "FAIL"
    assert detail.startswith(f"127.0.0.1:{port}: AUTH as {USER} refused: 535")
    assert "Error: 1 of 7 checks failed: relay" in result.stderr
    assert sink.received == []


def test_a_relay_without_starttls_fails_when_starttls_is_wanted(migrated: str, relay) -> None:  # type: ignore[no-untyped-def]
    port, _ = relay
    result = run_heard("check", database_url=migrated, relay_host="127.0.0.1", relay_port=str(port))  # STARTTLS is the default
    assert result.returncode == 1
    status, detail = lines(result.stdout)["relay"]
    assert (status, detail.startswith(f"127.0.0.1:{port}: ")) == ("FAIL", True)
    assert "STARTTLS" in detail


def test_a_relay_that_is_down_fails_with_connection_refused(migrated: str) -> None:
    port = free_port()  # nothing listens there
    result = run_heard("check", database_url=migrated, relay_host="127.0.0.1", relay_port=str(port))
    assert result.returncode == 1
    assert lines(result.stdout)["relay"] == ("FAIL", f"127.0.0.1:{port}: connection refused")
    assert "Traceback" not in result.stderr


def test_a_token_telegram_refuses_fails_and_says_which_setting(migrated: str, telegram: FakeBotAPI) -> None:
    result = run_heard("check", database_url=migrated, telegram_token="999:not-our-token", telegram_api_base=telegram.url)
    assert result.returncode == 1
    assert lines(result.stdout)["telegram"] == (
        "FAIL", f"{telegram.url} refused the token (401 Unauthorized): check HEARD_TELEGRAM_TOKEN")


def test_an_unmigrated_database_fails_and_says_to_upgrade(tmp_path: Path) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "old.db").close()
    url = f"sqlite:///{tmp_path / 'old.db'}"
    result = run_heard("check", database_url=url)
    assert result.returncode == 1
    assert lines(result.stdout)["database"] == (
        "FAIL", f"{url} reachable, but not migrated (this Heard needs {head()}): run `heard db upgrade`")


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'heard.db'}"
    result = run_heard("check", database_url=url)
    assert result.returncode == 1
    assert lines(result.stdout)["database"][1].endswith("run `heard db upgrade` to create it")
    assert not (tmp_path / "var").exists()


def test_a_database_behind_the_code_says_how_far(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    upgrade(url, "0012")
    result = run_heard("check", database_url=url)
    assert lines(result.stdout)["database"] == ("FAIL", f"{url} reachable, at revision 0012, behind {head()}: run `heard db upgrade`")


def test_postgresql_on_the_wrong_port_fails_with_the_servers_words() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/heard"
    result = run_heard("check", database_url=url)
    assert result.returncode == 1
    status, detail = lines(result.stdout)["database"]
    assert status == "FAIL"
    assert detail.startswith(f"cannot reach the database at {url}: ")
    assert "Connection refused" in detail


@pytest.mark.postgres
def test_a_migrated_postgresql_database_is_ok(postgres_url: str) -> None:
    upgrade(postgres_url)
    result = run_heard("check", database_url=postgres_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(result.stdout)["database"] == ("ok", f"{postgres_url} reachable, migrations current ({head()})")


def test_a_bad_policy_file_fails_in_the_words_serve_uses_and_exits_2(migrated: str) -> None:
    result = run_heard("check", database_url=migrated, policy_file="tests/data/bad_policy.toml")
    assert result.returncode == 2
    assert lines(result.stdout)["policy"] == (
        "FAIL", "tests/data/bad_policy.toml: statutory: stage_2_extended (20) must be at least stage_2 (25)")
    assert lines(result.stdout)["database"][0] == "ok"  # the other checks still ran
    serve = run_heard("serve", database_url=migrated, policy_file="tests/data/bad_policy.toml")
    assert serve.returncode == 2
    assert "policy: tests/data/bad_policy.toml: statutory: stage_2_extended (20) must be at least stage_2 (25)" in serve.stderr


def test_a_bad_setting_is_the_one_line_serve_would_give_and_exits_2() -> None:
    result = run_heard("check", smtp_port="0")
    assert result.returncode == 2
    assert result.stdout.splitlines() == ["FAIL  settings    HEARD_SMTP_PORT: Input should be greater than or equal to 1"]
    assert "nothing else was checked" in result.stderr


def test_secure_cookies_behind_a_plain_http_address_fail(migrated: str) -> None:
    result = run_heard("check", database_url=migrated, public_url="http://heard.example.gov.uk")
    assert result.returncode == 1
    status, detail = lines(result.stdout)["web"]
    assert status == "FAIL" and "browsers will not keep the sign-in cookie" in detail
    fine = run_heard("check", database_url=migrated, public_url="http://heard.example.gov.uk", web_secure_cookies="false")
    assert lines(fine.stdout)["web"][0] == "ok"


def test_a_secret_key_too_short_for_the_web_app_fails(migrated: str) -> None:
    result = run_heard("check", database_url=migrated, secret_key="short")
    assert lines(result.stdout)["secret key"] == ("FAIL", "HEARD_SECRET_KEY is 5 characters; the web app needs at least 16")
