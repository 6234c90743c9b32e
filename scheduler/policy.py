"""The council policy: timescales for both procedures, closures, reminders, advocacy and retention.

A council's TOML file is laid over the built-in defaults (`default_policy.toml`, the numbers of
docs/timescales.md), so it need only say what differs. Every value is validated; a mistake is reported
as one line naming the file and the key.
"""

from __future__ import annotations

import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from models.enums import Procedure

DEFAULT_POLICY = Path(__file__).with_name("default_policy.toml")


class PolicyError(Exception):
    """The policy file is unreadable or wrong; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Council(_Strict):
    name: str
    complaints_email: str
    complaints_manager_email: str
    complaints_team_email: str


class CalendarPolicy(_Strict):
    extra_closures: dict[date, str] = Field(default_factory=dict)
    non_working_day_receipt: Literal["next_working_day", "as_received"] = "next_working_day"


class Timescales(_Strict):
    """Working days for each step of one procedure. Stage 3 exists only in the statutory one."""

    acknowledgement: PositiveInt
    initial_feedback: PositiveInt
    stage_1: PositiveInt
    stage_1_extended: PositiveInt
    stage_2_request_window: PositiveInt
    stage_2: PositiveInt
    stage_2_extended: PositiveInt
    stage_2_starts_from: Literal["request", "statement_agreed"] = "request"
    stage_3_request_window: PositiveInt | None = None
    stage_3_panel: PositiveInt | None = None
    stage_3_report: PositiveInt | None = None
    stage_3_response: PositiveInt | None = None
    time_limit_months: PositiveInt = 12

    @model_validator(mode="after")
    def _coherent(self) -> Timescales:
        if self.stage_1_extended < self.stage_1:
            raise ValueError(
                f"stage_1_extended ({self.stage_1_extended}) must be at least stage_1 ({self.stage_1})"
            )
        if self.stage_2_extended < self.stage_2:
            raise ValueError(
                f"stage_2_extended ({self.stage_2_extended}) must be at least stage_2 ({self.stage_2})"
            )
        stage_3 = [self.stage_3_request_window, self.stage_3_panel, self.stage_3_report, self.stage_3_response]
        if any(v is None for v in stage_3) and any(v is not None for v in stage_3):
            raise ValueError("stage 3 needs all of stage_3_request_window, _panel, _report and _response, or none")
        return self

    @property
    def has_stage_3(self) -> bool:
        return self.stage_3_panel is not None


class Reminders(_Strict):
    before_due: list[int] = Field(default_factory=lambda: [3, 1, 0])
    escalation_repeat: PositiveInt = 5
    digest_time: time = time(8, 30)
    advocacy_follow_up_after: PositiveInt = 2

    @model_validator(mode="after")
    def _non_negative(self) -> Reminders:
        if any(d < 0 for d in self.before_due):
            raise ValueError("before_due days must be 0 or more")
        return self


class AdvocacyPolicy(_Strict):
    provider_name: str
    provider_email: str
    # Placeholders: {provider}, {reference}, {name}, {help_wanted}, {safe_contact}, {channel}, {council}
    referral_template: str = (
        "Dear {provider},\n\nA young person who has raised a concern with {council} would like an advocate.\n\n"
        "Reference: {reference}\nName they gave: {name}\nWhat they want help with: {help_wanted}\n"
        "How to contact them safely: {safe_contact}\nThey talked to us by: {channel}\n\n"
        "They agreed to this referral and to us sharing these details with you.\n\n{council} complaints team\n"
    )


class SecurityPolicy(_Strict):
    # Who must sign in with a second factor (an authenticator app's code) as well as a password:
    # "managers" means managers and admins; "everyone" means every officer.
    two_factor: Literal["managers", "everyone"] = "managers"


class RetentionPolicy(_Strict):
    """How long personal data is kept. When a period ends, the personal data goes and an
    anonymous statistical record stays, so published figures never change."""

    case_years: PositiveInt = 6  # a case and everything about it, after it closes
    compliment_years: PositiveInt = 2  # a compliment, after it closes
    not_a_case_days: PositiveInt = 90  # auto-replies and bounces that never became a case, after they came
    raw_email_days: PositiveInt = 90  # an email's original bytes, after it was read (its text stays with the case)
    sign_in_days: PositiveInt = 180  # officers' ended sign-ins and sign-in attempts (addresses, browsers), after they ended


class Policy(_Strict):
    council: Council
    calendar: CalendarPolicy = CalendarPolicy()
    statutory: Timescales
    corporate: Timescales
    reminders: Reminders = Reminders()
    advocacy: AdvocacyPolicy
    security: SecurityPolicy = SecurityPolicy()
    retention: RetentionPolicy = RetentionPolicy()

    @model_validator(mode="after")
    def _statutory_has_stage_3(self) -> Policy:
        if not self.statutory.has_stage_3:
            raise ValueError("statutory: the statutory procedure needs its stage 3 timescales")
        return self

    def timescales(self, procedure: Procedure) -> Timescales:
        return self.statutory if procedure is Procedure.statutory else self.corporate


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "extra_closures":
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None


def load_policy(path: Path | None = None) -> Policy:
    data = _read(DEFAULT_POLICY)
    source = DEFAULT_POLICY
    if path is not None:
        data, source = _merge(data, _read(path)), path
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        raise PolicyError(f"{source}: {where}: {message}") from None
