"""The CSV layout for historic representations, and the checks each row must pass.

One row is one representation. Hand-written parsing rather than a model class: a million rows
must be read in well under a minute. Every check names the column and what is wrong, because
the person reading the error has the spreadsheet open beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from models.enums import AdvocacyAnswer, Channel, EnquirySource, Kind, Outcome, Procedure, Reason, Role, Stage

COLUMNS = (
    "reference",
    "kind",
    "received_on",
    "complainant_role",
    "enquiry_source",
    "procedure",
    "channel",
    "team",
    "reasons",
    "acknowledged_on",
    "stage_reached",
    "initial_feedback_responded_on",
    "stage_1_responded_on",
    "stage_1_outcome",
    "stage_1_extension_reason",
    "stage_2_requested_on",
    "stage_2_responded_on",
    "stage_2_outcome",
    "stage_2_extension_reason",
    "stage_3_requested_on",
    "stage_3_responded_on",
    "stage_3_outcome",
    "adr",
    "advocacy_offered",
    "advocacy_answer",
    "compensation",
    "child_ethnicity",
    "learning",
    "closed_on",
)
REQUIRED_COLUMNS = ("reference", "kind", "received_on")
STAGES = (Stage.stage_1, Stage.stage_2, Stage.stage_3)
STAGE_ORDER = {Stage.initial_feedback: 0, Stage.stage_1: 1, Stage.stage_2: 2, Stage.stage_3: 3}
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}
UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
MONEY = re.compile(r"^£?\s*(\d{1,9})(?:\.(\d{1,2}))?$")


class RowError(ValueError):
    """A row that cannot be imported; the message names the column."""


@dataclass(frozen=True)
class StageRow:
    stage: Stage
    started_on: date
    responded_on: date | None
    outcome: Outcome | None
    extension_reason: str = ""


@dataclass(frozen=True)
class Representation:
    """One validated row, ready to become a case and its stages, deadlines and advocacy offer."""

    reference: str
    kind: Kind
    received_on: date
    role: Role | None
    enquiry_source: EnquirySource | None
    procedure: Procedure
    channel: Channel
    team: str
    reasons: list[str]
    acknowledged_on: date | None
    stage: Stage | None
    stages: tuple[StageRow, ...]
    adr: bool
    advocacy_offered: bool
    advocacy_answer: AdvocacyAnswer | None
    compensation_pence: int
    child_ethnicity: str
    learning: str
    closed_on: date | None


def check_header(header: list[str]) -> list[str]:
    """The header, cleaned; a missing required column or an unknown one is an error."""
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise RowError(f"unknown column {unknown[0]!r}; the columns are: {', '.join(COLUMNS)}")
    missing = [n for n in REQUIRED_COLUMNS if n not in names]
    if missing:
        raise RowError(f"missing required column {missing[0]!r}")
    if len(set(names)) != len(names):
        raise RowError("a column appears twice in the header")
    return names


class RowReader:
    """Turns a CSV row (a dict of column → text) into a `Representation`, or raises `RowError`."""

    def __init__(self, today: date) -> None:
        self.today = today
        self._dates: dict[str, date] = {}

    def date(self, row: dict[str, str], column: str, *, required: bool = False) -> date | None:
        text = row.get(column, "").strip()
        if not text:
            if required:
                raise RowError(f"{column} is empty; it needs a date (YYYY-MM-DD or DD/MM/YYYY)")
            return None
        day = self._dates.get(text)
        if day is None:
            day = _parse_date(text, column)
            if day > self.today:
                raise RowError(f"{column} {text} is in the future")
            self._dates[text] = day
        return day

    def read(self, row: dict[str, str]) -> Representation:
        reference = row["reference"].strip()
        if not reference:
            raise RowError("reference is empty")
        if len(reference) > 32:
            raise RowError(f"reference {reference[:40]!r} is longer than 32 characters")
        kind = _choice(row, "kind", Kind, required=True)
        received = self.date(row, "received_on", required=True)
        assert kind is not None and received is not None
        reasons = _reasons(row.get("reasons", ""))
        stages = self._stages(row, kind, received)
        stage = _stage_reached(row, kind, stages)
        acknowledged = self.date(row, "acknowledged_on")
        _not_before(acknowledged, received, "acknowledged_on", "received_on")
        offered = _yes_no(row, "advocacy_offered")
        answer = _choice(row, "advocacy_answer", AdvocacyAnswer)
        if answer and not offered:
            raise RowError("advocacy_answer is given but advocacy_offered is not yes")
        closed = self.date(row, "closed_on")
        _not_before(closed, received, "closed_on", "received_on")
        team = row.get("team", "").strip()
        if len(team) > 120:
            raise RowError("team is longer than 120 characters")
        ethnicity = row.get("child_ethnicity", "").strip()
        if len(ethnicity) > 80:
            raise RowError("child_ethnicity is longer than 80 characters")
        channel = _choice(row, "channel", Channel) or Channel.email
        return Representation(
            reference=reference,
            kind=kind,
            received_on=received,
            role=_choice(row, "complainant_role", Role),
            enquiry_source=_choice(row, "enquiry_source", EnquirySource) or _enquiry_by(channel),
            procedure=_choice(row, "procedure", Procedure) or Procedure.statutory,
            channel=channel,
            team=team,
            reasons=reasons,
            acknowledged_on=acknowledged,
            stage=stage,
            stages=stages,
            adr=_yes_no(row, "adr"),
            advocacy_offered=offered,
            advocacy_answer=answer,
            compensation_pence=_money(row.get("compensation", "")),
            child_ethnicity=ethnicity,
            learning=row.get("learning", "").strip(),
            closed_on=closed,
        )

    def _stages(self, row: dict[str, str], kind: Kind, received: date) -> tuple[StageRow, ...]:
        if kind is Kind.compliment:
            used = [c for c in COLUMNS[11:22] if row.get(c, "").strip()]
            if used:
                raise RowError(f"{used[0]} is given for a compliment, which has no stages")
            return ()
        if kind is Kind.initial_feedback:
            used = [c for c in COLUMNS[12:22] if row.get(c, "").strip()]
            if used:
                raise RowError(f"{used[0]} is given for initial feedback; use initial_feedback_responded_on")
            responded = self.date(row, "initial_feedback_responded_on")
            _not_before(responded, received, "initial_feedback_responded_on", "received_on")
            return (StageRow(Stage.initial_feedback, received, responded, None),)
        if row.get("initial_feedback_responded_on", "").strip():
            raise RowError("initial_feedback_responded_on is given for a complaint; use stage_1_responded_on")
        found: list[StageRow] = []
        previous_end: date | None = None
        for number, stage in enumerate(STAGES, start=1):
            prefix = f"stage_{number}_"
            started = received if number == 1 else self.date(row, prefix + "requested_on")
            responded = self.date(row, prefix + "responded_on")
            outcome = _choice(row, prefix + "outcome", Outcome)
            extension = row.get(prefix + "extension_reason", "").strip() if number < 3 else ""
            if started is None:
                given = [c for c in (prefix + "responded_on", prefix + "outcome", prefix + "extension_reason") if row.get(c, "").strip()]
                if given:
                    raise RowError(f"{given[0]} is given but {prefix}requested_on is empty")
                break
            if number > 1:
                if previous_end is None:
                    raise RowError(f"{prefix}requested_on is given but stage {number - 1} has no response date")
                _not_before(started, previous_end, prefix + "requested_on", f"stage_{number - 1}_responded_on")
            _not_before(responded, started, prefix + "responded_on", "received_on" if number == 1 else prefix + "requested_on")
            if (responded is None) != (outcome is None):
                missing = prefix + ("outcome" if outcome is None else "responded_on")
                raise RowError(f"{missing} is empty; a stage response needs both its date and its outcome")
            found.append(StageRow(stage, started, responded, outcome, extension))
            previous_end = responded
        return tuple(found)


def _stage_reached(row: dict[str, str], kind: Kind, stages: tuple[StageRow, ...]) -> Stage | None:
    text = row.get("stage_reached", "").strip().lower()
    implied = stages[-1].stage if stages else None
    if not text:
        return implied
    if kind is Kind.compliment:
        raise RowError("stage_reached is given for a compliment, which has no stages")
    try:
        stage = Stage(text.replace(" ", "_"))
    except ValueError:
        raise RowError(f"stage_reached {text!r} is not one of: initial_feedback, stage_1, stage_2, stage_3") from None
    if stage is not implied:
        raise RowError(f"stage_reached is {stage.value} but the stage columns filled go to {implied.value if implied else 'none'}")
    return stage


def _parse_date(text: str, column: str) -> date:
    try:
        if match := UK_DATE.match(text):
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return date.fromisoformat(text)
    except ValueError:
        raise RowError(f"{column} {text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)") from None


def _not_before(day: date | None, earliest: date | None, column: str, other: str) -> None:
    if day is not None and earliest is not None and day < earliest:
        raise RowError(f"{column} {day.isoformat()} is before {other} {earliest.isoformat()}")


_EXACT: dict[type, dict[str, object]] = {}


def _enquiry_by(channel: Channel) -> EnquirySource | None:
    """A councillor's or MP's enquiry said by its channel alone (as Heard logs them) counts as one."""
    return EnquirySource(channel.value) if channel.value in {e.value for e in EnquirySource} else None


def _choice(row: dict[str, str], column: str, enum, *, required: bool = False):  # type: ignore[no-untyped-def]
    raw = row.get(column, "")
    exact = _EXACT.get(enum)
    if exact is None:
        exact = _EXACT[enum] = {m.value: m for m in enum}
    if raw in exact:
        return exact[raw]
    text = raw.strip().lower()
    if not text:
        if required:
            raise RowError(f"{column} is empty; it must be one of: {', '.join(m.value for m in enum)}")
        return None
    try:
        return enum(text.replace(" ", "_").replace("-", "_"))
    except ValueError:
        raise RowError(f"{column} {text!r} is not one of: {', '.join(m.value for m in enum)}") from None


def _yes_no(row: dict[str, str], column: str) -> bool:
    text = row.get(column, "").strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise RowError(f"{column} {text!r} must be yes or no")


def _reasons(text: str) -> list[str]:
    codes = [c.strip().lower() for c in text.replace(",", ";").split(";") if c.strip()]
    for code in codes:
        if code not in Reason.__members__:
            raise RowError(f"reasons: {code!r} is not a reason code; the codes are: {', '.join(Reason.__members__)}")
    return list(dict.fromkeys(codes))


def _money(text: str) -> int:
    text = text.strip().replace(",", "")
    if not text:
        return 0
    match = MONEY.match(text)
    if not match:
        raise RowError(f"compensation {text!r} is not an amount in pounds (e.g. 250 or 250.00)")
    pence = (match.group(2) or "0").ljust(2, "0")
    return int(match.group(1)) * 100 + int(pence)
