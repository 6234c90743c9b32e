"""Find anything: one `search` over message text, senders, contacts' names and addresses and
case references, on SQLite (FTS5) and PostgreSQL (tsvector with a GIN index) alike.

The index is one document per message, written by triggers (migration 0008), so it is
current the moment a message is stored. The user's words never reach the database's query
language: they are cut into letters-and-digits parts here, each quoted, so quotes, `*`,
`NEAR`, `-`, brackets and colons are just separators and cannot make a query fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from models import Case, Message

PART = re.compile(r"[^\W_]+")  # letters and digits: what both tokenisers keep as a word
MAX_WORDS = 16  # a pasted page is not a search; the first words are plenty
MAX_PARTS = 8
MAX_PART_CHARS = 64
SCAN = 1000  # newest matching messages read, at most, to fill `limit` distinct cases
REFERENCE = re.compile(r"CSC-\d{4}-\d{1,8}")


@dataclass(frozen=True)
class Result:
    reference: str
    snippet: str
    kind: str | None
    status: str
    received_at: datetime  # when the case came in


def words(q: str) -> list[list[str]]:
    """The query as words, each a list of parts: "CSC-2026-00042 olga@" → [[csc, 2026, 00042], [olga]]."""
    out = []
    for word in q.split()[:MAX_WORDS]:
        parts = [p.lower()[:MAX_PART_CHARS] for p in PART.findall(word)][:MAX_PARTS]
        if parts:
            out.append(parts)
    return out


def _prefix(part: str) -> bool:
    """The last part of a word matches as a prefix ("olga@" finds olga@example.org), once it
    is two characters long: a one-letter prefix would read most of the index."""
    return len(part) >= 2


def sqlite_match(terms: list[list[str]]) -> str:
    """An FTS5 expression: each word a quoted phrase of its parts, the words ANDed."""
    return " ".join(f'"{" ".join(parts)}"' + ("*" if _prefix(parts[-1]) else "") for parts in terms)


def postgres_query(terms: list[list[str]]) -> str:
    """A to_tsquery expression, the same shape: phrases (<->) of quoted parts, ANDed."""
    return " & ".join("(" + " <-> ".join(f"'{p}'" + (":*" if i == len(parts) - 1 and _prefix(p) else "")
                                         for i, p in enumerate(parts)) + ")" for parts in terms)


def _matching_messages(session: Session, terms: list[list[str]]) -> sa.Subquery:
    """The newest matching message ids: the only part that differs between the databases."""
    if session.get_bind().dialect.name == "postgresql":
        hits = sa.text("SELECT message_id AS id FROM search_doc WHERE document @@ to_tsquery('simple', :q) "
                       "ORDER BY message_id DESC LIMIT :scan").bindparams(q=postgres_query(terms), scan=SCAN)
    else:
        hits = sa.text("SELECT rowid AS id FROM search_fts WHERE search_fts MATCH :q "
                       "ORDER BY rowid DESC LIMIT :scan").bindparams(q=sqlite_match(terms), scan=SCAN)
    return hits.columns(id=sa.Integer).subquery("hits")


def search(session: Session, q: str, limit: int = 50) -> list[Result]:
    """Cases whose messages, people or reference match every word of `q`, newest message first,
    one result per case. A whole reference finds its case even with no message."""
    terms = words(q)
    if not terms:
        return []
    results: dict[str, Result] = {}
    exact = REFERENCE.fullmatch(q.strip().upper())
    if exact:
        case = session.execute(sa.select(Case).where(Case.reference == exact.group())).scalar_one_or_none()
        if case:
            results[case.reference] = _result(case, case.summary, [])
    hits = _matching_messages(session, terms)
    newest: dict[int, int] = {}  # case id → its newest matching message id
    for message_id, case_id in session.execute(
            sa.select(Message.id, Message.case_id).join(hits, hits.c.id == Message.id)
            .where(Message.case_id.is_not(None)).order_by(Message.id.desc())):
        if len(newest) >= limit:
            break
        newest.setdefault(case_id, message_id)
    if newest:  # only the chosen few are read whole
        rows = session.execute(
            sa.select(Message.id, Message.subject, Message.text, Case).join(Case, Case.id == Message.case_id)
            .where(Message.id.in_(newest.values())).order_by(Message.id.desc()))
        parts = [p for word in terms for p in word]
        for _id, subject, text, case in rows:
            results.setdefault(case.reference, _result(case, text or subject, parts))
    return list(results.values())[:limit]


def _result(case: Case, text: str, parts: list[str]) -> Result:
    return Result(case.reference, snippet(text, parts), case.kind.value if case.kind else None, case.status.value,
                  case.received_at)


def snippet(text: str, parts: list[str], width: int = 160) -> str:
    """About `width` characters of the text around the first part found in it (its opening
    when the match was a name, an address or the reference). Plain text: pages escape it."""
    flat = " ".join(text.split())
    found = [m.start() for p in parts if (m := re.search(re.escape(p), flat, re.IGNORECASE))]
    start = max(0, min(found) - width // 3) if found else 0
    if start:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    piece = flat[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
