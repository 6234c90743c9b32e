"""Real Chromium (the Debian package, driven by Playwright) against the real app served by
uvicorn on a free loopback port, on a fresh SQLite database per test."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.engine import Engine

from models.enums import OfficerRole
from tests.helpers import free_port
from tests.web_helpers import PASSWORD, Now, add, code_for, make_app

CHROMIUM = os.environ.get("HEARD_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--no-first-run",
        "--disable-component-update", "--disable-sync"]


def missing(why: str) -> None:
    """A machine without the browser tools skips these tests; CI (which installs them) fails."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]  # per module: Playwright's sync API holds a running event loop
    if not Path(CHROMIUM).exists():
        missing(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@dataclass
class Live:
    url: str
    engine: Engine
    now: Now


@pytest.fixture
def live(sqlite_engine: Engine) -> Iterator[Live]:
    """The app on http://127.0.0.1:PORT with a database of its own."""
    now = Now()
    with serving(make_app(sqlite_engine, now)) as url:
        yield Live(url, sqlite_engine, now)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """An ASGI app on a free loopback port, in a thread, for the browser to reach."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def sign_in(page, live: Live, name: str = "olu", role: OfficerRole = OfficerRole.officer) -> None:  # type: ignore[no-untyped-def]
    add(live.engine, name, role)
    page.goto(f"{live.url}/")
    assert "/signin" in page.url
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if role is not OfficerRole.officer:  # managers and admins give their authenticator app's code
        page.wait_for_url(f"{live.url}/signin/code**")
        page.get_by_label("Code").fill(code_for(name, live.now()))
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live.url}/")
