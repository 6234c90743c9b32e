"""No 500s, anywhere: hostile values in every form, link and API call get a 4xx (or are
handled), never an Internal Server Error.

Slow tests (`make test` and CI run them; `make test-fast` does not):

* a walker signs in (as an admin, and as an officer), visits every page the navigation
  reaches, the sign-in form and the case pages of a few seeded cases, finds every HTML form,
  and submits hostile values (`²`, 30 digits, 2⁶³−1, `1e308`, `inf`, a NUL, 10,000
  characters, ids that do not exist, …) in each field in turn with a valid CSRF token; the
  numbers in links and form addresses, and the parameters of links, get the same treatment;
* the same for the public web chat's form and polling, which must also keep the words;
* Schemathesis generates requests from the OpenAPI description (`app.openapi()`; the app
  publishes none) and sends them signed in.

Run them alone with `python -m pytest -m slow tests/test_web_fuzz.py`; set
HEARD_FUZZ_EXAMPLES to try more Schemathesis examples per operation than the default.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Message, Team, session_scope
from models.enums import Channel, Direction, Kind, OfficerRole, Reason, Role, SafeguardingLevel
from tests.web_helpers import client, make_app, open_case, sign_in
from triage.intake import Suggestion

pytestmark = pytest.mark.slow

HOSTILE = [
    "²", "9" * 30, str(2**63 - 1), str(2**31), "-1", "0", "1e308", "1e20", "inf", "nan", "", "x" * 10_000,
    "\u202e", "<script>alert(1)</script>", "a\x00b", "0001-01-01", "9999-12-31", "999999", "CSC-2026-99999",
]
NUMBERED = re.compile(r"/(\d+|CSC-\d{4}-\d{5})(?=/|$)")  # a path segment that names a record
COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8, reasons=[Reason.communication], role=Role.parent_or_family)
RECEIVED = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


@dataclass
class Form:
    method: str
    action: str
    fields: list[tuple[str, str | None]] = field(default_factory=list)  # None: a box or button not sent as it stands


class Forms(HTMLParser):
    """The forms and links of one page, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"])
        elif tag == "form":
            self.forms.append(Form(a.get("method", "get").upper(), a.get("action", "")))
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif not self.forms or "name" not in a:
            return
        elif tag == "input" and (a.get("type") not in ("checkbox", "radio") or "checked" in a):
            self.forms[-1].fields.append((a["name"], a.get("value", "")))
        elif tag in ("input", "button"):  # an unticked box or a button not pressed: a field all the same
            self.forms[-1].fields.append((a["name"], None))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            self.forms[-1].fields.append((self._textarea, self._text))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = next((v for v, selected in self._options if selected), self._options[0][0] if self._options else "")
            self.forms[-1].fields.append((self._select, chosen))
            self._select = None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def parse(html: str) -> Forms:
    found = Forms()
    found.feed(html)
    return found


def seed(engine: Engine, crowd: int = 0) -> list[str]:
    """A team, a colleague, and cases in different states: an email complaint, a disclosure,
    a web chat complaint, a compliment; `crowd` more make the queue run to a second page."""
    with session_scope(engine) as session:
        session.add(Team(name="Leaving Care"))
    sign_in(make_app(engine), engine, "colleague", OfficerRole.officer)
    for n in range(crowd):
        open_case(engine, f"Nobody answered my letter number {n}.", received=RECEIVED, sender=f"p{n}@example.org", suggestion=COMPLAINT)
    return [
        open_case(engine, "Nobody rang me back about contact.", received=RECEIVED, suggestion=COMPLAINT),
        open_case(engine, "He hits me when mum is out.", received=RECEIVED, sender="d@example.org",
                  suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.disclosure,
                                        signals=["disclosure:hit_me"])),
        open_case(engine, "The taxi never came.", received=RECEIVED, sender="web-1", channel=Channel.webchat, suggestion=COMPLAINT),
        open_case(engine, "Thank you Amira!", received=RECEIVED, sender="c@example.org",
                  suggestion=Suggestion(kind=Kind.compliment, confidence=0.9)),
    ]


