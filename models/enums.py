"""String enums of the case record. Stored as plain strings (no native PostgreSQL enums),
so adding a value never needs a type migration."""

from enum import StrEnum


class Channel(StrEnum):
    email = "email"
    telegram = "telegram"
    webchat = "webchat"
    # Representations that reach an officer, who logs them: Heard cannot write back on these.
    phone = "phone"
    letter = "letter"
    in_person = "in_person"
    councillor = "councillor"  # an enquiry from a councillor on someone's behalf
    mp = "mp"  # an enquiry from an MP on someone's behalf

    @property
    def logged(self) -> bool:
        """Typed in by an officer (a call, a letter, a visit, an enquiry), not received by Heard."""
        return self.value in LOGGED_CHANNELS

    @property
    def written_on(self) -> "Channel":
        """Where Heard writes to the person: the same channel, or email for one an officer logged
        (no sender delivers a phone call or a letter; an outbox row there would wait for ever)."""
        return Channel.email if self.logged else self


LOGGED_CHANNELS = frozenset({"phone", "letter", "in_person", "councillor", "mp"})


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class Kind(StrEnum):
    initial_feedback = "initial_feedback"
    complaint = "complaint"
    compliment = "compliment"


class Reason(StrEnum):
    communication = "communication"
    staff_conduct = "staff_conduct"
    decision = "decision"
    assessment = "assessment"
    delay = "delay"
    lack_of_support = "lack_of_support"
    family_time = "family_time"
    placement_care = "placement_care"
    finance = "finance"
    confidentiality_records = "confidentiality_records"
    change_of_worker = "change_of_worker"
    voice_not_heard = "voice_not_heard"


class Role(StrEnum):
    child_or_young_person = "child_or_young_person"
    care_leaver = "care_leaver"
    parent_or_family = "parent_or_family"
    foster_carer = "foster_carer"
    professional = "professional"
    other = "other"


class SafeguardingLevel(StrEnum):
    """How sure Heard is that a message tells of a child at risk (docs/safeguarding.md: a guess never alarms a child)."""

    disclosure = "disclosure"  # explicit words of current harm or danger: crisis reply, urgent
    possible = "possible"  # something a recall-tuned model noticed: officers check, the person is not alarmed


class Procedure(StrEnum):
    statutory = "statutory"
    corporate = "corporate"


class Stage(StrEnum):
    """Where a case is in its procedure. Compliments have no stage."""

    initial_feedback = "initial_feedback"
    stage_1 = "stage_1"
    stage_2 = "stage_2"
    stage_3 = "stage_3"
    ombudsman = "ombudsman"


class CaseStatus(StrEnum):
    open = "open"
    responded = "responded"  # a stage response is recorded; the next stage's window runs
    closed = "closed"
    merged = "merged"


class TriageState(StrEnum):
    needs_review = "needs_review"
    confirmed = "confirmed"


class Outcome(StrEnum):
    upheld = "upheld"
    partially_upheld = "partially_upheld"
    not_upheld = "not_upheld"
    withdrawn = "withdrawn"
    no_finding = "no_finding"
    outside_jurisdiction = "outside_jurisdiction"


class EnquirySource(StrEnum):
    """Councillors and MPs make representations on someone's behalf; reports count them."""

    councillor = "councillor"
    mp = "mp"


class DeadlineKind(StrEnum):
    acknowledgement = "acknowledgement"
    initial_feedback = "initial_feedback"
    stage_1 = "stage_1"
    stage_2_request = "stage_2_request"
    stage_2 = "stage_2"
    stage_3_request = "stage_3_request"
    stage_3_panel = "stage_3_panel"
    stage_3_report = "stage_3_report"
    stage_3_response = "stage_3_response"


class DeadlineStatus(StrEnum):
    open = "open"
    met = "met"
    missed = "missed"
    superseded = "superseded"  # replaced by a later deadline (extension, conversion, closure)


class OutboxStatus(StrEnum):
    draft = "draft"  # an officer's reply shown to them before sending: no sender ever claims it
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"  # permanent: shown to officers
    suppressed = "suppressed"  # loop protection or an unreachable person: deliberately not sent


class AdvocacyAnswer(StrEnum):
    yes = "yes"
    no = "no"
    asked_what = "asked_what"


class OfficerRole(StrEnum):
    officer = "officer"
    manager = "manager"
    admin = "admin"


class MessageState(StrEnum):
    """Raw first: a message is `stored` before anything else, then `processed` (or `failed`)."""

    stored = "stored"
    processed = "processed"
    failed = "failed"
    ignored = "ignored"  # bounces, auto-replies, duplicates of content already threaded
