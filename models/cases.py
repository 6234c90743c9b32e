"""The case: one representation (or several merged), its triage, stages, deadlines and advocacy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.columns import enum_field, json_field, utc_field, utcnow
from models.enums import (
    AdvocacyAnswer,
    CaseStatus,
    Channel,
    DeadlineKind,
    DeadlineStatus,
    EnquirySource,
    Kind,
    Outcome,
    Procedure,
    Reason,
    Role,
    SafeguardingLevel,
    Stage,
    TriageState,
)


class ReferenceSequence(SQLModel, table=True):
    """The last reference number issued in a year, so `CSC-2026-00042` is never issued twice."""

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = Field(default=0)


class Case(SQLModel, table=True):
    # The triage queue reads working cases by (status, triage_state, safeguarding) first.
    __table_args__ = (sa.Index("ix_case_queue", "status", "triage_state", "safeguarding"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True)
    kind: Kind | None = enum_field(Kind, default=None, nullable=True, index=True)
    reasons: list[Reason] = json_field(list)
    primary_reason: Reason | None = enum_field(Reason, default=None, nullable=True)
    complainant_role: Role | None = enum_field(Role, default=None, nullable=True)
    enquiry_source: EnquirySource | None = enum_field(EnquirySource, default=None, nullable=True)
    procedure: Procedure = enum_field(Procedure, default=Procedure.statutory)
    stage: Stage | None = enum_field(Stage, default=None, nullable=True, index=True)
    status: CaseStatus = enum_field(CaseStatus, default=CaseStatus.open, index=True)
    channel: Channel = enum_field(Channel)  # the channel it first came in on
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    owner_id: int | None = Field(default=None, foreign_key="officer.id", index=True)
    summary: str = Field(default="", sa_type=sa.Text)  # opening words, for the queue
    # Triage: what the classifier suggested and who confirmed it.
    triage_state: TriageState = enum_field(TriageState, default=TriageState.needs_review, index=True)
    triage_confidence: float | None = Field(default=None)
    triage_detail: dict[str, Any] = json_field(dict)
    triage_confirmed_by_id: int | None = Field(default=None, foreign_key="officer.id")
    triage_confirmed_at: datetime | None = utc_field()
    # Safeguarding comes before the procedure. `safeguarding` is true at either level (the queue
    # index reads it); only `disclosure` is urgent and speaks to the person.
    safeguarding: bool = Field(default=False, index=True)
    safeguarding_level: SafeguardingLevel | None = enum_field(SafeguardingLevel, default=None, nullable=True)
    safeguarding_signals: list[str] = json_field(list)
    safeguarding_referral_at: datetime | None = utc_field()
    eligibility_flags: list[str] = json_field(list)  # court_proceedings, over_12_months, on_behalf
    interpreter_needed: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})  # the language they wrote in (ISO 639-1), if not English
    possible_escalation: bool = Field(default=False)
    # Outcomes beyond the stages.
    adr: bool = Field(default=False)
    adr_note: str = Field(default="", sa_type=sa.Text)
    compensation_pence: int = Field(default=0)
    learning: str = Field(default="", sa_type=sa.Text)
    child_ethnicity: str = Field(default="", max_length=80)
    merged_into_id: int | None = Field(default=None, foreign_key="case.id")
    # Opened from a message naming this other case, whose sender was not a contact on it:
    # officers judge whether it belongs there (and merge it) or not.
    names_case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    received_at: datetime = utc_field(default_factory=utcnow, nullable=False, index=True)
    closed_at: datetime | None = utc_field()
    created_at: datetime = utc_field(default_factory=utcnow, nullable=False)
    # Two officers on one case: every officer's save moves the version on, and a save based on
    # an older version is refused, naming who changed it and when.
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    changed_by: str = Field(default="", max_length=120, sa_column_kwargs={"server_default": ""})
    changed_at: datetime | None = utc_field()
    # Retention: when the personal data went, and by which rule. What is left is the anonymous
    # statistical record the annual report counts.
    erased_at: datetime | None = utc_field()
    erased_rule: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})

    @property
    def disclosure(self) -> bool:
        """An explicit disclosure: urgent, and the person is given the crisis reply."""
        return self.safeguarding_level is SafeguardingLevel.disclosure

    def flag_safeguarding(self, level: SafeguardingLevel | None, signals: list[str] | tuple[str, ...] = ()) -> bool:
        """Raise the flag to `level` (never lower it: only an officer clears or lowers a flag)
        and add the signals. True when the level went up."""
        self.safeguarding_signals = sorted({*self.safeguarding_signals, *signals})
        if level is None or self.safeguarding_level is SafeguardingLevel.disclosure or level == self.safeguarding_level:
            return False
        self.safeguarding_level, self.safeguarding = level, True
        return True

    def set_safeguarding(self, level: SafeguardingLevel | None) -> None:
        """An officer's decision: any level, or none."""
        self.safeguarding_level, self.safeguarding = level, level is not None


class StageRecord(SQLModel, table=True):
    """One stage of one case: when it started, when it was answered, and the outcome."""

    __table_args__ = (sa.UniqueConstraint("case_id", "stage", name="uq_stage_case_stage"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    stage: Stage = enum_field(Stage)
    started_on: date
    responded_on: date | None = Field(default=None)
    outcome: Outcome | None = enum_field(Outcome, default=None, nullable=True)
    note: str = Field(default="", sa_type=sa.Text)
    recorded_by_id: int | None = Field(default=None, foreign_key="officer.id")


class Deadline(SQLModel, table=True):
    """A date something must happen by, with the arithmetic that produced it in words."""

    __table_args__ = (
        sa.Index("ix_deadline_status_due", "status", "due_on"),
        sa.Index("ix_deadline_status_next_action", "status", "next_action_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: DeadlineKind = enum_field(DeadlineKind)
    due_on: date
    explanation: str = Field(default="", sa_type=sa.Text)
    status: DeadlineStatus = enum_field(DeadlineStatus, default=DeadlineStatus.open)
    met_on: date | None = Field(default=None)
    original_due_on: date | None = Field(default=None)  # set when extended
    extension_reason: str = Field(default="", sa_type=sa.Text)
    extended_by_id: int | None = Field(default=None, foreign_key="officer.id")
    # The scheduler's bookmark: the day of the next reminder or escalation, and the last one sent.
    next_action_on: date | None = Field(default=None)
    last_action: str = Field(default="", max_length=32)
    created_at: datetime = utc_field(default_factory=utcnow, nullable=False)


class Advocacy(SQLModel, table=True):
    """The offer of an advocate to a child or young person, their answer, and the referral."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    offered_at: datetime = utc_field(default_factory=utcnow, nullable=False)
    offered_on_channel: Channel = enum_field(Channel)
    answer: AdvocacyAnswer | None = enum_field(AdvocacyAnswer, default=None, nullable=True)
    answered_at: datetime | None = utc_field()
    followed_up_at: datetime | None = utc_field()
    help_wanted: str = Field(default="", sa_type=sa.Text)
    safe_contact: str = Field(default="", sa_type=sa.Text)
    consent_to_share: bool = Field(default=False)
    referral_sent_at: datetime | None = utc_field()
    referral_outbox_id: int | None = Field(default=None, foreign_key="outboxitem.id")
