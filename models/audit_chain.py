"""The audit log shows tampering: each entry carries a hash of its own content and of the entry
before it, so changing or deleting one breaks the chain from there on.

How an entry joins the chain (all in the writing transaction, just before it commits):

1. The app adds `AuditEvent` rows as always (`session.add`); they are inserted unchained.
2. At commit, the chain head row is locked by an UPDATE (PostgreSQL: a row lock held to the
   commit, so two processes writing at once queue here; SQLite: the database's one write lock),
   then read: the last sequence number and hash.
3. Each new entry, in the order it was added, gets the next `seq`, the previous hash and its
   own hash; the head moves on. The lock is taken last, so it is held only for these updates
   and cannot deadlock with a case row another writer holds.

Through the app the log is append-only: a flush that changes or deletes an entry is refused.
`verify` walks the chain in `seq` order and names the first entry that does not fit.

The chain hashes each entry's detail through its own hash (`detail_hash`), so that when the
retention schedule deletes a case, the words its entries hold (a note's text, an extension's
reason) can go too: `erase_details` replaces them with `{"erased": rule}`, and such an entry
still fits the chain, showing who did what and when, and that its detail was erased and by
which rule. Any other change to a detail breaks the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Field, Session, SQLModel

from models.audit import AuditEvent

GENESIS = "0" * 64  # the "previous hash" of the first entry
_PENDING = "heard_audit_unchained"
_QUEUED_ON = "heard_audit_queued_on"  # a session's connections holding `add_rows` entries


class AuditChainHead(SQLModel, table=True):
    """The chain's last link (one row): locked by each writer, so entries form one chain."""

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(default=0)
    hash: str = Field(default=GENESIS, max_length=64)


class AppendOnly(Exception):
    """The audit log is never changed or deleted through the app."""


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def detail_hash(detail: Any) -> str:
    """SHA-256 of an entry's detail, in one canonical JSON form."""
    return _digest(detail)


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, officer_id: int | None,
               case_id: int | None, action: str, detail_digest: str) -> str:
    """SHA-256 of the previous hash and the entry's content (its detail by the detail's hash)."""
    return _digest([prev_hash, seq, at.astimezone(UTC).isoformat(timespec="microseconds"), actor, officer_id,
                    case_id, action, detail_digest])


def erased(detail: Any) -> bool:
    """Is this detail one `erase_details` left?"""
    return isinstance(detail, dict) and set(detail) == {"erased"}


def erase_details(session: OrmSession | Connection, case_ids: list[int], rule: str) -> int:
    """Erase the words of the chained entries about these cases (the retention schedule's
    deletion): each detail becomes `{"erased": rule}`; the chain still verifies. How many."""
    if not case_ids:
        return 0
    table = AuditEvent.__table__
    done = session.execute(sa.update(table).where(table.c.case_id.in_(case_ids), table.c.seq.is_not(None))
                           .values(detail={"erased": rule}).execution_options(synchronize_session=False))
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def _as_stored(detail: Any) -> Any:
    """The detail as it reads back from the JSON column (tuples become lists, enums strings)."""
    return json.loads(json.dumps(detail, default=str))


