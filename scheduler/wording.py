"""Every sentence Heard sends to a person, in one place.

It lives in `scheduler` because that is the lowest layer that sends words (acknowledgements,
new dates, advocate follow-ups); intake and the bots import it from here. Sentences for
children and young people are short and plain (a reading age of about 9–11): say what
happens next and when, never promise an outcome, never blame, always say how to get help.
"""

from __future__ import annotations

from datetime import date

from scheduler.clock import day_label

SAFETY = (
    "If you are in danger now, call 999. "
    "If you are under 19, you can talk to Childline for free on 0800 1111, on the phone or online. "
    "If you are an adult worried about a child, call the NSPCC on 0808 800 5000. "
    "You can talk to Samaritans for free, day or night, on 116 123."
)

ADVOCATE_OFFER = (
    "You can have an advocate. An advocate is someone who is not from social care. "
    "They are on your side and can help you say what you want to say. Would you like one?"
)

ADVOCATE_EMAIL_HOW = 'To say yes, just reply to this email with the word "advocate".'
ADVOCATE_SPOKEN_HOW = "To say yes, just tell us: phone, write to or email the complaints team."


def hear_by(day: date) -> str:
    """`Monday 11 January 2027`: dates written out in full for people."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def acknowledgement_subject(reference: str) -> str:
    return f"We have your message [{reference}]"


def acknowledgement(reference: str, reply_by: date, *, young_person: bool, safeguarding: bool, compliment: bool,
                    by_hand: bool = False, late: bool = False) -> str:
    """The acknowledgement of a new representation: reference, what happens next, and when.

    `by_hand`: read out on the phone or posted by an officer (a call, a letter, a visit), so it
    says "told us", not "wrote", and asks for no email reply. `late`: the date to reply by has
    already passed (a letter logged long after it came), so no past date is promised.
    """
    parts: list[str] = []
    if safeguarding:
        said = "told us" if by_hand else "wrote"
        parts.append(f"Some of what you {said} makes us want to check you are safe. Someone will look at "
                     "your message today. " + SAFETY)
    if compliment:
        parts.append(
            f"Thank you for your kind words. Your reference is {reference}. "
            "We will pass your message on to the person you named and their manager."
        )
    else:
        when = (f"We should have got back to you by {hear_by(reply_by)}, and we are sorry we have not. "
                "We will get back to you as soon as we can.") if late else f"We will get back to you by {hear_by(reply_by)}."
        parts.append(
            f"Thanks for telling us. Your reference is {reference}. "
            f"Someone from the complaints team will read your message. {when}"
        )
        parts.append("If you contact us again about this, please give the reference." if by_hand
                     else "If you write to us again about this, please keep the reference in the subject.")
    if young_person and not compliment:
        parts.append(f"{ADVOCATE_OFFER} {ADVOCATE_SPOKEN_HOW if by_hand else ADVOCATE_EMAIL_HOW}")
    if not safeguarding:
        parts.append(f"If you are not safe, get help now. {SAFETY}")
    return "\n\n".join(parts) + "\n\nThe complaints team\n"


# Child-facing: the scheduler's messages to young people and families.

ADVOCATE_FOLLOW_UP = (
    "Hi again. A few days ago we asked if you would like an advocate. "
    "An advocate is someone who is not from social care and is on your side. "
    "They can help you say what you want to say. Would you like one?"
)


def advocate_new_date(reference: str, new_date: date) -> str:
    return (
        f"Thanks for saying yes to an advocate. We have asked for one for you. "
        f"Because of this, we now have a bit longer to reply about {reference}. "
        f"We will now get back to you by {hear_by(new_date)}."
    )


def extension_notice(reference: str, new_date: date, reason: str) -> str:
    return (
        f"We need more time to look at {reference} properly. The reason is: {reason}. "
        f"We will now reply by {hear_by(new_date)}. Sorry for the wait."
    )


# Officer-facing: reminders, escalations and the digest.

WHAT_IS_DUE = {
    "initial_feedback": "the initial feedback response",
    "stage_1": "the stage 1 response",
    "stage_2": "the stage 2 adjudication",
    "stage_3_panel": "the stage 3 review panel",
    "stage_3_report": "the stage 3 panel report",
    "stage_3_response": "the council's stage 3 response",
}


def reminder(reference: str, kind: str, due: date, days_left: int, explanation: str) -> tuple[str, str]:
    when = "today" if days_left == 0 else f"in {days_left} working day{'s' if days_left != 1 else ''}"
    subject = f"[{reference}] {WHAT_IS_DUE.get(kind, kind)} is due {when}"
    body = f"{WHAT_IS_DUE.get(kind, kind).capitalize()} for {reference} is due on {day_label(due)} ({when}).\n\nHow the date was worked out: {explanation}\n"
    return subject, body


def escalation(reference: str, kind: str, due: date, days_over: int) -> tuple[str, str]:
    subject = f"[{reference}] OVERDUE: {WHAT_IS_DUE.get(kind, kind)} ({days_over} working days late)"
    body = (f"{WHAT_IS_DUE.get(kind, kind).capitalize()} for {reference} was due on {day_label(due)} and is "
            f"{days_over} working day{'s' if days_over != 1 else ''} late. This message repeats weekly while it is overdue.\n")
    return subject, body


def acknowledgement_missed(reference: str, due: date) -> tuple[str, str]:
    return (f"[{reference}] not acknowledged in time",
            f"The acknowledgement of {reference} was due by {day_label(due)} and has not been sent.\n")
