"""/metrics: what an operator's Prometheus reads. Real mail through a real SMTP intake, a real
relay refusing, a real sweep, a real email worker process; the answer is parsed with
prometheus_client's own parser, as Prometheus would read it."""

from __future__ import annotations

import asyncio
import smtplib
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bots.email import worker as email_worker
from bots.email.processor import EmailProcessor
from bots.email.server import IntakeHandler, smtp_factory
from models import Heartbeat, Message, OutboxItem
from models.enums import MessageState, OfficerRole, OutboxStatus
from scheduler.clock import Clock
from scheduler.policy import load_policy
from scheduler.runner import SweepClock
from tests.helpers import free_port
from tests.mailserver import OURS
from tests.test_email_intake import email
from tests.test_email_resilience import Sink, outbox_item, relayed
from tests.web_helpers import Now, client, make_app, sign_in

TOKEN = "scrape-me-" + "x" * 30
LONDON = ZoneInfo("Europe/London")


def scrape(c, **headers: str) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """name → its samples, parsed as Prometheus parses them."""
    response = c.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def value(figures: dict[str, list], family: str, sample: str | None = None, **labels: str) -> float | None:
    for s in figures.get(family, []):
        if s.name == (sample or family) and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


@pytest.fixture
def app(engine: Engine):  # type: ignore[no-untyped-def]
    return make_app(engine, now=Now(datetime.now(UTC)), metrics_token=TOKEN)


class Intake:
    """The SMTP intake alone (no worker), so what it stored waits, as it does when the worker is behind."""

    def __init__(self, engine: Engine, max_bytes: int = 64 * 1024) -> None:
        self.loop, self.port = asyncio.new_event_loop(), free_port()
        self.handler = IntakeHandler(engine, [OURS], on_stored=lambda _id: None)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        factory = smtp_factory(self.handler, hostname="heard.test", max_bytes=max_bytes, tls=None)

        async def up() -> None:
            self.server = await self.loop.create_server(factory, "127.0.0.1", self.port)

        asyncio.run_coroutine_threadsafe(up(), self.loop).result(10)

    def send(self, raw: bytes, to: str = OURS) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
            smtp.sendmail("parent@example.org", [to], raw)

    def close(self) -> None:
        async def down() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(down(), self.loop).result(10)
        self.handler.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def intake(engine: Engine) -> Iterator[Intake]:
    running = Intake(engine)
    yield running
    running.close()


