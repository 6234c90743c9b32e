"""The conversation with a young person or family member, written once for every chat channel.

An adapter stores what arrived (raw first), loads the `Chat`, calls one method here inside the
same database transaction, saves the `Chat`, commits, and only then shows the `Reply`s —
as buttons on Telegram, as buttons in the web chat.

The steps:
1. Greeting: what Heard is for and, in one short paragraph, what happens to what they write.
2. Story: one or several messages, closed by "That's everything" (tapped or typed) or by a
   pause. Emoji or a sticker alone is not a story yet: we ask for words.
3. The story becomes a case (intake), classified. A disclosure (explicit words of harm) gets
   the safety message at once, before anything else, and an urgent flag — at any point, even
   mid-story — and then the rest of the conversation as for anyone else. A `possible` flag
   is for officers only: the person is not alarmed on a guess, and the story goes on.
4. Complaint or initial feedback: the reference and the date they will hear by; only if the
   classifier is unsure, "a thank-you, a worry you want sorted, or a complaint?" (the case runs
   the complaint clock until they answer: a complaint is never thanked as a compliment); only
   if unknown, "you or someone helping?"; then the advocate offer to every child or young
   person (recorded as made only when it is shown; asking for one in words is a yes).
   Compliment: thanks, passed on. Another language: a case opens, officers see that an
   interpreter is needed, and the person is told they can write in their own language.
5. Open: later messages join the case; /status, /help, /privacy and /new work throughout.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bots.conversation import casework, wording
from bots.conversation.state import Chat
from models import Case, Message
from models.enums import AdvocacyAnswer, CaseStatus, Kind, Role
from scheduler.clock import Clock
from triage.intake import Classify, Suggestion
from triage.language import other_language

GREETINGS = re.compile(r"^\W*(hi|hiya|hello|hey|hallo|yo|start|good (morning|afternoon|evening))\W*$", re.IGNORECASE)
# Typed ways of saying "That's everything".
FINISHED = re.compile(
    r"^\W*(that'?s|that is|thats)? ?(everything|it|all|all for now|all i want to say)\W*$|^\W*(i'?m |im )?(done|finished)\W*$"
    r"|^\W*(nothing else|no more|that'?s everything thanks?( you)?)\W*$",
    re.IGNORECASE,
)
ASKS_FOR_ADVOCATE = re.compile(
    r"\b(can|could|may) (i|we) (have|get|please have)\b.{0,25}\badvocate\b|\b(i|we)('d| would)? (want|like|need)\b.{0,20}\badvocate\b"
    r"|\badvocate,? (please|pls|plz)\b|\byes\b.{0,20}\badvocate\b",
    re.IGNORECASE,
)
REFUSES_ADVOCATE = re.compile(r"\b(no|not|don'?t|do not|never)\b.{0,30}\badvocate\b|\bwhat('?s| is) an advocate\b", re.IGNORECASE)
COMMANDS = ("start", "help", "status", "privacy", "new")
KINDS = {"complaint": Kind.complaint, "quick": Kind.initial_feedback, "thanks": Kind.compliment}
ROLES = {"young": Role.child_or_young_person, "family": Role.parent_or_family, "other": Role.other}
ANSWERS = {"yes": AdvocacyAnswer.yes, "no": AdvocacyAnswer.no, "what": AdvocacyAnswer.asked_what}


@dataclass(frozen=True)
class Button:
    label: str
    value: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    urgent: bool = False  # the crisis reply: shown before anything else in the same turn


def _wordless(text: str) -> bool:
    """Emoji, stickers, punctuation: nothing to read yet."""
    return not any(ch.isalnum() for ch in text)


DONE = (Button(wording.DONE, "done"),)
KIND_BUTTONS = (Button(wording.KIND_THANKS, "kind:thanks"), Button(wording.KIND_QUICK, "kind:quick"),
                Button(wording.KIND_COMPLAINT, "kind:complaint"))
ROLE_BUTTONS = (Button(wording.ROLE_YOUNG, "role:young"), Button(wording.ROLE_FAMILY, "role:family"),
                Button(wording.ROLE_OTHER, "role:other"))
ADVOCATE_BUTTONS = (Button(wording.ADVOCATE_YES, "advocate:yes"), Button(wording.ADVOCATE_NO, "advocate:no"),
                    Button(wording.ADVOCATE_WHAT, "advocate:what"))
# What a disclosure gets at once, before anything else in the turn.
CRISIS = (Reply(f"{wording.SAFE_FIRST} {wording.SAFETY}", urgent=True), Reply(wording.SAFE_AFTER))
# What a newcomer sees first, on every channel (the web chat shows it before the first post).
GREETING = (Reply(f"{wording.GREETING}\n{wording.HELP_NOW}"), Reply(wording.PRIVACY_SHORT), Reply(wording.ASK_STORY, DONE))


class Conversation:
    def __init__(self, clock: Clock, zone: ZoneInfo, classify: Classify | None = None, *,
                 pause: timedelta = timedelta(minutes=2), help_text: str = wording.HELP,
                 language: Callable[[str], str | None] | None = other_language) -> None:
        self.clock, self.zone, self.classify, self.pause, self.help_text = clock, zone, classify, pause, help_text
        self.language = language  # the language of a text when it is surely not English, else None

    @property
    def privacy_text(self) -> str:
        """What is kept, for how long (the policy's retention period) and how to ask for it."""
        return wording.privacy(self.clock.policy.retention.case_years)

    # --- what can arrive -------------------------------------------------------------------

    def command(self, session: Session, chat: Chat, name: str, now: datetime) -> list[Reply]:
        name = name.lower().lstrip("/")
        if name == "start":
            return self._greet(chat, now)
        if name == "help":
            return [Reply(f"{self.help_text}\n{wording.HELP_NOW}"), *self._prompt(session, chat)]
        if name == "privacy":
            return [Reply(self.privacy_text), *self._prompt(session, chat)]
        if name == "status":
            return self._status(session, chat)
        if name == "new":
            chat.state, chat.data = "story", {"address": chat.address, "parts": []}
            return [Reply(wording.NEW_MATTER), Reply(wording.ASK_STORY, DONE)]
        return [Reply(self.help_text)]

    def message(self, session: Session, chat: Chat, message: Message | int, now: datetime, *, text: str | None = None,
                what: str = "") -> list[Reply]:
        """Words (or a photo, voice note or document, named by `what`) from the person.

        `message` is the stored inbound message, or its id with its `text` (so a story part
        costs no extra read; the message is loaded only when it joins a case)."""
        if isinstance(message, Message):
            text, message = message.clean_text or message.text, message.id  # type: ignore[assignment]
        assert isinstance(message, int)
        text = (text or "").strip()
        kept = [Reply(wording.media_kept(what))] if what else []
        if not what and text.startswith("/") and text[1:].split(maxsplit=1)[0].split("@")[0].lower() in COMMANDS:
            return self.command(session, chat, text[1:].split(maxsplit=1)[0].split("@")[0], now)
        if chat.state is None:
            greeting = self._greet(chat, now)
            if GREETINGS.match(text) and not what:
                return greeting
            if _wordless(text) and not what:
                return self.no_words(session, chat, now, greeting=greeting)
            told = self._story_part(session, chat, message, text or f"[{what}]", now, kept)
            urgent = [r for r in told if r.urgent]  # a disclosure's crisis reply comes first of all
            return urgent + greeting[:-1] + [r for r in told if not r.urgent]
        if chat.state == "story":
            if not what and FINISHED.match(text):
                return self.close(session, chat, now)
            if _wordless(text) and not what:
                return [Reply(wording.ASK_WORDS)]
            return self._story_part(session, chat, message, text or f"[{what}]", now, kept)
        case = self._case(session, chat)
        if case is None:  # state without a case (should not happen): start the story again
            chat.state = "story"
            return self._story_part(session, chat, message, text or f"[{what}]", now, kept)
        case = casework.thread_message(session, session.get_one(Message, message), case, clock=self.clock, zone=self.zone,
                                       now=now)
        chat.data["case_id"] = case.id
        replies = self._safety_check(session, case, text, now)
        if not what and ASKS_FOR_ADVOCATE.search(text) and not REFUSES_ADVOCATE.search(text):
            return replies + self._advocate(session, chat, case, AdvocacyAnswer.yes, now)
        replies += kept or [Reply(wording.added(case.reference))]
        return self._finish(session, chat, case, replies + self._prompt(session, chat))

    def no_words(self, session: Session, chat: Chat, now: datetime, *, greeting: list[Reply] | None = None) -> list[Reply]:
        """Emoji or a sticker alone: greet a newcomer, and ask for words. No reference until there are words."""
        if chat.state is None and greeting is None:
            greeting = self._greet(chat, now)
        return [*(greeting or [])[:-1], Reply(wording.ASK_WORDS, DONE if chat.parts else ())]

    def press(self, session: Session, chat: Chat, value: str, now: datetime) -> list[Reply]:
        """A button: "That's everything", the kind, the role, the advocate answer, or a new matter."""
        group, _, choice = value.partition(":")
        if value == "done" and chat.state in (None, "story"):
            return self.close(session, chat, now)
        if value == "new":
            return self.command(session, chat, "new", now)
        case = self._case(session, chat)
        if case is not None and group == "kind" and choice in KINDS and chat.state == "kind":
            return self._kind(session, chat, case, KINDS[choice], now)
        if case is not None and group == "role" and choice in ROLES and chat.state == "role":
            return self._role(session, chat, case, ROLES[choice], now)
        if case is not None and group == "advocate" and choice in ANSWERS and chat.state in ("advocate", "open"):
            return self._advocate(session, chat, case, ANSWERS[choice], now)
        where = self._prompt(session, chat) or self._status(session, chat)
        return [Reply(wording.UNKNOWN_BUTTON), *where]

    def close_if_paused(self, session: Session, chat: Chat, now: datetime) -> list[Reply]:
        """A pause in the story closes it, as "That's everything" would."""
        last = chat.data.get("last_at")
        if chat.state != "story" or not chat.parts or not last or now - datetime.fromisoformat(last) < self.pause:
            return []
        return self.close(session, chat, now)

    # --- the story becomes a case ----------------------------------------------------------

    def close(self, session: Session, chat: Chat, now: datetime) -> list[Reply]:
        if not chat.parts:
            return [Reply(wording.NOTHING_YET)]
        if all(_wordless(part[1]) for part in chat.parts):
            return [Reply(wording.ASK_WORDS)]  # no reference until there are words
        ids = [part[0] for part in chat.parts]
        messages = sorted(session.exec(select(Message).where(Message.id.in_(ids))).all(), key=lambda m: ids.index(m.id))
        story = "\n\n".join(part[1] for part in chat.parts if part[1])
        suggestion = self._suggest(story)
        outcome = casework.open_case(session, messages, story, suggestion, clock=self.clock, zone=self.zone, now=now)
        case = outcome.case
        chat.data = {"address": chat.address, "case_id": case.id, "parts": []}
        replies: list[Reply] = []
        if suggestion.disclosure:
            replies += CRISIS
        if outcome.opened and self.language is not None and (language := self.language(story)):
            casework.interpreter_needed(session, case, language, chat.channel, now)
            replies.append(Reply(wording.OWN_LANGUAGE))
        if not outcome.opened:
            chat.state = "open"
            return self._finish(session, chat, case, replies + [Reply(wording.added(case.reference))])
        casework.acknowledged(session, case, chat.channel, now, self.zone)
        unsure = suggestion.kind is None or suggestion.needs_review
        if suggestion.kind is Kind.compliment and not unsure:
            chat.state = "open"
            return replies + [Reply(wording.COMPLIMENT), Reply(wording.compliment_reference(case.reference))]
        if unsure and case.kind is not Kind.complaint:  # the safe default while we ask: the complaint clock
            casework.set_kind(session, case, Kind.complaint, clock=self.clock, zone=self.zone, now=now)
        due = casework.reply_by(session, case)
        opening = wording.reference_line(case.reference) + (f" {wording.next_step(due)}" if due else "")
        replies.append(Reply(opening))
        if unsure:
            chat.state = "kind"
            return replies + [Reply(wording.ASK_KIND, KIND_BUTTONS)]
        return self._finish(session, chat, case, replies + self._after_kind(session, chat, case, now))

    def _story_part(self, session: Session, chat: Chat, message_id: int, text: str, now: datetime,
                    kept: list[Reply]) -> list[Reply]:
        chat.state = "story"
        first = not chat.parts
        chat.data["parts"] = [*chat.parts, [message_id, text]]
        chat.data["last_at"] = now.isoformat()
        if self.classify is not None and not _wordless(text) and self.classify(text).disclosure:
            return self.close(session, chat, now)  # at once: never wait for the rest of the story
        if kept:
            return [*kept, Reply(wording.GOT_IT, DONE)] if first else kept
        return [Reply(wording.GOT_IT, DONE)] if first else []

    def _suggest(self, story: str) -> Suggestion:
        return (self.classify(story) if self.classify else None) or Suggestion()

    # --- the questions after the story -----------------------------------------------------

    def _after_kind(self, session: Session, chat: Chat, case: Case, now: datetime) -> list[Reply]:
        if case.kind is Kind.compliment:
            chat.state = "open"
            return [Reply(wording.COMPLIMENT), Reply(wording.compliment_reference(case.reference))]
        if case.complainant_role is None:
            chat.state = "role"
            return [Reply(wording.ASK_ROLE, ROLE_BUTTONS)]
        if case.complainant_role in casework.YOUNG:
            casework.offer_advocate(session, case, chat.channel, now)
            chat.state = "advocate"
            return [Reply(wording.ADVOCATE_OFFER, ADVOCATE_BUTTONS)]
        chat.state = "open"
        return []

    def _kind(self, session: Session, chat: Chat, case: Case, kind: Kind, now: datetime) -> list[Reply]:
        casework.set_kind(session, case, kind, clock=self.clock, zone=self.zone, now=now)
        if kind is Kind.compliment:
            return self._after_kind(session, chat, case, now)
        due = casework.reply_by(session, case)
        said = (wording.quick(due) if kind is Kind.initial_feedback else wording.formal(due)) if due else ""
        return self._finish(session, chat, case, [Reply(said)] * bool(said) + self._after_kind(session, chat, case, now))

    def _role(self, session: Session, chat: Chat, case: Case, role: Role, now: datetime) -> list[Reply]:
        casework.set_role(session, case, role, now)
        return self._finish(session, chat, case, self._after_kind(session, chat, case, now))

    def _advocate(self, session: Session, chat: Chat, case: Case, answer: AdvocacyAnswer, now: datetime) -> list[Reply]:
        casework.answer_advocate(session, case, answer, chat.channel, chat.address, now)
        if answer is AdvocacyAnswer.asked_what:  # the explanation first, and no date in the way
            chat.state = "advocate"
            return [Reply(f"{wording.ADVOCATE_WHAT_IS} {wording.ADVOCATE_MORE}", ADVOCATE_BUTTONS[:2])]
        if chat.state in ("advocate", "open"):
            chat.state = "open"
        if answer is AdvocacyAnswer.no:
            return self._finish(session, chat, case, [Reply(wording.ADVOCATE_NO_REPLY)])
        # A yes gives stage 1 longer, to arrange the advocate: the new date, once, now.
        new_date = casework.extend_for_advocate(session, case, self.clock, self.zone, now)
        said = wording.advocate_yes(new_date) if new_date else wording.ADVOCATE_YES_REPLY
        return self._finish(session, chat, case, [Reply(said), *self._prompt(session, chat)])

    # --- helpers ---------------------------------------------------------------------------

    def _greet(self, chat: Chat, now: datetime) -> list[Reply]:
        if chat.state != "story":  # a story already begun is kept; anything else starts afresh
            chat.state, chat.data = "story", {"address": chat.address, "parts": []}
        return list(GREETING)

    def _safety_check(self, session: Session, case: Case, text: str, now: datetime) -> list[Reply]:
        if not text or self.classify is None:
            return []
        suggestion = self.classify(text)
        if not suggestion.safeguarding:
            return []
        casework.flag_safeguarding(session, case, suggestion, now, case.channel)
        if not suggestion.disclosure:
            return []  # for officers: the person is not alarmed on a guess
        return list(CRISIS)

    def _case(self, session: Session, chat: Chat) -> Case | None:
        return session.get(Case, chat.case_id) if chat.case_id else None

    def _prompt(self, session: Session, chat: Chat) -> list[Reply]:
        """Ask again whatever the conversation is waiting for."""
        if chat.state == "story":
            return [Reply(wording.ASK_STORY if not chat.parts else wording.GOT_IT, DONE)]
        if chat.state == "kind":
            return [Reply(wording.ASK_KIND, KIND_BUTTONS)]
        if chat.state == "role":
            return [Reply(wording.ASK_ROLE, ROLE_BUTTONS)]
        if chat.state == "advocate":
            return [Reply(wording.ADVOCATE_OFFER, ADVOCATE_BUTTONS)]
        if chat.state is None:
            return [Reply(wording.ASK_STORY, DONE)]
        return []

    def _finish(self, session: Session, chat: Chat, case: Case, replies: list[Reply]) -> list[Reply]:
        """Every turn about a complaint says what happens next and by when."""
        if case.kind is Kind.compliment or case.status is not CaseStatus.open:
            return replies
        due = casework.reply_by(session, case)
        if due is None or any(wording.hear_by(due) in r.text for r in replies):
            return replies
        line = Reply(wording.still_by(due))
        if replies and replies[-1].buttons:  # keep the question (and its buttons) last
            return [*replies[:-1], line, replies[-1]]
        return [*replies, line]

    def _status(self, session: Session, chat: Chat) -> list[Reply]:
        case = self._case(session, chat) or casework.latest_case(session, chat.channel, chat.address)
        if case is None:
            return [Reply(wording.STATUS_NONE), *self._prompt(session, chat)]
        lines = [wording.status_reference(case.reference)]
        if case.kind is Kind.compliment:
            lines.append(wording.STATUS_COMPLIMENT)
        elif case.status is CaseStatus.closed:
            lines.append(wording.CLOSED_WORDS)
        else:
            if case.status is CaseStatus.responded:
                lines.append(wording.RESPONDED_WORDS)
            elif case.stage is not None:
                lines.append(wording.STAGE_WORDS[case.stage.value])
            if (due := casework.reply_by(session, case)) is not None:
                lines.append(wording.status_reply_by(due))
            elif (until := casework.ask_again_until(session, case)) is not None:
                lines.append(wording.status_ask_again(until))
        return [Reply(" ".join(lines)), *self._prompt(session, chat)]
