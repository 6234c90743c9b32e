"""The soak test: Heard split into its parts, each its own process on one PostgreSQL, under
mail, web chats and Telegram updates at once, each process killed (kill -9) once mid-traffic
and started again. Afterwards every message is in exactly one case, every acknowledgement and
reminder went out exactly once, and nothing is left waiting.

The split is the one an operator runs: two web apps on two ports (a browser fails over from
one to the other), one email intake with two workers, two schedulers, the Telegram bot in
webhook mode, and web chat delivery. Reminders are days away, so once traffic has stopped
`heard sweep --now …` runs at each day a reminder falls, two at a time, racing each other
and the two schedulers.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time as clock_time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.webchat.router import address_of
from models import make_engine
from models.migrate import upgrade
from scheduler.chase import RESPONSES, due_now
from scheduler.clock import Clock
from scheduler.policy import load_policy
from tests.conftest import POSTGRES_URL, _postgres_database
from tests.helpers import free_port
from tests.soak_helpers import (
    Browser, MailClient, MailSink, Part, Telegram, complaint, every_until, heard, run_heard,
)
from tests.telegram_fake import TOKEN

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OURS = "complaints@council.example"
SECRET = "soak-webhook-secret-0123456789"
ZONE = ZoneInfo("Europe/London")
REFERENCE = re.compile(r"CSC-\d{4}-\d{5}")
EVERY = {"email": 2.5, "reply": 10.0, "web chat": 4.0, "telegram chat": 4.0}  # seconds between new ones, on average

STORIES = [
    ("parent", "My son's social worker has not rung me back for three weeks about his contact with his dad. Nobody answers."),
    ("parent", "The taxi to my daughter's contact sessions has been late four times this month and she missed them."),
    ("young", "I am 14 and in foster care. My social worker never visits me and nobody listens to what I want."),
    ("parent", "We were told the assessment would be finished in October and we have still heard nothing at all."),
    ("young", "I'm in care and they moved me to a new placement without asking me. I miss my school and my friends."),
    ("parent", "The review meeting was cancelled again without telling us and my child's plan is out of date."),
    ("carer", "As his foster carer I have asked for the allowance to be sorted for two months and had no answer."),
    ("young", "I left care last year and my personal adviser stopped replying to me. I have no help with my flat."),
]


def story(n: int) -> str:
    who, words = STORIES[n % len(STORIES)]
    return f"{words} (soak {n})"


@pytest.fixture
def database() -> Any:
    if not POSTGRES_URL:
        pytest.skip("set HEARD_TEST_POSTGRES_URL to run the soak test (it needs PostgreSQL)")
    yield from _postgres_database()


def test_every_part_killed_once_mid_traffic_loses_nothing_and_sends_nothing_twice(database: str) -> None:
    upgrade(database)
    engine = make_engine(database)
    sink = MailSink().start()
    telegram = Telegram().start()
    web_ports = [free_port(), free_port()]
    hook_port, smtp_port = free_port(), free_port()
    common = dict(complaint_addresses=OURS, relay_host="127.0.0.1", relay_port=str(sink.port), relay_starttls="false",
                  sweep_interval_seconds="2", chat_pause_seconds="600", web_secure_cookies="false",
                  secret_key="soak-secret-key-for-the-web-app", telegram_token=TOKEN, telegram_api_base=telegram.api.url,
                  telegram_mode="webhook", telegram_webhook_url="https://heard.example/telegram/webhook",
                  telegram_webhook_secret=SECRET, telegram_webhook_port=str(hook_port), smtp_port=str(smtp_port),
                  email_workers="2")
    parts = [
        Part("web 1", "web", heard(database, **{**common, "web_port": str(web_ports[0])})),
        Part("email", "email", heard(database, **common)),
        Part("telegram", "telegram", heard(database, **common)),
        Part("scheduler 1", "scheduler", heard(database, **common)),
        Part("web 2", "web", heard(database, **{**common, "web_port": str(web_ports[1])})),
        Part("web chat", "webchat", heard(database, **common)),
        Part("scheduler 2", "scheduler", heard(database, **common)),
    ]
    try:
        for part in parts:
            part.start()
        for part in parts:
            part.wait_ready(180)
        began = time.monotonic()
        print(f"\nsoak: {len(parts)} parts ready")
        traffic = Traffic(web_ports, smtp_port, hook_port, telegram, sink, engine)
        traffic.run(parts)
        print(f"soak: traffic done in {time.monotonic() - began:.0f} s; kills at {[(p, round(t)) for p, t in traffic.kills]}; "
              f"retries: smtp {traffic.mail.retries}, telegram {telegram.resent}, web {sum(b.retries for b in traffic.browsers)}")
        settle(engine, parts)
        print(f"soak: settled at {time.monotonic() - began:.0f} s")
        swept = sweep_the_days_reminders_fall(engine, database)
        print(f"soak: {len(swept)} days swept twice over by {time.monotonic() - began:.0f} s")
        settle(engine, parts)
        check(engine, traffic, sink, telegram, swept, parts)
        verified = run_heard(heard(database), "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    except BaseException:
        for part in parts:
            print(f"===== {part.label} =====\n{part.tail(150)}")
        raise
    finally:
        codes = {part.label: part.stop() for part in parts}
        telegram.stop()
        sink.stop()
        engine.dispose()
    assert all(code == 0 for code in codes.values()), codes


class Traffic:
    """Mail, web chats and Telegram chats at once, from before the first kill until after the
    last; each part killed once, one at a time, and started again."""

    def __init__(self, web_ports: list[int], smtp_port: int, hook_port: int, telegram: Telegram, sink: MailSink,
                 engine: Engine) -> None:
        self.mail = MailClient(smtp_port, OURS)
        self.webhook = f"http://127.0.0.1:{hook_port}/telegram/webhook"
        self.telegram, self.sink, self.engine, self.web_ports = telegram, sink, engine, web_ports
        self.emails: dict[str, tuple[str, str]] = {}  # Message-ID → (sender, the Message-ID it answers, or "")
        self.browsers: list[Browser] = []
        self.chats: dict[int, list[int]] = {}  # Telegram chat id → update ids taken
        self.kills: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        self.done = threading.Event()

    def run(self, parts: list[Part]) -> None:
        start = time.monotonic()
        deadline = start + 600
        killer = threading.Thread(target=self._kill_each_once, args=(parts, start), daemon=True)
        killer.start()
        kinds = [(self._email, EVERY["email"]), (self._reply, EVERY["reply"]), (self._web_chat, EVERY["web chat"]),
                 (self._telegram_chat, EVERY["telegram chat"])]
        with ThreadPoolExecutor(16) as pool:
            jobs = [pool.submit(self._keep_sending, pool, send, every, start, deadline) for send, every in kinds]
            killer.join(timeout=400)
            time.sleep(3)  # traffic goes on a little after the last part is back
            self.done.set()
            for job in jobs:
                for sent in job.result():
                    sent.result()
        assert not killer.is_alive(), "a killed part never came back"
        assert [label for label, _ in self.kills] == [p.label for p in parts], self.kills

    def _keep_sending(self, pool: ThreadPoolExecutor, send: Any, every: float, start: float, deadline: float) -> list[Any]:
        sent, n = [], 0
        while not self.done.is_set():
            sent.append(pool.submit(send, n, deadline))
            n += 1
            time.sleep(every * random.uniform(0.5, 1.5))
        return sent

    def _kill_each_once(self, parts: list[Part], start: float) -> None:
        """One at a time; each back (and some traffic through it) before the next goes."""
        for part in parts:
            time.sleep(random.uniform(4, 8))
            part.kill()
            self.kills.append((part.label, time.monotonic() - start))
            time.sleep(1.0)
            part.start()
            part.wait_ready(150)

    def _email(self, n: int, deadline: float) -> None:
        sender, message_id = f"parent{n}@example.org", f"<soak-{n}@example.org>"
        who = STORIES[n % len(STORIES)][0]
        self.mail.send(sender, complaint(sender, message_id, f"Complaint from a {who} ({n})", story(n)), deadline)
        with self.lock:
            self.emails[message_id] = (sender, "")

    def _reply(self, n: int, deadline: float) -> None:
        """A reply to an acknowledgement, threading onto its case by In-Reply-To."""
        sender = f"parent{n}@example.org"
        if not every_until(deadline, lambda: f"<soak-{n}@example.org>" in self.emails or self.done.is_set(),
                           f"{sender} never sent", pause=0.5) or f"<soak-{n}@example.org>" not in self.emails:
            return
        ack = every_until(deadline, lambda: self.sink.to(sender), f"{sender} never got an acknowledgement", pause=0.5)[0]
        message_id = f"<soak-reply-{n}@example.org>"
        raw = complaint(sender, message_id, f"Re: {ack.subject}", f"Thank you. One more thing for the record ({n}): it happened again today.",
                        in_reply_to=ack.message_id)
        self.mail.send(sender, raw, deadline)
        with self.lock:
            self.emails[message_id] = (sender, ack.message_id)

    def _web_chat(self, n: int, deadline: float) -> None:
        browser = Browser(self.web_ports, turn=n, n=n)
        with self.lock:
            self.browsers.append(browser)
        browser.say(story(1000 + n), f"story-{n}", deadline)
        time.sleep(random.uniform(0.2, 2))
        browser.say("that's everything", f"done-{n}", deadline)

    def _telegram_chat(self, n: int, deadline: float) -> None:
        chat_id = 7_000_000 + n
        for text in (story(2000 + n), "that's everything"):
            update = self.telegram.text_update(chat_id, text)
            self.telegram.deliver(self.webhook, SECRET, update, deadline)
            with self.lock:
                self.chats.setdefault(chat_id, []).append(update["update_id"])
            time.sleep(random.uniform(0.2, 2))


def waiting(engine: Engine) -> dict[str, int]:
    """What is still to do: stored messages, and outbox items not yet settled."""
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM message WHERE state = 'stored'")).scalar()
        outbox = conn.execute(sa.text("SELECT count(*) FROM outboxitem WHERE status IN ('pending', 'sending')")).scalar()
    return {"stored messages": int(stored or 0), "outbox items to send": int(outbox or 0)}


def unsettled(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT channel, purpose, status, attempts, next_attempt_at, now() AS db_now, last_error, count(*) FROM outboxitem "
            "WHERE status IN ('pending', 'sending') GROUP BY 1, 2, 3, 4, 5, 6, 7 LIMIT 20")))


def settle(engine: Engine, parts: list[Part]) -> None:
    """Wait for Heard to finish; the mail relay is sent to at about 4 messages a second."""
    timeout = 90 + waiting(engine)["outbox items to send"] / 3
    every_until(time.monotonic() + timeout, lambda: not any(waiting(engine).values()),
                "Heard never finished what it had taken in", pause=1.0, show=lambda: (waiting(engine), unsettled(engine)))
    time.sleep(3)  # a sweep or sender round in flight lands
    assert not any(waiting(engine).values()), waiting(engine)


def sweep_the_days_reminders_fall(engine: Engine, database: str) -> list[datetime]:
    """Each day a reminder or the first escalation falls, 10:00 local: two `heard sweep --now`
    processes at once, racing each other and the two schedulers."""
    calendar = Clock(load_policy()).calendar
    with engine.connect() as conn:
        dues = sorted({d for (d,) in conn.execute(sa.text(
            "SELECT DISTINCT due_on FROM deadline WHERE kind = ANY(:kinds)"), {"kinds": [k.value for k in RESPONSES]})})
    assert dues, "no response deadlines were opened"
    last = dues[-1]  # the first reminder of the earliest deadline; a later one and the first escalation of the latest
    days = sorted({calendar.subtract_working_days(dues[0], 3), calendar.subtract_working_days(last, 1), calendar.after(last, 1)})
    moments = [datetime.combine(day, clock_time(10, 0), ZONE) for day in days]
    env = heard(database)
    for moment in moments:
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda _: run_heard(env, "sweep", "--now", moment.isoformat()), range(2)))
        for result in results:
            assert result.returncode == 0, result.stdout + result.stderr
    # What those sweeps wrote is due on those days: the senders' clock moves on to them too.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE outboxitem SET next_attempt_at = now() WHERE status = 'pending' AND next_attempt_at > now()"))
    return moments


def check(engine: Engine, traffic: Traffic, sink: MailSink, telegram: Telegram, swept: list[datetime],
          parts: list[Part]) -> None:
    with engine.connect() as conn:
        def rows(sql: str, **params: Any) -> list[Any]:
            return list(conn.execute(sa.text(sql), params))

        # Nothing left unprocessed, nothing failed.
        assert rows("SELECT id, channel, error FROM message WHERE state IN ('stored', 'failed')") == []
        assert rows("SELECT id, idempotency_key, status, last_error FROM outboxitem WHERE status NOT IN ('sent', 'suppressed')") == []

        # Email: each Message-ID a client had a 250 for is stored once, in one case; originals
        # each open their own case, replies join the case of what they answer.
        inbound = rows("SELECT external_id, case_id, state FROM message WHERE channel = 'email' AND direction = 'inbound'")
        by_id = Counter(ext.strip("<>") for ext, _, _ in inbound)
        assert {k for k, n in by_id.items() if n > 1} == set()
        assert set(by_id) == {m.strip("<>") for m in traffic.emails}, "mail stored that no client sent, or sent mail lost"
        case_of = {ext.strip("<>"): case_id for ext, case_id, _ in inbound}
        assert all(case_of.values()), [k for k, v in case_of.items() if not v]
        originals = [m.strip("<>") for m, (_, parent) in traffic.emails.items() if not parent]
        assert len({case_of[m] for m in originals}) == len(originals)
        sent_ids = {ext.strip("<>"): case_id for ext, case_id in
                    rows("SELECT external_id, case_id FROM message WHERE channel = 'email' AND direction = 'outbound'")}
        for message_id, (_sender, parent) in traffic.emails.items():
            if parent:
                assert case_of[message_id.strip("<>")] == sent_ids[parent.strip("<>")], f"{message_id} did not join its case"

        # Every email outbox item reached the relay exactly once (by Message-ID); nothing else did.
        items = rows("SELECT id, purpose, recipient, provider_message_id, case_id FROM outboxitem WHERE channel = 'email'")
        arrived = Counter(m.message_id.strip("<>") for m in sink.mail)
        assert {k: n for k, n in arrived.items() if n > 1} == {}, "the relay got the same message twice"
        assert set(arrived) == {i.provider_message_id.strip("<>") for i in items}
        # One acknowledgement for each sender's case, to that sender; none for a reply.
        acks = Counter(i.recipient for i in items if i.purpose == "acknowledgement")
        senders = {sender for sender, parent in traffic.emails.values() if not parent}
        assert acks == Counter({sender: 1 for sender in senders}), acks
        assert all(len(sink.to(sender)) >= 1 for sender in senders)

        # Web chat: each browser is one chat, one contact, one case; each post stored once.
        addresses = {address_of(b.cookie) for b in traffic.browsers}
        assert len(addresses) == len(traffic.browsers) and all(b.cookie for b in traffic.browsers)
        contacts = rows("SELECT address FROM channelidentity WHERE channel = 'webchat'")
        assert {a for (a,) in contacts} == addresses, "a retried post opened a second web chat"
        for browser in traffic.browsers:
            address = address_of(browser.cookie)
            posts = rows("SELECT dedupe_key, case_id FROM message WHERE channel = 'webchat' AND direction = 'inbound' "
                         "AND sender = :a ORDER BY id", a=address)
            assert sorted(k.rsplit(":", 1)[-1] for k, _ in posts) == [f"done-{browser.n}", f"story-{browser.n}"], posts
            cases = {c for _, c in posts if c} | {c for (c,) in rows(
                "SELECT c.id FROM \"case\" c JOIN channelidentity i ON i.contact_id = c.contact_id WHERE i.address = :a", a=address)}
            assert len(cases) == 1, (address, cases)
            said = [m["text"] for m in browser.shown if m["from"] == "heard"]
            assert len(set(REFERENCE.findall(" ".join(said)))) == 1, said

        # Telegram: each update stored once; each chat one case, told its reference once.
        keys = Counter(k for (k,) in rows("SELECT dedupe_key FROM message WHERE channel = 'telegram' AND direction = 'inbound'"))
        expected = {f"telegram:update:{u}" for ids in traffic.chats.values() for u in ids}
        assert set(keys) == expected and set(keys.values()) == {1}
        for chat_id in traffic.chats:
            cases = rows("SELECT c.id, c.reference FROM \"case\" c JOIN channelidentity i ON i.contact_id = c.contact_id "
                         "WHERE i.channel = 'telegram' AND i.address = :a", a=str(chat_id))
            assert len(cases) == 1, (chat_id, cases)
            told = [t for t in telegram.texts_to(chat_id) if cases[0].reference in t]
            assert len(told) == 1, (chat_id, telegram.texts_to(chat_id))

        # Chat outbox items (advocacy follow-ups) reached each chat once.
        for item in rows("SELECT id, recipient, body FROM outboxitem WHERE channel = 'telegram'"):
            assert telegram.texts_to(int(item.recipient)).count(item.body) == 1, item
        shown = Counter(k for (k,) in rows("SELECT dedupe_key FROM message WHERE dedupe_key LIKE 'outbox:%'"))
        assert set(shown.values()) <= {1}

        # Reminders: for every response deadline, each reminder due at the moments swept is in
        # the outbox exactly once (the key is unique; here: none missing, none extra).
        calendar = Clock(load_policy()).calendar
        policy = load_policy().reminders
        for d in rows("SELECT id, kind, due_on, status FROM deadline WHERE kind = ANY(:k) AND status IN ('open', 'missed')",
                      k=[k.value for k in RESPONSES]):
            labels = {label for m in swept
                      if (label := due_now(calendar, d.due_on, m.date(), policy.before_due, policy.escalation_repeat).label)}
            got = Counter(k.split("/", 1)[1].rsplit(":", 1)[0] if "overdue" not in k else k.split("/", 1)[1]
                          for (k,) in rows("SELECT idempotency_key FROM outboxitem WHERE idempotency_key LIKE :p",
                                           p=f"deadline:{d.id}:%"))
            # A repeat escalation counts from the last one sent, so one may fall later than the
            # swept days suggest: it may be there; every reminder and the first escalation must.
            required = {label for label in labels if not label.startswith("overdue:") or label == "overdue:1"}
            assert required <= set(got) <= labels and set(got.values()) == {1}, (d, labels, got)
        print(f"soak: {len(traffic.emails)} emails, {len(traffic.browsers)} web chats, {len(traffic.chats)} Telegram chats; "
              f"{len(sink.mail)} emails out ({Counter(i.purpose for i in items)})")
        digests = rows("SELECT idempotency_key FROM outboxitem WHERE purpose = 'digest'")
        assert len(digests) == len({k for (k,) in digests})