def test_nobody_gets_metrics_without_an_admin_session_or_the_token(app, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    stranger = client(app)
    response = stranger.get("/metrics")
    assert response.status_code == 401 and "heard_" not in response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert stranger.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert stranger.get("/metrics", headers={"authorization": f"Basic {TOKEN}"}).status_code == 401
    officer = sign_in(app, engine, "olu", OfficerRole.officer)
    assert officer.get("/metrics").status_code == 403
    manager = sign_in(app, engine, "mo", OfficerRole.manager)
    assert manager.get("/metrics").status_code == 403

    admin = sign_in(app, engine, "ada", OfficerRole.admin)
    assert value(scrape(admin), "heard_database_up") == 1
    assert value(scrape(client(app), authorization=f"Bearer {TOKEN}"), "heard_database_up") == 1


def test_without_a_token_set_only_an_admin_session_opens_it(engine: Engine) -> None:
    app = make_app(engine, now=Now(datetime.now(UTC)))
    assert client(app).get("/metrics", headers={"authorization": "Bearer "}).status_code == 401
    assert value(scrape(sign_in(app, engine, "ada", OfficerRole.admin)), "heard_database_up") == 1


def test_mail_taken_in_and_refused_over_smtp_moves_the_counters_and_the_backlog(app, engine: Engine, intake: Intake) -> None:  # type: ignore[no-untyped-def]
    bearer = {"authorization": f"Bearer {TOKEN}"}
    c = client(app)
    before = scrape(c, **bearer)
    assert value(before, "heard_messages_stored", channel="email") == 0
    assert value(before, "heard_messages_stored_oldest_seconds", channel="email") == 0

    intake.send(email("Nobody rang me back about contact.", sender="a@example.org"))
    intake.send(email("The review meeting was cancelled twice.", sender="b@example.org"))
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        intake.send(email("wrong door"), to="someone-else@council.example")
    with pytest.raises(smtplib.SMTPException):
        intake.send(email("x" * 200_000))
    app.state.web.now = lambda: datetime.now(UTC) + timedelta(minutes=5)  # five minutes on, nothing read yet

    after = scrape(c, **bearer)
    accepted = "heard_representations_accepted", "heard_representations_accepted_total"
    refused = "heard_representations_refused", "heard_representations_refused_total"
    assert value(after, *accepted, channel="email") - (value(before, *accepted, channel="email") or 0) == 2
    for reason in ("unknown_address", "too_big"):
        assert value(after, *refused, channel="email", reason=reason) - (
            value(before, *refused, channel="email", reason=reason) or 0) == 1
    assert value(after, "heard_messages_stored", channel="email") == 2
    assert 290 < value(after, "heard_messages_stored_oldest_seconds", channel="email") < 400

    processor = EmailProcessor(engine, Clock(load_policy()), LONDON, [OURS])
    while processor.process_next():
        pass
    read = scrape(c, **bearer)
    assert value(read, "heard_messages_stored", channel="email") == 0
    assert value(read, "heard_messages_stored_oldest_seconds", channel="email") == 0
    assert value(read, "heard_outbox_items", channel="email", status="pending") == 2  # the two acknowledgements


def test_an_outbox_item_the_relay_refuses_shows_as_failed(app, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    item_id = outbox_item(engine)
    c = sign_in(app, engine, "ada", OfficerRole.admin)
    app.state.web.now = lambda: datetime.now(UTC) + timedelta(hours=2)
    waiting = scrape(c)
    assert value(waiting, "heard_outbox_items", channel="email", status="pending") == 1
    assert value(waiting, "heard_outbox_items", channel="email", status="failed") == 0
    assert 7100 < value(waiting, "heard_outbox_oldest_unsent_seconds", channel="email") < 7300

    sender, controller = relayed(Sink("550 5.1.1 no such user"), engine)
    try:
        asyncio.run(sender.send_due())
    finally:
        controller.stop()
    with Session(engine) as session:
        assert session.get_one(OutboxItem, item_id).status == OutboxStatus.failed
    failed = scrape(c)
    assert value(failed, "heard_outbox_items", channel="email", status="failed") == 1
    assert value(failed, "heard_outbox_items", channel="email", status="pending") == 0
    assert value(failed, "heard_outbox_oldest_unsent_seconds", channel="email") == 0


def test_a_sweep_sets_the_last_sweep_figures(app, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    c = client(app)
    bearer = {"authorization": f"Bearer {TOKEN}"}
    assert value(scrape(c, **bearer), "heard_sweep_last_timestamp_seconds") is None  # never swept: no figure, not a zero

    began = datetime.now(UTC).replace(microsecond=0)
    SweepClock(engine, Clock(load_policy()), LONDON, 30, now=lambda: began).sweep()  # what the scheduler runs
    figures = scrape(c, **bearer)
    assert value(figures, "heard_sweep_last_timestamp_seconds") == began.timestamp()
    assert 0 < value(figures, "heard_sweep_last_duration_seconds") < 30
    assert value(figures, "heard_heartbeat_live_processes", part="scheduler") == 1


def test_web_requests_are_timed_by_route_not_by_path(app, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    c = client(app)
    for reference in ("CSC-2026-00001", "CSC-2026-00002"):
        c.get(f"/cases/{reference}")  # sent to sign in: timed all the same
    c.get("/no/such/page")
    figures = scrape(c, authorization=f"Bearer {TOKEN}")
    routes = {s.labels["route"] for s in figures["heard_web_request_seconds"] if s.name.endswith("_count")}
    assert "/cases/{reference}" in routes and "unmatched" in routes
    assert not any("CSC-2026" in route for route in routes)
    assert value(figures, "heard_web_request_seconds", "heard_web_request_seconds_count",
                 route="/cases/{reference}", method="GET", status="303") >= 2


def test_the_email_workers_classifier_time_and_heartbeat_reach_the_serving_process(engine: Engine, intake: Intake) -> None:
    from triage.timed import CLASSIFIER_SECONDS

    def classified() -> float:
        return next(s.value for m in CLASSIFIER_SECONDS.collect() for s in m.samples if s.name.endswith("_count"))

    before = classified()
    for n in range(3):
        intake.send(email(f"My social worker keeps changing, this is number {n}.", sender=f"p{n}@example.org"))
    config = email_worker.WorkerConfig(engine.url.render_as_string(hide_password=False), None, "Europe/London", (OURS,),
                                       1024 * 1024, poll_seconds=0.05)
    process = email_worker.start(config)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with Session(engine) as session:
                if session.exec(select(Message.id).where(Message.state == MessageState.stored)).first() is None:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("the worker never read the mail")
        with Session(engine) as session:
            beats = session.exec(select(Heartbeat).where(Heartbeat.part == "email")).all()
        assert [b.pid for b in beats] == [process.pid]
    finally:
        email_worker.stop(process)
    assert classified() - before == 3


def test_a_process_without_the_web_app_serves_its_own_figures_on_loopback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from tests.helpers import ROOT, heard_env, run_heard

    url = f"sqlite:///{tmp_path / 'heard.db'}"
    assert run_heard("db", "upgrade", database_url=url).returncode == 0
    metrics_port, smtp_port = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-m", "heard", "serve", "--only", "email"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env=heard_env(database_url=url, smtp_port=str(smtp_port), metrics_port=str(metrics_port)))
    try:
        assert proc.stdout is not None
        seen = ""
        while "Press Ctrl-C" not in seen:
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        assert f"http://127.0.0.1:{metrics_port}/metrics" in seen
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp, pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail("parent@example.org", ["nobody@elsewhere.example"], email("wrong door"))
        text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
        figures = {f.name: f.samples for f in text_string_to_metric_families(text)}
        assert value(figures, "heard_representations_refused", "heard_representations_refused_total",
                     channel="email", reason="unknown_address") == 1
        assert "heard_messages_stored" not in figures  # the database's figures are the web app's to serve
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_web_chat_posts_are_counted_once_each_on_the_web_app(engine: Engine) -> None:
    from bots.webchat import webchat_router
    from tests.chat_helpers import rules

    chat = webchat_router(engine, load_policy(), zone=LONDON, classify=rules, pause_seconds=60, secure_cookies=False)
    app = make_app(engine, now=Now(datetime.now(UTC)), metrics_token=TOKEN, public_routers=[chat])
    c, bearer = client(app), {"authorization": f"Bearer {TOKEN}"}
    accepted = "heard_representations_accepted", "heard_representations_accepted_total"
    before = value(scrape(c, **bearer), *accepted, channel="webchat") or 0
    for once in ("a", "a", "b"):  # the same form sent twice is one message
        response = c.post("/chat", data={"text": "nobody came to my review meeting", "once": once},
                          headers={"accept": "application/json", "origin": "https://heard.test"})
        assert response.status_code == 200, response.text
    assert value(scrape(c, **bearer), *accepted, channel="webchat") - before == 2


def test_with_the_database_down_the_scrape_says_so_and_still_gives_this_process_figures(app) -> None:  # type: ignore[no-untyped-def]
    from models import make_engine

    app.state.web.engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere")
    figures = scrape(client(app), authorization=f"Bearer {TOKEN}")
    assert value(figures, "heard_database_up") == 0
    assert "heard_messages_stored" not in figures and "heard_web_request_seconds" in figures


async def test_telegram_messages_taken_in_and_a_group_chat_refused_are_counted(engine: Engine) -> None:
    from bots.conversation import wording
    from tests.telegram_fake import FakeBotAPI
    from tests.test_telegram import service
    from triage.figures import ACCEPTED, REFUSED

    def counted() -> tuple[float, float]:
        return ACCEPTED.labels("telegram")._value.get(), REFUSED.labels("telegram", "group_chat")._value.get()

    accepted, refused = counted()
    fake = FakeBotAPI()
    await fake.start(free_port())
    bot = service(engine, fake)
    await bot.start()
    try:
        fake.text(5550001, "Nobody rang me back about contact")
        fake.text(-100200, "Nobody rang me back", chat_type="supergroup")
        await fake.wait_for(lambda: wording.GROUP_REFUSAL in fake.texts_to(-100200) and fake.texts_to(5550001))
    finally:
        await bot.stop()
        await fake.stop()
    assert counted() == (accepted + 2, refused + 1)  # the group's message is stored (raw first), then refused
