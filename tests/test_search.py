"""Find anything (desk/search.py) on SQLite and PostgreSQL: text, names, addresses and
references, whole and in part; the index keeps up as messages arrive; hostile words are words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Contact, Message, session_scope
from models.enums import Channel, Direction, Kind
from desk.search import search, words
from tests.web_helpers import open_case
from triage.intake import Suggestion

COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8)


def refs(engine: Engine, q: str) -> list[str]:
    with Session(engine) as session:
        return [r.reference for r in search(session, q, 50)]


@pytest.fixture
def cases(engine: Engine) -> dict[str, str]:
    return {
        "savings": open_case(engine, "Where are my savings? I asked the leaving care team four times.",
                             sender="olga.petrova@example.org", suggestion=COMPLAINT,
                             received=datetime(2026, 11, 20, 9, tzinfo=UTC)),
        "taxi": open_case(engine, "The taxi to contact was late again; ring me on 07700 900123.",
                          sender="dad@example.net", suggestion=COMPLAINT, received=datetime(2026, 11, 21, 9, tzinfo=UTC)),
    }


def test_message_text_is_found_by_its_words_and_their_beginnings(engine: Engine, cases: dict[str, str]) -> None:
    assert refs(engine, "savings") == [cases["savings"]]
    assert refs(engine, "SAVINGS leaving") == [cases["savings"]]
    assert refs(engine, "sav") == [cases["savings"]]
    assert refs(engine, "savings taxi") == []  # every word must match
    assert refs(engine, "nobody") == []


def test_email_addresses_are_found_whole_and_in_part(engine: Engine, cases: dict[str, str]) -> None:
    for q in ("olga.petrova@example.org", "olga@", "olga", "petrova@example", "OLGA.PETROVA"):
        assert refs(engine, q) == [cases["savings"]], q


def test_references_are_found_whole_and_in_part(engine: Engine, cases: dict[str, str]) -> None:
    reference = cases["taxi"]  # CSC-2026-00002
    number = reference.rsplit("-", 1)[1]
    assert refs(engine, reference) == [reference]
    assert refs(engine, reference.lower()) == [reference]
    assert refs(engine, number) == [reference]
    assert refs(engine, number.lstrip("0")) == []  # "2" is not the 2nd case; parts match from their start


def test_phone_numbers_and_names_are_found(engine: Engine, cases: dict[str, str]) -> None:
    assert refs(engine, "07700 900123") == [cases["taxi"]]
    assert refs(engine, "900123") == [cases["taxi"]]
    with session_scope(engine) as session:
        message = session.exec(select(Message).where(Message.sender == "dad@example.net")).one()
        session.get_one(Contact, message.contact_id).display_name = "Zoë Okonkwo-Smith"  # renamed after the message came
    assert refs(engine, "Okonkwo") == [cases["taxi"]]
    assert refs(engine, "zoë okonkwo-smith") == [cases["taxi"]]


def test_a_telegram_name_and_chat_are_found(engine: Engine) -> None:
    reference = open_case(engine, "nobody listens to me", sender="@skater_girl_14", channel=Channel.telegram, suggestion=COMPLAINT)
    assert refs(engine, "skater") == [reference]
    assert refs(engine, "@skater_girl_14") == [reference]


def test_a_message_arriving_later_is_found_at_once(engine: Engine, cases: dict[str, str]) -> None:
    assert refs(engine, "trampoline") == []
    with session_scope(engine) as session:
        first = session.exec(select(Message).where(Message.sender == "dad@example.net")).one()
        session.add(Message(dedupe_key="later", channel=Channel.email, direction=Direction.inbound, sender="dad@example.net",
                            text="And the trampoline at contact is broken.", case_id=first.case_id, contact_id=first.contact_id))
    assert refs(engine, "trampoline") == [cases["taxi"]]
    with session_scope(engine) as session:
        later = session.exec(select(Message).where(Message.dedupe_key == "later")).one()
        later.text = "Sorted now."
    assert refs(engine, "trampoline") == []
    assert refs(engine, "sorted") == [cases["taxi"]]


def test_one_result_per_case_newest_first_with_a_snippet(engine: Engine, cases: dict[str, str]) -> None:
    found = [r for r in search(Session(engine), "contact", 10)]  # "contact" is in the taxi text only
    assert [r.reference for r in found] == [cases["taxi"]]
    with Session(engine) as session:
        both = search(session, "example", 10)
        (taxi,) = search(session, "900123", 10)
    assert [r.reference for r in both] == [cases["taxi"], cases["savings"]]
    assert "900123" in taxi.snippet and taxi.kind == "complaint" and taxi.status == "open"
    assert taxi.received_at.date().isoformat() == "2026-11-21"


HOSTILE = ['"', '""', "'", "*", "savings*", "NEAR", "NEAR(savings taxi)", "-savings", "savings -taxi", "(", ")", "(savings",
           "a:b", "document:savings", "^savings", "savings AND", "OR", "NOT savings", "{}", "[", "\\", "&|!<->", ":*",
           "😀", "🧒🏽 savings", "\u202e", "ﷺ", "x" * 10_000, "savings " * 2_000, "%", "_", "'; DROP TABLE message; --", ""]


@pytest.mark.parametrize("q", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_words_are_only_words(engine: Engine, cases: dict[str, str], q: str) -> None:
    found = refs(engine, q)
    assert isinstance(found, list)
    terms = words(q)
    if terms and all(parts == ["savings"] for parts in terms):  # the syntax around it is ignored
        assert found == [cases["savings"]]


def test_a_nul_inside_the_words_is_a_separator(engine: Engine, cases: dict[str, str]) -> None:
    assert refs(engine, "sav\x00ings") == []
    assert refs(engine, "savings\x00") == [cases["savings"]]


def test_markup_in_a_message_does_not_hide_the_words_after_it(engine: Engine) -> None:
    reference = open_case(engine, "My <script>alert(1)</script> savings, a < b and <i unclosed then trampoline & co",
                          sender="x@example.org", suggestion=COMPLAINT)
    for q in ("savings", "alert", "trampoline", "unclosed", "co"):
        assert refs(engine, q) == [reference], q
