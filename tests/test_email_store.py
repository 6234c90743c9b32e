"""Raw first, group-committed: a batch of stored messages is one transaction and one
multi-row insert, and a repeat (earlier, or in the same batch) is answered as one."""

from __future__ import annotations

from aiosmtpd.smtp import Envelope
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bots.email.server import IntakeHandler
from models import Message
from tests.mailserver import OURS
from tests.test_email_intake import email


def rows(handler: IntakeHandler, raws: list[bytes]) -> list[dict]:
    envelope = Envelope()
    envelope.mail_from, envelope.rcpt_tos = "parent@example.org", [OURS]
    return [handler._row(raw, envelope) for raw in raws]


def test_a_batch_is_stored_in_order_and_repeats_are_answered_with_the_first_id(engine: Engine) -> None:
    handler = IntakeHandler(engine, [OURS], on_stored=lambda _id: None)
    a, b, c = (email(f"message {n}") for n in range(3))
    try:
        first = handler._store_batch(rows(handler, [a, b]))
        second = handler._store_batch(rows(handler, [c, a, c, b]))
    finally:
        handler.close()
    (id_a, new_a), (id_b, new_b) = first
    assert (new_a, new_b) == (False, False) and id_b > id_a
    (id_c, repeat_c), (again_a, repeat_a), (again_c, repeat_c2), (again_b, repeat_b) = second
    assert (again_a, again_b, again_c) == (id_a, id_b, id_c)
    assert (repeat_c, repeat_a, repeat_c2, repeat_b) == (False, True, True, True)
    with Session(engine) as session:
        stored = session.exec(select(Message).order_by(Message.id)).all()
    assert [m.raw_bytes for m in stored] == [a, b, c]
    assert [m.id for m in stored] == [id_a, id_b, id_c]
