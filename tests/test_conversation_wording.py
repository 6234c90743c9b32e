"""Every child-facing sentence reads at about age 9–11: Flesch–Kincaid grade 6 or below, sentence by sentence
(a long text of short sentences can still hide one hard one)."""

from __future__ import annotations

from datetime import date

import re

import pytest
import textstat

from bots.conversation import wording
from scheduler import wording as shared
from tests.chat_helpers import Talk, conversation

SAMPLES = wording.every_sentence(date(2027, 1, 11))
_DAY = date(2027, 1, 11)
# The scheduler's words that reach young people too: by chat (follow-ups, new dates) and by email.
SHARED = {
    "SAFETY": shared.SAFETY, "ADVOCATE_OFFER": shared.ADVOCATE_OFFER, "ADVOCATE_FOLLOW_UP": shared.ADVOCATE_FOLLOW_UP,
    "advocate_new_date": shared.advocate_new_date("CSC-2026-00042", _DAY),
    **{f"acknowledgement(young, safeguarding={sg}, compliment={c})": shared.acknowledgement(
        "CSC-2026-00042", _DAY, young_person=True, safeguarding=sg, compliment=c)
       for sg in (False, True) for c in (False, True)},
}
GRADE = 6.0
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(text) if s.strip()]


def hard_sentences(text: str) -> list[str]:
    return [s for s in sentences(text) if textstat.flesch_kincaid_grade(s) > GRADE]


@pytest.mark.parametrize("name", sorted(SAMPLES | SHARED))
def test_each_sentence_reads_at_a_reading_age_of_about_9_to_11(name: str) -> None:
    text = (SAMPLES | SHARED)[name]
    assert not hard_sentences(text), f"{name}: {hard_sentences(text)}"


def test_the_shared_sentences_are_the_scheduler_ones_not_copies() -> None:
    assert wording.SAFETY is shared.SAFETY and wording.ADVOCATE_OFFER is shared.ADVOCATE_OFFER
    assert wording.hear_by is shared.hear_by


def test_the_reading_age_check_would_catch_a_hard_sentence() -> None:
    hard = ("Notwithstanding the aforementioned considerations, the representations procedure "
            "necessitates comprehensive documentation of organisational responsibilities.")
    assert textstat.flesch_kincaid_grade(hard) > GRADE
    # and one hard sentence among easy ones, which a whole-text score would average away
    assert hard_sentences("We got it. We read it. Thanks. We keep your messages with your reference number.") == [
        "We keep your messages with your reference number."]


def test_every_reply_in_a_whole_conversation_reads_plainly(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(sqlite_engine, conversation(classify=None))
    talk.command("start")
    talk.say("Nobody rang me back.")
    talk.press("done")
    talk.press("kind:complaint")
    talk.press("role:young")
    talk.press("advocate:what")
    talk.press("advocate:yes")
    talk.command("status")
    talk.command("help")
    talk.command("privacy")
    for turn in talk.turns:
        for reply in turn:
            assert not hard_sentences(reply.text), reply.text