@dataclass
class Walk:
    """Requests sent and what came back wrong."""

    client: object
    failures: list[str] = field(default_factory=list)
    sent: int = 0

    def send(self, method: str, url: str, data: list[tuple[str, str]] | None = None) -> int:
        self.sent += 1
        try:
            if method == "GET":
                response = self.client.get(url, params=data)  # type: ignore[attr-defined]
            else:
                response = self.client.request(method, url, data=dict_of(data or []))  # type: ignore[attr-defined]
        except Exception as exc:  # the test client re-raises what the app did not handle
            self.failures.append(f"{method} {url[:120]} {short(data)}: {type(exc).__name__}: {str(exc)[:200]}")
            return 500
        if response.status_code >= 500:
            self.failures.append(f"{method} {url[:120]} {short(data)}: {response.status_code} {response.text[:200]}")
        return response.status_code


def dict_of(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for name, value in pairs:
        if name in out:
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = value
    return out


def short(data: list[tuple[str, str]] | None) -> str:
    return repr([(k, v[:30]) for k, v in (data or []) if k != "csrf_token"])[:200]


def pages(walk: Walk, references: list[str]) -> Iterator[tuple[str, Forms]]:
    """Every page reachable from the navigation (and the links on those), the sign-in form, and
    the seeded cases' pages."""
    todo = ["/", "/signin?next=/queue", *(f"/cases/{r}" for r in references)]
    seen: set[str] = set()
    while todo:
        path = todo.pop(0)
        if path in seen or len(seen) > 40:
            continue
        seen.add(path)
        response = walk.client.get(path)  # type: ignore[attr-defined]
        assert response.status_code == 200, f"{path}: {response.status_code}"
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        found = parse(response.text)
        yield path, found
        for link in found.links:
            target = link.split("#")[0]
            if target.startswith("/cases/") and not any(r in target for r in references):
                continue  # the queue lists every case; a few are enough
            if target.startswith("/reports/"):
                continue  # the report's downloads: the OpenAPI sweep covers them
            todo.append(target)


def last(form: Form) -> bool:
    """Forms that end what the others act on (closing, merging) go last."""
    return form.action.endswith(("/close", "/merge"))


def hostile_forms(walk: Walk, found: Forms, done: set[tuple[str, str, tuple[str, ...]]]) -> None:
    for form in sorted(found.forms, key=last):
        if form.action in ("/signout", "/account/signout-everywhere"):
            continue  # they would end the walk's own session
        if form.action.endswith(("/end-sessions", "/reset-second-factor")):
            for path in hostile_paths(form.action):  # the walker may be the officer named: only impossible ids
                walk.send(form.method, path, [(n, v) for n, v in form.fields if v is not None])  # type: ignore[misc]
            continue
        shape = (form.method, NUMBERED.sub("/N", form.action), tuple(sorted(n for n, _ in form.fields)))
        if shape in done:  # the same form on the next case page: same fields, same checks
            continue
        done.add(shape)
        baseline = [(n, v) for n, v in form.fields if v is not None]  # type: ignore[misc]
        names = list(dict.fromkeys(n for n, _ in form.fields if n != "csrf_token"))
        for name in names:
            for value in HOSTILE:
                data = [(n, v) for n, v in baseline if n != name] + [(name, value)]
                walk.send(form.method, form.action or "/", data)
        for path in hostile_paths(form.action):
            walk.send(form.method, path, baseline)


def hostile_paths(path: str) -> Iterator[str]:
    """The path with each record-naming segment replaced by each hostile value."""
    for match in NUMBERED.finditer(path):
        for value in HOSTILE:
            if value:
                yield path[: match.start(1)] + quote(value[:200], safe="") + path[match.end(1):]


def hostile_queries(walk: Walk, link: str) -> None:
    """Each parameter of a link (`?page=2`, `?review=all`) with each hostile value."""
    parts = urlsplit(link)
    params = parse_qsl(parts.query, keep_blank_values=True)
    for name in dict.fromkeys(n for n, _ in params):
        for value in HOSTILE:
            walk.send("GET", parts.path, [(n, v) for n, v in params if n != name] + [(name, value)])


def walk_as(engine: Engine, role: OfficerRole) -> Walk:
    references = seed(engine, crowd=50 if role is OfficerRole.admin else 0)
    app = make_app(engine)
    walk = Walk(sign_in(app, engine, f"walker-{role.value}", role))
    done: set[tuple[str, str, tuple[str, ...]]] = set()
    links: set[str] = set()
    for _path, found in pages(walk, references):
        hostile_forms(walk, found, done)
        links |= {link.split("#")[0] for link in found.links}
    for link in sorted(links):
        path = urlsplit(link).path
        if "/messages/" in path or (NUMBERED.search(path) and not path.startswith("/cases/")):
            for hostile in hostile_paths(path):
                walk.send("GET", hostile)
        if "?" in link and not path.startswith("/cases/"):
            hostile_queries(walk, link)
    assert walk.client.get("/").status_code == 200, "the walker was signed out on the way"  # type: ignore[attr-defined]
    return walk


@pytest.mark.parametrize("role", [OfficerRole.admin, OfficerRole.officer])
def test_hostile_values_in_every_form_get_no_5xx(engine: Engine, role: OfficerRole) -> None:
    started = time.monotonic()
    walk = walk_as(engine, role)
    assert walk.sent > 500, f"only {walk.sent} requests: the walker did not find the forms"
    assert not walk.failures, f"{len(walk.failures)} of {walk.sent} requests failed:\n" + "\n".join(walk.failures[:40])
    print(f"{role.value}: {walk.sent} hostile requests in {time.monotonic() - started:.1f} s")


def test_hostile_values_in_the_web_chat_get_no_5xx(engine: Engine) -> None:
    """The public chat, without a cookie and then with one: each field of its form, as the page
    posts it (a redirect) and as its script does (JSON), and the script's polling."""
    from bots.webchat import webchat_router
    from scheduler.policy import load_policy

    app = make_app(engine, public_routers=[webchat_router(engine, load_policy(None), pause_seconds=60)])
    walk = Walk(client(app))
    [chat] = [f for f in parse(walk.client.get("/chat").text).forms if f.action == "/chat"]  # type: ignore[attr-defined]
    names = list(dict.fromkeys(n for n, _ in chat.fields))
    assert {"text", "once", "after", "button"} <= set(names), names
    for n, (name, value) in enumerate((name, value) for name in names for value in HOSTILE):
        data = {"text": "Nobody rang me back.", "once": f"fuzz-{n}", "after": "0", name: value}
        for accept in ("application/json", "text/html"):
            walk.sent += 1
            response = walk.client.post("/chat", data=data, headers={"accept": accept})  # type: ignore[attr-defined]
            if response.status_code >= 500:
                walk.failures.append(f"POST /chat {name}={value[:30]!r} ({accept}): {response.status_code}")
    for value in HOSTILE:
        walk.send("GET", "/chat/messages", [("after", value)])
    assert not walk.failures, "\n".join(walk.failures[:40])
    with Session(engine) as session:  # and the words were kept, whatever came with them
        kept = session.exec(select(sa.func.count()).select_from(Message).where(Message.direction == Direction.inbound)).one()
    assert kept > len(HOSTILE) * 2, kept


def test_the_api_described_by_openapi_gives_no_5xx(sqlite_engine: Engine) -> None:
    """Schemathesis, positive and negative examples for every operation in the description, signed in."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    references = seed(sqlite_engine)
    app = make_app(sqlite_engine)
    signed = sign_in(app, sqlite_engine, "fuzzer", OfficerRole.admin)
    token = signed.get("/api/me").json()["csrf_token"]
    cookies = dict(signed.cookies.items())
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app  # requests go to the app in this process
    examples = int(os.environ.get("HEARD_FUZZ_EXAMPLES", "25"))
    failures: list[str] = []
    seen: Counter[tuple[str, int]] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8, [op.label for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [operation.as_strategy(generation_mode=mode)]
            if "{reference}" in operation.path:  # also a case that exists, so the checks past the look-up run
                strategies.append(operation.as_strategy(generation_mode=mode, path_parameters={"reference": references[0]}))
            for strategy in strategies:

                # A report drawn as a page takes ~0.6 s (its charts); a few years are enough for those.
                drawn = mode is GenerationMode.POSITIVE and operation.path in ("/reports", "/reports/{year}.html")

                @settings(max_examples=min(examples, 5) if drawn else examples, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                @given(case=strategy)
                def call(case) -> None:  # type: ignore[no-untyped-def]
                    response = case.call(base_url="https://heard.test", headers={"X-CSRF-Token": token}, cookies=cookies)
                    seen[(operation.label, response.status_code)] += 1
                    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}\n{case.as_curl_command()}"

                try:
                    call()
                except Unsatisfiable:  # no parameters to get wrong (negative mode on GET /api/me)
                    continue
                except Exception as exc:  # collected, so one run names every operation that fails
                    failures.append(f"{operation.label} ({mode.value}): {str(exc)[:600]}")
    print(f"{sum(seen.values())} generated requests: {dict(sorted(seen.items()))}")
    assert signed.get("/api/me").status_code == 200
    assert not failures, "\n\n".join(failures)
