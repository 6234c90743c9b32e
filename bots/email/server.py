"""The SMTP intake: aiosmtpd in Heard's own event loop.

Raw first: the exact bytes are committed before the 250 reply. Anything that goes wrong
before then answers `451 4.3.0` so the sender's server tries again; no exception ever
becomes a 5xx. Turning the stored bytes into a representation happens afterwards, in the
processor, which also picks up anything left `stored` by a process that was killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import sqlite3
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from triage import figures
from bots.email.parse import message_ids
from models import Message, upsert_insert
from models.enums import Channel, Direction

log = logging.getLogger("heard.email")

BUSY = (sa.exc.OperationalError, sqlite3.OperationalError)  # "database is locked", through Core or straight from the driver
TRY_LATER = "451 4.3.0 We could not store your message just now; please try again later"


def dedupe_key(raw: bytes) -> str:
    """Same Message-ID and same bytes → the same key, so a repeat delivery collides."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = [line.split(b":", 1)[1] for line in head.splitlines() if line.lower().startswith(b"message-id:")]
    mid = message_ids(found[0].decode("latin-1")) if found else []
    return f"email:{hashlib.sha256((mid[0] if mid else '').encode()).hexdigest()[:16]}:{hashlib.sha256(raw).hexdigest()}"


class IntakeHandler:
    """aiosmtpd handler: accept our addresses, store raw bytes, then say 250.

    Stores are group-committed: every message waiting when the writer comes round goes into
    one transaction, and each waits for that commit before its 250.

    On SQLite the transaction runs in the event loop itself, on a connection of the
    handler's own that never waits for the lock (a busy database is retried after an
    `asyncio.sleep`, so the loop never blocks on it): a local insert of a few rows takes less
    than the hop to a thread and back, and that hop (and the GIL passed between the two
    threads) cost more than the insert. PostgreSQL is a network round trip away, so there a
    writer thread does it.
    """

    BATCH = 200

    def __init__(
        self,
        engine: Engine,
        addresses: list[str],
        on_stored: Callable[[int], None],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        lock_patience: float = 60.0,  # RFC 5321 gives a server 10 minutes to answer the final dot
    ) -> None:
        self.engine = engine
        self.lock_patience = lock_patience
        self.addresses = {a.lower() for a in addresses}
        self.on_stored = on_stored
        self.now = now
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heard-smtp-store")
        self.in_loop = engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")
        self._conn: sa.Connection | None = None  # the in-loop writer's own connection (SQLite)
        self._waiting: list[tuple[dict, asyncio.Future[tuple[int, bool]]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        if address.lower() not in self.addresses:
            return f"550 5.1.1 <{address}>: we do not accept mail for this address"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            stored_id, repeat = await self.store(self._row(envelope.original_content or b"", envelope))
        except Exception as exc:  # any failure before the commit: the sender must retry
            log.warning("could not store a message (%s); the sender is asked to try again later", exc,
                        extra={"channel": "email"})
            return TRY_LATER
        if repeat:
            log.info("email: a repeat of stored message %d", stored_id, extra={"message_id": stored_id, "channel": "email"})
            return "250 2.0.0 Already received, thank you"
        figures.accepted("email")
        log.info("email: stored message %d", stored_id, extra={"message_id": stored_id, "channel": "email"})
        self.on_stored(stored_id)
        return f"250 2.0.0 Received, thank you (ref {stored_id})"

    async def store(self, row: dict) -> tuple[int, bool]:
        future: asyncio.Future[tuple[int, bool]] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, future))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting[: self.BATCH], self._waiting[self.BATCH :]
            rows = [row for row, _ in batch]
            try:
                if self.in_loop:
                    results = await self._store_in_loop(rows)
                else:
                    results = await loop.run_in_executor(self.writer, self._store_batch, rows)
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)

    def _row(self, raw: bytes, envelope: Envelope) -> dict:
        head = raw[:16384].decode("latin-1")
        mid = next((line.split(":", 1)[1] for line in head.splitlines() if line.lower().startswith("message-id:")), "")
        return _defaults({
            "dedupe_key": dedupe_key(raw),
            "channel": Channel.email.value,
            "direction": Direction.inbound.value,
            "state": "stored",
            "raw_bytes": raw,
            "external_id": (message_ids(mid) or [""])[0][:998],
            "sender": (envelope.mail_from or "").strip()[:320].lower(),  # as given: an SMTPUTF8 address stays exact
            "headers": {"mail_from": envelope.mail_from or "", "rcpt_to": list(envelope.rcpt_tos)},
            "received_at": self.now(),
        })

    def _store_batch(self, rows: list[dict]) -> list[tuple[int, bool]]:
        """Store a batch, retrying briefly while another writer holds SQLite's lock.

        SQLite's own busy handler sleeps in steps of up to 100 ms; a 1 ms retry keeps the
        time to 250 short. After `lock_patience` seconds the sender is told to try later.
        """
        give_up = time.monotonic() + self.lock_patience
        while True:
            try:
                return self._insert_batch(rows)
            except BUSY as exc:
                if "locked" not in str(exc).lower() or time.monotonic() >= give_up:
                    raise
                time.sleep(0.001)

    async def _store_in_loop(self, rows: list[dict]) -> list[tuple[int, bool]]:
        """`_store_batch` in the event loop: a locked database is tried again every millisecond
        without blocking the loop, for up to `lock_patience` seconds."""
        give_up = time.monotonic() + self.lock_patience
        while True:
            try:
                if self._conn is None:
                    self._conn = self.engine.connect()
                    self._conn.exec_driver_sql("PRAGMA busy_timeout=0")  # its own connection: no one else waits
                    self._conn.commit()
                return self._insert_batch(rows, self._conn)
            except BUSY as exc:
                if "locked" not in str(exc).lower() or time.monotonic() >= give_up:
                    self._drop_connection()
                    raise
            except Exception:
                self._drop_connection()
                raise
            await asyncio.sleep(0.001)

    def _drop_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                conn.close()

    def _insert_batch(self, rows: list[dict], conn: sa.Connection | None = None) -> list[tuple[int, bool]]:
        """One transaction for the batch; a key seen before (or earlier in the batch) is a repeat.

        The batch goes in as one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING (SQLAlchemy's
        "insertmanyvalues"): a statement per row, and a look-up of the keys beforehand, cost
        more than the rest of the intake. A key that returns no row was stored before.
        """
        if conn is None:
            with self.engine.begin() as own:
                return _insert_rows(own, rows)
        with conn.begin():
            return _insert_rows(conn, rows)

    def close(self) -> None:
        self._drop_connection()
        self.writer.shutdown(wait=True)