@sa.event.listens_for(OrmSession, "before_flush")
def _guard_and_collect(session: OrmSession, _context: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AppendOnly("audit entries are never deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise AppendOnly("audit entries are never changed")
    new = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if new:
        new.sort(key=lambda obj: sa.inspect(obj).insert_order)
        for obj in new:
            obj.detail = _as_stored(obj.detail)
        session.info.setdefault(_PENDING, []).extend(new)


@sa.event.listens_for(OrmSession, "before_commit")
def _chain_at_commit(session: OrmSession) -> None:
    queued = session.info.pop(_QUEUED_ON, [])
    if not session.info.get(_PENDING) and not any(isinstance(obj, AuditEvent) for obj in session.new) and not queued:
        return
    session.flush()
    pending = [obj for obj in session.info.pop(_PENDING, []) if sa.inspect(obj).persistent]
    if pending:
        link(session, pending)
    for conn in queued:
        write_queued(conn)


@sa.event.listens_for(OrmSession, "after_rollback")
def _forget(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)
    for conn in session.info.pop(_QUEUED_ON, []):
        forget_queued(conn)


def add_rows(session: OrmSession, rows: list[dict[str, Any]]) -> None:
    """Many entries at once without an ORM object each (intake opening a batch of cases): written,
    chained, as the session commits; dropped if it rolls back."""
    if not rows:
        return
    conn = session.connection()
    for row in rows:
        queue(conn, **row)
    if conn not in session.info.setdefault(_QUEUED_ON, []):
        session.info[_QUEUED_ON].append(conn)


def _lock_head(session: OrmSession | Connection) -> tuple[int, str]:
    """Lock the head row (waiting for any other writer to commit), then read it."""
    head = AuditChainHead.__table__
    locked = session.execute(sa.update(head).where(head.c.id == 1).values(seq=head.c.seq))
    if locked.rowcount == 0:  # type: ignore[attr-defined]  # a database made without the migration
        session.execute(sa.insert(head).values(id=1, seq=0, hash=GENESIS))
    seq, last = session.execute(sa.select(head.c.seq, head.c.hash).where(head.c.id == 1)).one()
    return seq, last


def link(session: OrmSession, entries: list[AuditEvent]) -> None:
    """Put inserted, unchained entries on the end of the chain, in the order given."""
    seq, last = _lock_head(session)
    table = AuditEvent.__table__
    for entry in entries:
        seq += 1
        own = detail_hash(entry.detail)
        digest = entry_hash(last, seq, entry.at, entry.actor, entry.officer_id, entry.case_id, entry.action, own)
        session.execute(sa.update(table).where(table.c.id == entry.id).values(seq=seq, prev_hash=last, hash=digest,
                                                                                detail_hash=own))
        for name, value in (("seq", seq), ("prev_hash", last), ("hash", digest), ("detail_hash", own)):
            set_committed_value(entry, name, value)
        last = digest
    head = AuditChainHead.__table__
    session.execute(sa.update(head).where(head.c.id == 1).values(seq=seq, hash=last))


def queue(conn: Connection, **row: Any) -> None:
    """For writers on a Core connection (the sweep): hold an entry until `write_queued` chains it,
    just before the connection's transaction commits (so the head's lock is held only then)."""
    conn.info.setdefault(_PENDING, []).append(row)


def write_queued(conn: Connection) -> None:
    """Insert the connection's queued entries on the end of the chain. Call it last in the transaction."""
    rows = conn.info.pop(_PENDING, [])
    if not rows:
        return
    seq, last = _lock_head(conn)
    values = []
    for row in rows:
        seq += 1
        detail = _as_stored(row.get("detail", {}))
        own = detail_hash(detail)
        digest = entry_hash(last, seq, row["at"], row["actor"], row.get("officer_id"), row.get("case_id"), row["action"], own)
        values.append({"officer_id": None, "case_id": None, **row, "detail": detail, "seq": seq, "prev_hash": last,
                       "hash": digest, "detail_hash": own})
        last = digest
    conn.execute(sa.insert(AuditEvent.__table__), values)  # one statement for a batch's entries
    head = AuditChainHead.__table__
    conn.execute(sa.update(head).where(head.c.id == 1).values(seq=seq, hash=last))


def forget_queued(conn: Connection) -> None:
    """Drop queued entries (a dry run, a rollback): `conn.info` outlives the checkout."""
    conn.info.pop(_PENDING, None)


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: whole, or the first entry that does not fit and why."""

    checked: int
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str = ""

    @property
    def whole(self) -> bool:
        return not self.reason


def _rows(session: Session) -> Iterator[sa.Row[Any]]:
    table = AuditEvent.__table__
    query = sa.select(table).where(table.c.seq.is_not(None)).order_by(table.c.seq)
    yield from session.execute(query.execution_options(yield_per=1000))


def verify(session: Session) -> Verdict:
    """Walk the chain from the first entry: each must follow on (seq), point at the previous
    entry's hash, and hash to what it says; the head must point at the last one."""
    table = AuditEvent.__table__
    outside = session.execute(sa.select(table.c.id).where(table.c.seq.is_(None)).order_by(table.c.id).limit(1)).scalar()
    checked, expected_seq, last = 0, 1, GENESIS
    found: Verdict | None = None
    for row in _rows(session):
        where = f"entry {row.id} (number {row.seq} in the chain, {row.action!r} at {row.at:%Y-%m-%d %H:%M})"
        if row.seq != expected_seq:
            found = Verdict(checked, row.id, row.seq, f"{where}: the entries numbered {expected_seq} to {row.seq - 1} before it are missing (deleted)")
        elif row.prev_hash != last:
            found = Verdict(checked, row.id, row.seq, f"{where}: it does not follow the entry before it (that entry was changed or deleted)")
        elif (entry_hash(row.prev_hash, row.seq, row.at, row.actor, row.officer_id, row.case_id, row.action, row.detail_hash)
              != row.hash or not (erased(row.detail) or detail_hash(row.detail) == row.detail_hash)):
            found = Verdict(checked, row.id, row.seq, f"{where}: its content was changed after it was written")
        if found:
            break
        checked, expected_seq, last = checked + 1, expected_seq + 1, row.hash
    if found is None:
        head = AuditChainHead.__table__
        head_row = session.execute(sa.select(head.c.seq, head.c.hash).where(head.c.id == 1)).one_or_none()
        head_seq, head_hash = head_row if head_row else (0, GENESIS)
        if (head_seq, head_hash) != (expected_seq - 1, last):
            found = Verdict(checked, None, head_seq,
                            f"the chain ends at number {expected_seq - 1} but was written up to number {head_seq}: the last entries were deleted or changed")
    if outside is not None and (found is None or found.broken_id is None or outside < found.broken_id):
        return Verdict(checked, outside, None, f"entry {outside} is outside the chain (written around the app, with no number)")
    return found or Verdict(checked)
