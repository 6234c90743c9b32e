"""Every sentence the chat says to a young person or their family, in one place.

The shared sentences (how to get help now, the advocate offer, how dates are written) come
from `scheduler.wording`, so email and chat never say them differently. Everything here is
short and plain — a reading age of about 9–11 (Flesch–Kincaid grade 6 or below, checked by
a test) — says what happens next and when, never promises an outcome and never blames.
"""

from __future__ import annotations

from datetime import date

from scheduler.wording import ADVOCATE_OFFER, SAFETY, hear_by

__all__ = ["ADVOCATE_OFFER", "SAFETY", "hear_by"]

# Button labels (short, so they fit a phone screen).
DONE = "That's everything"
KIND_COMPLAINT = "A complaint"
KIND_QUICK = "A worry to sort out"
KIND_THANKS = "A thank-you"
ROLE_YOUNG = "I'm the young person"
ROLE_FAMILY = "I'm family or a carer"
ROLE_OTHER = "Someone else"
ADVOCATE_YES = "Yes please"
ADVOCATE_NO = "No thanks"
ADVOCATE_WHAT = "What's an advocate?"
NEW = "Tell us something new"

HELP_NOW = "If you are not safe right now, call 999. You can call Childline free on 0800 1111."

GREETING = (
    "Hello, this is Heard. You can tell the council's complaints team about something in social care. "
    "It can be a worry, a problem or a thank-you."
)

PRIVACY_SHORT = (
    "What you write is kept safe by the council. Only the complaints team and the people who need "
    "to sort it out will read it. If we think you are not safe, we will tell people who can help."
)



def privacy(years: int) -> str:
    """The answer to /privacy (and the web chat's privacy page): what is kept, for how long (from
    the council's policy) and how to ask for it."""
    period = "1 year" if years == 1 else f"{years} years"
    return (
        f"{PRIVACY_SHORT}\n"
        "What we keep: your messages, your name, and how to reach you. We also keep notes the team writes. "
        "We do not share them with anyone else.\n"
        f"How long: we keep them until {period} after we finish looking at what you told us. "
        "Then we delete them.\n"
        "You can ask to see everything we keep about you. You can ask us to fix it if it is wrong. "
        "Just ask us here in the chat. You can also ask the complaints team by email. "
        "We will send it to you within one month."
    )

ASK_STORY = (
    "Tell us what happened, in your own words. You can send one message or a few. "
    f'When you have told us everything, tap "{DONE}".'
)

GOT_IT = f'Thank you. You can send more if you want. When you are done, tap "{DONE}".'

NOTHING_YET = "You have not told us anything yet. Tell us what happened, in your own words."

ASK_KIND = "Is this a thank-you, a worry you want sorted, or a complaint? You can change your mind later."

ASK_WORDS = "Thank you. Now please tell us in words what happened. Then we can help."

OWN_LANGUAGE = (
    "You can write to us in your own language. The team will get it translated. "
    "It will not slow down your reply."
)

ASK_ROLE = "Is this about you? Or are you helping someone else?"

SAFE_FIRST = "Thank you for telling us. You did the right thing. We want you to be safe."

SAFE_AFTER = (
    "Someone from our team will look at this today. "
    "You can keep writing to us here. We are still here for you."
)

ADVOCATE_WHAT_IS = (
    "An advocate is a person who helps you have your say. They do not work for social care. "
    "They listen to you and help you tell us what you want. It is free. "
    "You can say no now and change your mind later."
)

ADVOCATE_MORE = "Would you like one?"

ADVOCATE_YES_REPLY = (
    "Great. We will ask an advocate to get in touch with you. "
    "We will share your reference number and what you told us with them."
)

ADVOCATE_NO_REPLY = "That's fine. If you want one later, just tell us here."

COMPLIMENT = (
    "Thank you for your kind words. We will pass your message on to the person you named. "
    "We will tell their manager too."
)

MEDIA_KEPT = "Thank you. We have kept your {what}. The team will see it."

GROUP_REFUSAL = (
    "Sorry, I can only talk in a private chat. "
    "Please send me a message on your own. Then only you and the team will see it."
)