def _insert_rows(conn: sa.Connection, rows: list[dict]) -> list[tuple[int, bool]]:
    table = Message.__table__
    first: dict[str, dict] = {}  # the first row of each key, in arrival order (ids follow it)
    for row in rows:
        first.setdefault(row["dedupe_key"], row)
    if conn.dialect.name == "sqlite":
        stored = _insert_sqlite(conn, list(first.values()))
    else:
        insert = upsert_insert(conn)(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
        stored = {key: id_ for id_, key in conn.execute(insert.returning(table.c.id, table.c.dedupe_key), list(first.values()))}
    earlier = [key for key in first if key not in stored]
    known = dict(conn.execute(sa.select(table.c.dedupe_key, table.c.id).where(table.c.dedupe_key.in_(earlier))).all()) \
        if earlier else {}
    results: list[tuple[int, bool]] = []
    for row in rows:  # the first row of a key stored now is new; anything else is a repeat
        key = row["dedupe_key"]
        new = key in stored and first[key] is row
        results.append((stored[key] if key in stored else known[key], not new))
    return results


def _insert_sqlite(conn: sa.Connection, rows: list[dict]) -> dict[str, int]:
    """The rows straight to the driver, a prepared statement a row (SQLite caches it): half the
    cost of Core's multi-row insert, whose compiling and per-value processing were most of the
    store. Values are stored as the models store them: UTC timestamps as naive text, JSON as text."""
    columns = list(rows[0])
    sql = (f"INSERT INTO message ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        stored = {}
        for row in rows:
            found = cursor.execute(sql, [_sqlite_value(row[c]) for c in columns]).fetchone()
            if found is not None:  # None: the key was stored before
                stored[row["dedupe_key"]] = found[0]
        return stored
    finally:
        cursor.close()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _defaults(row: dict) -> dict:
    """Every column a Core insert must name (the ORM defaults do not apply to it)."""
    row.setdefault("in_reply_to", "")
    row.setdefault("references", "")
    row.setdefault("subject", "")
    row.setdefault("text", "")
    row.setdefault("clean_text", "")
    row.setdefault("error", "")
    row.setdefault("possible_escalation", False)
    return row


class IntakeSMTP(SMTP):
    """Real-world mail has lines far longer than RFC 5321's 1,000 octets (a message with bare-LF
    line ends arrives as one long "line"); refusing it would lose it. Any line up to the message
    size limit is accepted (the factory sets `line_length_limit` just above it), so the only 5xx
    answers left are policy: 550 for an address we do not take, 552 for a message too big."""

    line_length_limit = 1 << 20

    def __init__(self, handler: object, *, line_length_limit: int, **options: object) -> None:
        self.line_length_limit = line_length_limit  # before SMTP.__init__ makes its stream reader with it
        super().__init__(handler, **options)  # type: ignore[arg-type]

    async def push(self, status: str) -> None:
        if status.startswith("500 Line too long"):  # only a line longer than the whole size limit gets here
            status = "552 5.3.4 Message too big for us"
        if status.startswith(("550", "552")):  # the policy refusals, counted for /metrics
            figures.refused("email", "unknown_address" if status.startswith("550") else "too_big")
        await super().push(status)


def smtp_factory(handler: IntakeHandler, *, hostname: str, max_bytes: int, tls: ssl.SSLContext | None) -> Callable[[], SMTP]:
    """A protocol factory for `loop.create_server`: no relaying, size limit, SMTPUTF8, STARTTLS if configured."""

    def factory() -> SMTP:
        return IntakeSMTP(
            handler,
            hostname=hostname,
            ident="Heard SMTP intake",
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            tls_context=tls,
            require_starttls=False,
            decode_data=False,
            line_length_limit=max_bytes + 1024,
        )

    return factory


def tls_context(cert: str, key: str) -> ssl.SSLContext | None:
    if not cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key or None)
    return context
