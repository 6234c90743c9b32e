"""The conversation, channel-agnostic, on a real database (SQLite, and PostgreSQL when given)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from bots.conversation import wording
from models import Advocacy, AuditEvent, Case, ConversationState, Deadline, Message
from models.enums import AdvocacyAnswer, DeadlineKind, DeadlineStatus, Direction, Kind, Reason, Role, SafeguardingLevel, Stage
from tests.chat_helpers import Talk, buttons_of, conversation, text_of
from triage.intake import Suggestion

STAGE_1_DUE = date(2026, 12, 7)  # 10 working days after Mon 23 Nov 2026
STAGE_1_EXTENDED = date(2026, 12, 21)  # 20 working days: the extension to arrange an advocate
QUICK_DUE = date(2026, 11, 30)  # 5 working days


def cases(engine) -> list[Case]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(Case).order_by(Case.id)))


def test_it_greets_says_what_it_is_for_and_what_happens_to_what_they_write(engine) -> None:  # type: ignore[no-untyped-def]
    replies = Talk(engine, conversation()).command("start")
    said = text_of(replies)
    assert wording.GREETING in said and wording.PRIVACY_SHORT in said
    assert buttons_of(replies) == [wording.DONE]


def test_a_story_in_several_messages_becomes_one_case_when_they_say_thats_everything(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.command("start")
    assert buttons_of(talk.say("My social worker said she would call.")) == [wording.DONE]
    assert talk.say("Nobody rang me back for three weeks.") == []
    assert cases(engine) == []
    replies = talk.press("done")
    [case] = cases(engine)
    assert case.kind is Kind.complaint and case.complainant_role is Role.child_or_young_person
    assert "Nobody rang me back" in case.summary and "said she would call" in case.summary
    said = text_of(replies)
    assert case.reference in said and wording.hear_by(STAGE_1_DUE) in said
    assert buttons_of(replies) == [wording.ADVOCATE_YES, wording.ADVOCATE_NO, wording.ADVOCATE_WHAT]
    with Session(engine) as session:
        inbound = session.exec(select(Message).where(Message.direction == Direction.inbound)).all()
        assert {m.case_id for m in inbound} == {case.id}


def test_a_pause_closes_the_story_as_thats_everything_would(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("Nobody rang me back about my pathway plan.")
    assert talk.wait(30) == [] and cases(engine) == []
    replies = talk.wait(200)
    [case] = cases(engine)
    assert case.reference in text_of(replies)


def test_the_advocate_offer_records_yes_for_the_referral(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("Nobody rang me back.")
    talk.press("done")
    replies = talk.press("advocate:yes")
    assert wording.ADVOCATE_YES_REPLY in text_of(replies)
    with Session(engine) as session:
        [offer] = session.exec(select(Advocacy)).all()
        assert offer.answer is AdvocacyAnswer.yes and offer.answered_at is not None and offer.consent_to_share


def test_a_yes_to_an_advocate_gives_the_new_date_once_and_the_referral_sends_no_second_date(engine) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from models import OutboxItem
    from scheduler.clock import Clock
    from scheduler.policy import load_policy
    from scheduler.sweep import sweep
    from tests.chat_helpers import ZONE

    talk = Talk(engine, conversation())
    talk.say("Nobody rang me back.")
    talk.press("done")
    said = text_of(talk.press("advocate:yes"))
    assert said.count("December 2026") == 1 and wording.hear_by(STAGE_1_EXTENDED) in said  # one date, the new one
    assert wording.hear_by(STAGE_1_DUE) not in said
    sweep(engine, Clock(load_policy()), ZONE, talk.now + timedelta(seconds=30))
    with Session(engine) as session:
        purposes = [o.purpose for o in session.exec(select(OutboxItem))]
        stage_1 = session.exec(select(Deadline).where(Deadline.kind == DeadlineKind.stage_1)).one()
    assert "advocacy_referral" in purposes and "extension_notice" not in purposes  # the referral goes; no second date
    assert (stage_1.due_on, stage_1.original_due_on, stage_1.extension_reason) == (STAGE_1_EXTENDED, STAGE_1_DUE, "advocate")
    assert wording.hear_by(STAGE_1_EXTENDED) in text_of(talk.command("status"))


def test_an_advocate_offer_is_recorded_only_once_it_is_shown(engine) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from models import OutboxItem
    from scheduler.clock import Clock
    from scheduler.policy import load_policy
    from scheduler.sweep import sweep
    from tests.chat_helpers import ZONE

    def unsure_young(text: str) -> Suggestion:  # a young person, but the kind is a guess: the chat asks it first
        return Suggestion(kind=Kind.complaint, confidence=0.4, reasons=[Reason.communication], role=Role.child_or_young_person)

    talk = Talk(engine, conversation(classify=unsure_young))
    talk.say("Nobody rang me back.")
    assert buttons_of(talk.press("done")) == [wording.KIND_THANKS, wording.KIND_QUICK, wording.KIND_COMPLAINT]
    with Session(engine) as session:
        assert session.exec(select(Advocacy)).all() == []  # not shown yet, so not offered
    sweep(engine, Clock(load_policy()), ZONE, talk.now + timedelta(days=10))
    with Session(engine) as session:  # so no follow-up about an offer that never happened
        assert [o for o in session.exec(select(OutboxItem)) if o.purpose == "advocacy_follow_up"] == []
    assert buttons_of(talk.press("kind:complaint"))[-3:] == [wording.ADVOCATE_YES, wording.ADVOCATE_NO, wording.ADVOCATE_WHAT]
    with Session(engine) as session:
        assert session.exec(select(Advocacy)).one().offered_at is not None


def test_a_typed_request_for_an_advocate_is_a_yes(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("Nobody rang me back.")
    talk.press("done")
    talk.press("advocate:no")
    said = text_of(talk.say("actually can I have an advocate please"))
    assert wording.ADVOCATE_YES_REPLY in said and "We have added this" not in said
    with Session(engine) as session:
        assert session.exec(select(Advocacy)).one().answer is AdvocacyAnswer.yes
    assert text_of(talk.say("i dont want an advocate")).startswith(wording.added("CSC-")[:10])  # a refusal is not a yes


def test_typed_words_close_the_story_at_once(engine) -> None:  # type: ignore[no-untyped-def]
    for done in ("that's everything", "Done.", "thats it", "that's all"):
        talk = Talk(engine, conversation(), address=f"web-{done}")
        talk.say("Nobody rang me back about my review.")
        replies = talk.say(done)
        assert "CSC-" in text_of(replies), done
        [case] = [c for c in cases(engine) if c.summary.startswith("Nobody rang me back about my review")][-1:]
        assert done not in case.summary


def test_emoji_alone_gets_the_greeting_and_a_request_for_words_and_no_reference(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    replies = talk.say("😡😡😡")
    said = text_of(replies)
    assert wording.GREETING in said and wording.ASK_WORDS in said and "CSC-" not in said
    assert "CSC-" not in text_of(talk.say("👍"))
    assert "CSC-" not in text_of(talk.press("done")) and cases(engine) == []
    talk.say("Nobody rang me back.")
    assert "CSC-" in text_of(talk.press("done"))


def test_a_disclosure_as_the_very_first_message_gets_the_crisis_numbers_in_the_first_reply(engine) -> None:  # type: ignore[no-untyped-def]
    replies = Talk(engine, conversation()).say("My stepdad hits me.")
    first = replies[0].text
    for number in ("999", "0800 1111", "0808 800 5000"):
        assert number in first
    assert wording.GREETING not in first and wording.GREETING in text_of(replies[1:])


def test_every_greeting_and_help_carry_a_calm_way_to_get_help_now(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    greeting = talk.command("start")
    assert greeting[0].text.endswith(wording.HELP_NOW) and "999" in wording.HELP_NOW and "0800 1111" in wording.HELP_NOW
    assert wording.HELP_NOW in text_of(talk.command("help"))


def test_another_language_opens_a_case_marks_the_interpreter_need_and_says_so(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("Dzień dobry, chciałabym złożyć skargę na pracownika socjalnego mojego syna.")
    said = text_of(talk.press("done"))
    [case] = cases(engine)
    assert case.interpreter_needed == "pl" and wording.OWN_LANGUAGE in said and case.reference in said
    assert case.kind is not Kind.compliment  # unsure of the kind: the complaint clock runs while we ask


def test_an_old_button_says_so_and_then_where_we_are(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("Nobody rang me back.")
    talk.press("done")
    talk.press("advocate:no")
    replies = talk.press("kind:quick")
    assert replies[0].text == wording.UNKNOWN_BUTTON
    assert len(replies) > 1 and "CSC-" in text_of(replies[1:]) and wording.hear_by(STAGE_1_DUE) in text_of(replies[1:])


def test_whats_an_advocate_explains_then_asks_again(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("Nobody rang me back.")
    talk.press("done")
    replies = talk.press("advocate:what")
    assert replies[0].text.startswith(wording.ADVOCATE_WHAT_IS)  # the explanation first
    assert "December" not in text_of(replies)  # and no unrelated date before it
    assert buttons_of(replies) == [wording.ADVOCATE_YES, wording.ADVOCATE_NO]
    talk.press("advocate:no")
    with Session(engine) as session:
        [offer] = session.exec(select(Advocacy)).all()
        assert offer.answer is AdvocacyAnswer.no
        answers = [e.detail["answer"] for e in session.exec(select(AuditEvent).where(AuditEvent.action == "advocate_answer"))]
        assert answers == ["asked_what", "no"]


def test_when_the_classifier_is_unsure_it_asks_complaint_or_quick_fix_then_who_they_are(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation(classify=None))
    talk.say("The contact centre moved my Thursday visits and I was not asked.")
    replies = talk.press("done")
    assert wording.ASK_KIND == "Is this a thank-you, a worry you want sorted, or a complaint? You can change your mind later."
    assert buttons_of(replies) == [wording.KIND_THANKS, wording.KIND_QUICK, wording.KIND_COMPLAINT]
    [case] = cases(engine)
    assert case.kind is Kind.complaint and case.reference in text_of(replies)  # the complaint clock while we ask
    assert wording.hear_by(STAGE_1_DUE) in text_of(replies)
    replies = talk.press("kind:quick")
    assert wording.hear_by(QUICK_DUE) in text_of(replies)
    assert buttons_of(replies) == [wording.ROLE_YOUNG, wording.ROLE_FAMILY, wording.ROLE_OTHER]
    replies = talk.press("role:young")
    assert buttons_of(replies) == [wording.ADVOCATE_YES, wording.ADVOCATE_NO, wording.ADVOCATE_WHAT]
    [case] = cases(engine)
    assert case.kind is Kind.initial_feedback and case.stage is Stage.initial_feedback
    assert case.complainant_role is Role.child_or_young_person
    with Session(engine) as session:
        live = session.exec(select(Deadline).where(Deadline.case_id == case.id,
                                                   Deadline.status != DeadlineStatus.superseded)).all()
        assert {(d.kind, d.status) for d in live} == {(DeadlineKind.acknowledgement, DeadlineStatus.met),
                                                      (DeadlineKind.initial_feedback, DeadlineStatus.open)}


def test_a_family_member_is_not_offered_an_advocate(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation(classify=None))
    talk.say("My grandson was not told about the move.")
    talk.press("done")
    talk.press("kind:complaint")
    replies = talk.press("role:family")
    assert buttons_of(replies) == []
    assert wording.hear_by(STAGE_1_DUE) in text_of(replies)
    with Session(engine) as session:
        assert session.exec(select(Advocacy)).all() == []


def test_a_compliment_is_thanked_and_passed_on(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("I want to say thank you to Priya, she really listened.")
    replies = talk.press("done")
    assert wording.COMPLIMENT in text_of(replies) and buttons_of(replies) == []
    [case] = cases(engine)
    assert case.kind is Kind.compliment and case.stage is None


def test_a_safeguarding_risk_gets_the_safety_message_at_once_and_an_urgent_flag(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("I want to complain about my placement.")
    replies = talk.say("He hits me when I come home late.")
    assert replies[0].text.startswith(wording.SAFE_FIRST)
    for number in ("999", "0800 1111", "0808 800 5000"):
        assert number in replies[0].text
    [case] = cases(engine)
    assert case.safeguarding and case.reference in text_of(replies)
    with Session(engine) as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "safeguarding_flagged")).first()
    # The conversation stays open and kind: more words join the same case.
    later = talk.say("I am scared to go back tonight.")
    assert later and case.reference in text_of(later)
    assert len(cases(engine)) == 1


def test_a_child_who_discloses_still_gets_their_reference_date_and_the_advocate_offer(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    replies = talk.say("My stepdad hits me when mum is at work.")
    said = text_of(replies)
    assert "999" in said and said.index("999") < said.index("CSC-")  # safety first, then the rest
    assert "Monday 7 December 2026" in said
    assert buttons_of(replies)[-3:] == [wording.ADVOCATE_YES, wording.ADVOCATE_NO, wording.ADVOCATE_WHAT]
    [case] = cases(engine)
    assert case.safeguarding_level is SafeguardingLevel.disclosure
    with Session(engine) as session:
        [offer] = session.exec(select(Advocacy).where(Advocacy.case_id == case.id)).all()
    assert offer.offered_at is not None
    talk.press("advocate:yes")
    with Session(engine) as session:
        assert session.get(Advocacy, offer.id).answer is AdvocacyAnswer.yes


def test_a_possible_flag_is_for_officers_and_the_story_goes_on(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("They said I can't go on the trip to France.")
    replies = talk.say("and now I can't go and everyone else in my class is going")
    assert replies == []  # the story is still being told: no alarm, nothing closed
    assert cases(engine) == []
    said = text_of(talk.press("done"))
    assert wording.SAFE_FIRST not in said and "999" not in said and "CSC-" in said
    [case] = cases(engine)
    assert case.safeguarding_level is SafeguardingLevel.possible and case.safeguarding
    assert case.safeguarding_signals == ["model:0.20"]


def test_a_disclosure_after_the_case_is_open_flags_it_and_answers_with_help_first(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("Nobody rang me back.")
    talk.press("done")
    talk.press("advocate:no")
    replies = talk.say("Also I am not safe at home.")
    assert "999" in replies[0].text
    [case] = cases(engine)
    assert case.safeguarding


def test_status_says_the_stage_and_next_date_in_plain_words(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    assert wording.STATUS_NONE in text_of(talk.command("status"))
    talk.say("Nobody rang me back.")
    talk.press("done")
    talk.press("advocate:no")
    said = text_of(talk.command("status"))
    [case] = cases(engine)
    assert case.reference in said and wording.STAGE_WORDS["stage_1"] in said
    assert wording.hear_by(STAGE_1_DUE) in said


def test_new_starts_another_matter_and_status_still_finds_the_first(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("Nobody rang me back.")
    talk.press("done")
    talk.press("advocate:no")
    talk.command("new")
    talk.say("The taxi to contact was late again.")
    talk.press("done")
    first, second = cases(engine)
    assert first.reference != second.reference and second.kind is Kind.initial_feedback
    assert second.reference in text_of(talk.command("status"))


def test_a_restart_mid_story_carries_on_where_it_was(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("My savings were never paid.")
    restarted = Talk(engine, conversation(), address=talk.address)  # a new process: nothing in memory
    restarted.say("It has been two years.")
    restarted.press("done")
    [case] = cases(engine)
    assert "savings" in case.summary and "two years" in case.summary
    with Session(engine) as session:
        row = session.get(ConversationState, talk.key)
        assert row is not None and row.data["case_id"] == case.id


def test_an_old_button_is_answered_kindly_with_where_they_are_now(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    replies = talk.press("advocate:yes")
    assert replies[0].text == wording.UNKNOWN_BUTTON
    assert talk.press("done")[0].text == wording.NOTHING_YET


def test_a_photo_is_kept_and_the_sender_told_the_team_will_see_it(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation())
    talk.say("Here is the letter.")
    replies = talk.say("", what="photo")
    assert wording.media_kept("photo") in text_of(replies)
    talk.press("done")
    [case] = cases(engine)
    with Session(engine) as session:
        assert len(session.exec(select(Message).where(Message.case_id == case.id, Message.direction == Direction.inbound)).all()) == 2


def test_every_turn_about_a_complaint_says_what_happens_next_and_by_when(engine) -> None:  # type: ignore[no-untyped-def]
    for classify in (None, conversation().classify):
        talk = Talk(engine, conversation(classify=classify), address=f"chat-{classify is None}")
        talk.say("Nobody rang me back.")
        talk.press("done")
        if classify is None:
            talk.press("kind:complaint")
            talk.press("role:young")
        explained = talk.press("advocate:what")
        talk.press("advocate:yes")
        talk.say("One more thing: she never said sorry.")
        before_yes, after_yes = talk.turns[1:-3], talk.turns[-2:]
        for turn in before_yes:  # one date at a time: the one in force
            assert wording.hear_by(STAGE_1_DUE) in text_of(turn), text_of(turn)
        for turn in after_yes:  # the advocate gives stage 1 longer: from then on, the new date
            assert wording.hear_by(STAGE_1_EXTENDED) in text_of(turn) and wording.hear_by(STAGE_1_DUE) not in text_of(turn)
        assert "December" not in text_of(explained)  # "what's an advocate?" is answered with nothing else


def test_two_processes_answering_the_same_chat_at_once_lose_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    """A turn saved by another process in between makes this turn start again, on fresh state."""
    from bots.conversation import state as chat_state
    from bots.conversation import turn as turns
    from models.enums import Channel

    talk = Talk(engine, conversation())
    talk.say("First part.")
    calls = []

    def meanwhile(session, chat):  # type: ignore[no-untyped-def]
        calls.append(chat.data.get("parts"))
        if len(calls) == 1:  # another process saves this chat while we are in the middle
            other = Talk(engine, conversation(), address=talk.address)
            other.say("Second part, from elsewhere.")
        return talk.conversation.command(session, chat, "help", talk.now)

    turns.turn(engine, talk.key, Channel.webchat, talk.address, talk.now, meanwhile)
    assert len(calls) == 2 and len(calls[1]) == 2
    with Session(engine) as session:
        chat = chat_state.load(session, talk.key, Channel.webchat, talk.address)
        assert [p[1] for p in chat.parts] == ["First part.", "Second part, from elsewhere."]


def test_giving_the_reference_and_date_in_the_chat_meets_the_acknowledgement_deadline(engine) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(engine, conversation(classify=None))
    talk.say("Nobody rang me back.")
    talk.press("done")
    talk.press("kind:quick")  # the deadlines move; the acknowledgement stays met, not reopened
    with Session(engine) as session:
        acks = session.exec(select(Deadline).where(Deadline.kind == DeadlineKind.acknowledgement)).all()
        assert [(d.status, d.met_on) for d in acks] == [(DeadlineStatus.met, date(2026, 11, 23))]
