"""Who writes to us (contacts and their channel identities) and who works cases (officers, teams)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.columns import enum_field, json_field, utc_field, utcnow
from models.enums import Channel, OfficerRole, Role


class Team(SQLModel, table=True):
    """A team or service area that answers complaints (e.g. "Leaving Care", "Fostering")."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    service_area: str = Field(default="", max_length=120)
    manager_email: str = Field(default="", max_length=320)


class Contact(SQLModel, table=True):
    """A person who made a representation. One person may reach us on several channels."""

    id: int | None = Field(default=None, primary_key=True)
    display_name: str = Field(default="", max_length=200)
    role: Role | None = enum_field(Role, default=None, nullable=True)
    consent_to_contact: bool = Field(default=True)
    unreachable: bool = Field(default=False)  # e.g. blocked the bot (Telegram 403)
    created_at: datetime = utc_field(default_factory=utcnow, nullable=False)


class ChannelIdentity(SQLModel, table=True):
    """How to reach a contact on one channel: an email address, a Telegram chat, a web chat session."""

    __table_args__ = (sa.UniqueConstraint("channel", "address", name="uq_identity_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: Channel = enum_field(Channel)
    address: str = Field(max_length=320)
    created_at: datetime = utc_field(default_factory=utcnow, nullable=False)


class Officer(SQLModel, table=True):
    """Someone who signs in to the web app."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    email: str = Field(default="", max_length=320)
    role: OfficerRole = enum_field(OfficerRole, default=OfficerRole.officer)
    password_hash: str = Field(default="", max_length=255)
    active: bool = Field(default=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    created_at: datetime = utc_field(default_factory=utcnow, nullable=False)
    # Two-factor sign-in (TOTP): the shared secret, set at enrolment and confirmed by a first code.
    totp_secret: str = Field(default="", max_length=64)
    totp_confirmed_at: datetime | None = utc_field(default=None)
    totp_last_step: int = Field(default=0)  # a code's time step is used once: no replay
    recovery_codes: list[str] = json_field(list)  # SHA-256 of each unused one-time recovery code
