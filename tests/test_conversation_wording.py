"""Every child-facing sentence reads at about age 9–11: Flesch–Kincaid grade 6 or below."""

from __future__ import annotations

from datetime import date

import pytest
import textstat

from bots.conversation import wording
from scheduler import wording as shared
from tests.chat_helpers import Talk, conversation

SAMPLES = wording.every_sentence(date(2027, 1, 11))
SHARED = {"SAFETY": shared.SAFETY, "ADVOCATE_OFFER": shared.ADVOCATE_OFFER}
GRADE = 6.0


@pytest.mark.parametrize("name", sorted(SAMPLES | SHARED))
def test_each_sentence_reads_at_a_reading_age_of_about_9_to_11(name: str) -> None:
    text = (SAMPLES | SHARED)[name]
    assert textstat.flesch_kincaid_grade(text) <= GRADE, f"{name}: {text!r}"


def test_the_shared_sentences_are_the_scheduler_ones_not_copies() -> None:
    assert wording.SAFETY is shared.SAFETY and wording.ADVOCATE_OFFER is shared.ADVOCATE_OFFER
    assert wording.hear_by is shared.hear_by


def test_the_reading_age_check_would_catch_a_hard_sentence() -> None:
    hard = ("Notwithstanding the aforementioned considerations, the representations procedure "
            "necessitates comprehensive documentation of organisational responsibilities.")
    assert textstat.flesch_kincaid_grade(hard) > GRADE


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
            assert textstat.flesch_kincaid_grade(reply.text) <= GRADE, reply.text
