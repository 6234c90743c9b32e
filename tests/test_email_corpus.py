"""Every message of the real-world email corpus (tests/data/email-corpus: four open-source mail
libraries' test messages, each folder with its licence) through a real SMTP conversation:
accepted, stored byte for byte, and turned into a readable representation or recognised as
machine mail; and every one with words in a text part read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Message
from models.enums import MessageState
from tests.mailserver import MailServer

CORPUS = Path(__file__).parent / "data" / "email-corpus"
# The corpus messages with no words to read, each with why (checked by hand). Any other message
# that comes out without text is a message Heard failed to read.
WORDLESS = {
    "enmime/testdata/mail/attachment-only-inline.raw": "only attachments (image/jpeg), no words",
    "enmime/testdata/mail/attachment-only-no-disposition.raw": "only attachments (image/jpeg), no words",
    "enmime/testdata/mail/attachment-only.raw": "only attachments (image/jpeg), no words",
    "enmime/testdata/mail/header-only.raw": "headers only: no body",
    "flanker/tests/fixtures/messages/bounce/delayed-broken.eml": "a delivery report with no message in it",
    "flanker/tests/fixtures/messages/dkim/email.01": "an empty file",
    "flanker/tests/fixtures/messages/dkim/email.02": "headers only: no body",
    "flanker/tests/fixtures/messages/dkim/email.03": "headers only: no body",
    "flanker/tests/fixtures/messages/dkim/email.24": "headers only: no body",
    "flanker/tests/fixtures/messages/dkim/nofws.expected.01": "an empty file",
    "flanker/tests/fixtures/messages/dkim/nofws.expected.02": "headers only: no body",
    "flanker/tests/fixtures/messages/dkim/nofws.expected.03": "headers only: no body",
    "flanker/tests/fixtures/messages/dkim/nofws.expected.24": "headers only: no body",
    "flanker/tests/fixtures/messages/dkim/relaxed.expected.01": "an empty file",
    "flanker/tests/fixtures/messages/dkim/relaxed.expected.02": "headers only: no body",
    "flanker/tests/fixtures/messages/dkim/relaxed.expected.03": "headers only: no body",
    "flanker/tests/fixtures/messages/dkim/relaxed.expected.24": "headers only: no body",
    "flanker/tests/fixtures/messages/dkim/simple.expected.01": "an empty file",
    "flanker/tests/fixtures/messages/dkim/simple.expected.02": "headers only: no body",
    "flanker/tests/fixtures/messages/dkim/simple.expected.03": "headers only: no body",
    "flanker/tests/fixtures/messages/dkim/simple.expected.24": "headers only: no body",
    "flanker/tests/fixtures/messages/false-multipart.eml": "its body is blank",
    "flanker/tests/fixtures/messages/outlook-express.eml": "only attachments (application/octet-stream), no words",
    "flanker/tests/fixtures/messages/signed.eml": "its words are in a part labelled application/plain, not text",
    "mikel-mail/spec/fixtures/emails/attachment_emails/attachment_message_rfc822_inline_image.eml": "only attachments (image/png), no words",
    "mikel-mail/spec/fixtures/emails/attachment_emails/attachment_only_email.eml": "only attachments (application/x-gzip), no words",
    "mikel-mail/spec/fixtures/emails/attachment_emails/attachment_with_quoted_filename.eml": "only attachments (image/jpeg), no words",
    "mikel-mail/spec/fixtures/emails/error_emails/bad_date_header.eml": "malformed: the HTML body is folded into an empty Date header",
    "mikel-mail/spec/fixtures/emails/error_emails/bad_date_header2.eml": "headers only: no body",
    "mikel-mail/spec/fixtures/emails/error_emails/empty_in_reply_to.eml": "headers only: no body",
    "mikel-mail/spec/fixtures/emails/error_emails/missing_body.eml": "headers only: no body",
    "mikel-mail/spec/fixtures/emails/error_emails/missing_content_disposition.eml": "only attachments (image/jpg), no words",
    "mikel-mail/spec/fixtures/emails/error_emails/must_supply_encoding.eml": "headers only: no body",
    "mikel-mail/spec/fixtures/emails/mime_emails/raw_email_with_binary_encoded.eml": "only attachments (image/jpeg), no words",
    "mikel-mail/spec/fixtures/emails/sample_output_multipart": "an empty file",
    "stalwart-mail-parser/resources/eml/legacy/000.eml": "only attachments (image/png), no words",
    "stalwart-mail-parser/resources/eml/legacy/006.eml": "only attachments (image/png), no words",
    "stalwart-mail-parser/resources/eml/legacy/037.eml": "its text part is one space; the rest is an image",
    "stalwart-mail-parser/resources/eml/legacy/041.eml": "only attachments (application/octet-stream), no words",
    "stalwart-mail-parser/resources/eml/malformed/000.eml": "its text parts are empty",
    "stalwart-mail-parser/resources/eml/malformed/005.eml": "malformed: each boundary is a prefix of the next, so no part can be told apart",
    "stalwart-mail-parser/resources/eml/malformed/007.eml": "its text parts are empty",
    "stalwart-mail-parser/resources/eml/malformed/017.eml": "only attachments (image/png), no words",
    "stalwart-mail-parser/resources/eml/rfc/001.eml": "only attachments (application/postscript), no words",
    "stalwart-mail-parser/resources/eml/thirdparty/011.eml": "its text and HTML hold no words, only an image",
}
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


def test_every_message_with_words_in_a_text_part_is_read() -> None:
    from bots.email.parse import parse

    wordless = {str(path.relative_to(CORPUS)) for path in corpus_files() if not parse(path.read_bytes()).text}
    assert wordless == set(WORDLESS), f"read nothing from: {sorted(wordless - set(WORDLESS))}; now read: {sorted(set(WORDLESS) - wordless)}"


@pytest.mark.slow
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
        if not message.text and str(path.relative_to(CORPUS)) not in WORDLESS:
            unread.append(str(path.relative_to(CORPUS)))
    # Identical files in the corpus are one representation: nothing else may be merged away.
    assert len(stored) == len({raw for _, raw in sent.values()})
    assert not unread, f"stored but its words not read: {unread}"
    assert sum(1 for m in stored if m.text) > 0.85 * len(stored)  # the corpus is mostly ordinary readable mail