NO_MATTER = "You have not told us about anything yet. Tell us what happened, in your own words."

NEW_MATTER = "OK, let's start something new."

UNKNOWN_BUTTON = "Sorry, that button is old. Here is where we are now."

HELP = (
    "Here is what you can do. Tell us what happened in your own words. "
    'Send "/status" to see where things are. '
    'Send "/new" to tell us about something else. '
    'Send "/privacy" to see what happens to what you write.'
)

HELP_WEB = (
    "Here is what you can do. Tell us what happened in your own words. "
    'Tap "Where are we?" to see where things are. '
    f'Tap "{NEW}" to tell us about something else.'
)

ADDED = "Thank you. We have added this to {reference}. The team will read it."

STATUS_NONE = "You have not told us about anything yet. Tell us what happened, in your own words."

STAGE_WORDS = {
    "initial_feedback": "The team is trying to sort it out quickly.",
    "stage_1": "The team is looking into your complaint.",
    "stage_2": "Someone new is now looking at your complaint.",
    "stage_3": "A panel is looking at your complaint again.",
    "ombudsman": "The Ombudsman is looking at your complaint.",
}

CLOSED_WORDS = "We have finished looking at this. If you are not happy, tell us here."

STATUS_COMPLIMENT = "We have passed on your thanks to the person you named."

RESPONDED_WORDS = "We have sent you our answer."


def reference_line(reference: str) -> str:
    return f"Thank you for telling us. Your reference is {reference}."


def next_step(reply_by: date) -> str:
    """What happens next and when: the sentence every reply about a complaint carries."""
    return f"What happens next: someone from the complaints team will read it. We will get back to you by {hear_by(reply_by)}."


def quick(reply_by: date) -> str:
    return f"OK, we will try to sort it out quickly. We will get back to you by {hear_by(reply_by)}."


def formal(reply_by: date) -> str:
    return f"OK, we will treat this as a complaint. We will get back to you by {hear_by(reply_by)}."


def advocate_yes(new_date: date) -> str:
    """A yes to an advocate: what happens, and the one new date (stage 1 is given longer for it)."""
    return (f"{ADVOCATE_YES_REPLY} This gives us a bit longer to reply. "
            f"We will now get back to you by {hear_by(new_date)}.")


def still_by(reply_by: date) -> str:
    return f"We will still get back to you by {hear_by(reply_by)}."


def compliment_reference(reference: str) -> str:
    return f"Your reference is {reference}."


def status_reference(reference: str) -> str:
    return f"Your reference is {reference}."


def status_reply_by(day: date) -> str:
    return f"We will get back to you by {hear_by(day)}."


def status_ask_again(day: date) -> str:
    return f"Not happy with our answer? You can ask us to look at it again. The last day to ask is {hear_by(day)}."


def media_kept(what: str) -> str:
    return MEDIA_KEPT.format(what=what)


def added(reference: str) -> str:
    return ADDED.format(reference=reference)


def every_sentence(sample_day: date, sample_reference: str = "CSC-2026-00042") -> dict[str, str]:
    """Every child-facing text, filled in with samples, for the reading-age test."""
    fixed = {name: value for name, value in globals().items()
             if name.isupper() and isinstance(value, str) and len(value.split()) > 3}
    fixed.update({f"STAGE_WORDS[{k}]": v for k, v in STAGE_WORDS.items()})
    filled = {
        "reference_line": reference_line(sample_reference),
        "next_step": next_step(sample_day),
        "quick": quick(sample_day),
        "formal": formal(sample_day),
        "still_by": still_by(sample_day),
        "advocate_yes": advocate_yes(sample_day),
        "compliment_reference": compliment_reference(sample_reference),
        "status_reply_by": status_reply_by(sample_day),
        "status_ask_again": status_ask_again(sample_day),
        "media_kept": media_kept("voice note"),
        "added": added(sample_reference),
        "privacy": privacy(6),
        "privacy(1 year)": privacy(1),
    }
    return fixed | filled
