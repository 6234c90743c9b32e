"""Every message of ../shared/email-corpus through a real SMTP conversation: accepted, stored byte
for byte, and turned into a readable representation or recognised as machine mail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Message
from models.enums import MessageState
from tests.mailserver import MailServer

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "email-corpus"
NOT_MAIL = {"LICENSE", "COMMIT", "README.md", "MIT-LICENSE", "Apache-2.0.txt", "MIT.txt"}


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in NOT_MAIL)


def as_sent_by_an_mta(raw: bytes) -> bytes:
    """CRLF line endings and a final CRLF, as SMTP carries a message (smtplib dot-stuffs; the server un-stuffs)."""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return raw if raw.endswith(b"\r\n") else raw + b"\r\n"


@pytest.fixture
def mail(sqlite_engine: Engine) -> Iterator[MailServer]:
    server = MailServer(sqlite_engine, max_bytes=25 * 1024 * 1024).start()
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/email-corpus is not beside this checkout")
def test_every_corpus_message_is_accepted_stored_exactly_and_read(mail: MailServer, sqlite_engine: Engine) -> None:
    files = corpus_files()
    assert len(files) > 400
    sent: dict[int, tuple[Path, bytes]] = {}
    with mail.client() as smtp:
        smtp.ehlo()
        for path in files:
            raw = as_sent_by_an_mta(path.read_bytes())
            smtp.mail("corpus@example.org")
            smtp.rcpt("complaints@council.example")
            code, reply = smtp.data(raw)
            assert code == 250, f"{path.relative_to(CORPUS)}: {code} {reply!r}"
            sent[len(sent)] = (path, raw)
        assert smtp.noop()[0] == 250  # still answering
    mail.settle(timeout=300)
    with Session(sqlite_engine) as session:
        stored = list(session.exec(select(Message).order_by(Message.id)))
    by_bytes = {m.raw_bytes: m for m in stored}
    unread = []
    for path, raw in sent.values():
        message = by_bytes.get(raw)
        assert message is not None, f"{path.name} was not stored byte for byte"
        assert message.state in (MessageState.processed, MessageState.ignored), f"{path.name}: {message.state} {message.error}"
        if message.state is MessageState.processed and not (message.text or message.subject or message.headers.get("problems")):
            unread.append(path.name)
    # Identical files in the corpus are one representation: nothing else may be merged away.
    assert len(stored) == len({raw for _, raw in sent.values()})
    assert not unread, f"processed but nothing readable: {unread}"
    assert sum(1 for m in stored if m.text) > 0.85 * len(stored)  # the corpus is mostly ordinary readable mail
