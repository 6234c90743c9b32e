"""One typed settings object, read from `HEARD_*` environment variables.

Any setting may instead be read from a file named by `HEARD_<NAME>_FILE` (for secrets
mounted by an orchestrator); a value set directly wins over the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

PREFIX = "HEARD_"


class SettingsError(Exception):
    """A setting is missing or wrong; the message names it."""


class _FileSource(PydanticBaseSettingsSource):
    """Reads `HEARD_<NAME>_FILE` for every field: the file's content, stripped, is the value."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        path = os.environ.get(f"{PREFIX}{field_name.upper()}_FILE")
        if not path:
            return None, field_name, False
        try:
            return Path(path).read_text(encoding="utf-8").strip(), field_name, False
        except OSError as exc:
            raise SettingsError(
                f"{PREFIX}{field_name.upper()}_FILE: cannot read {path}: {exc.strerror}"
            ) from exc

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class Settings(BaseSettings):
    """Everything Heard reads from its environment. Each field is one row of the README table."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", validate_default=True)

    database_url: str = Field(
        "sqlite:///var/heard.db",
        description="SQLAlchemy URL of the case record: SQLite file (default) or postgresql+psycopg://…",
    )
    smtp_host: str = Field("127.0.0.1", description="Address the SMTP intake listens on.")
    smtp_port: int = Field(2525, ge=1, le=65535, description="Port the SMTP intake listens on.")
    complaint_addresses: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["complaints@heard.localhost"],
        description="Addresses the SMTP intake accepts mail for (comma-separated); others get 550.",
    )
    smtp_max_message_bytes: int = Field(
        25 * 1024 * 1024, ge=1024, description="Largest message accepted over SMTP (then 552)."
    )
    smtp_tls_cert: str = Field("", description="PEM certificate file; when set, the SMTP intake offers STARTTLS.")
    smtp_tls_key: str = Field("", description="PEM private key file for the STARTTLS certificate.")
    attachment_max_bytes: int = Field(
        10 * 1024 * 1024, ge=0, description="Attachments larger than this are recorded but their content is not kept."
    )
    email_workers: int = Field(
        1, ge=1, le=16,
        description="Processes turning stored mail into cases. More than one only on PostgreSQL (SQLite has one writer).",
    )
    web_host: str = Field("127.0.0.1", description="Address the web app (officers' UI, web chat) listens on.")
    web_port: int = Field(8000, ge=1, le=65535, description="Port the web app listens on.")
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Key that signs web sessions; generated and kept under var/ when empty.",
    )
    session_idle_minutes: int = Field(
        30, ge=1, le=24 * 60, description="Minutes without a request after which an officer is signed out."
    )
    session_lifetime_hours: float = Field(
        12, gt=0, le=24 * 7, description="Hours after signing in when a session ends however busy it is."
    )
    public_url: str = Field(
        "",
        description="The web app's address as officers reach it (https://heard.example.gov.uk). Links are built on it, "
                    "and requests for any other host are refused (400); empty allows only localhost and HEARD_WEB_HOST.",
    )
    web_secure_cookies: bool = Field(
        True, description="Mark web cookies Secure (HTTPS only; browsers also allow them on http://localhost and 127.0.0.1)."
    )
    telegram_token: SecretStr = Field(
        SecretStr(""), description="Telegram bot token; the bot runs only when this is set."
    )
    telegram_api_base: str = Field(
        "https://api.telegram.org", description="Bot API base URL (for a local Bot API server)."
    )
    telegram_mode: Literal["polling", "webhook"] = Field(
        "polling", description="How the Telegram bot gets updates: long polling, or a webhook Telegram posts to."
    )
    telegram_webhook_url: str = Field("", description="Public https:// URL Telegram posts updates to (webhook mode).")
    telegram_webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (webhook mode): 16–256 of A–Z a–z 0–9 _ -.",
    )
    telegram_webhook_host: str = Field("127.0.0.1", description="Address the Telegram webhook listens on (webhook mode).")
    telegram_webhook_port: int = Field(8081, ge=1, le=65535, description="Port the Telegram webhook listens on (webhook mode).")
    chat_pause_seconds: int = Field(
        120, ge=5, description="A pause this long closes a story told in a chat, as \"That's everything\" would."
    )
    relay_host: str = Field("", description="Outbound mail relay host; empty keeps mail in the outbox.")
    relay_port: int = Field(587, ge=1, le=65535, description="Outbound mail relay port.")
    relay_username: str = Field("", description="Outbound mail relay user name.")
    relay_password: SecretStr = Field(SecretStr(""), description="Outbound mail relay password.")
    relay_starttls: bool = Field(True, description="Use STARTTLS with the outbound relay.")
    mail_from: str = Field(
        "complaints@heard.localhost", description="From address of everything Heard sends by email."
    )
    policy_file: Path | None = Field(
        None, description="Council policy file (TOML); empty uses the built-in defaults (docs/timescales.md)."
    )
    timezone: str = Field("Europe/London", description="Time zone that working days are counted in.")
    sweep_interval_seconds: int = Field(
        30, ge=1, description="How often the scheduler's sweep runs."
    )
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token that opens the web app's /metrics to a scraper (an admin's session opens it too); empty: sessions only.",
    )
    metrics_port: int = Field(
        0, ge=0, le=65535,
        description="Loopback port on which a `heard serve` process without the web app serves its own /metrics; 0: none.",
    )
    ready_parts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["email", "scheduler"],
        description="Parts /readyz wants a live heartbeat from (comma-separated: email, scheduler; empty: none).",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines on stderr: `text` for people, `json` (one object a line) for a log collector."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least important of Heard's own log lines to write; other libraries write WARNING and above."
    )

    @field_validator("complaint_addresses", mode="before")
    @classmethod
    def _split_addresses(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ready_parts", mode="before")
    @classmethod
    def _split_parts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip().lower() for part in value.split(",") if part.strip()]
        wrong = [part for part in value if part not in ("email", "scheduler")]
        if wrong:
            raise ValueError(f"{wrong[0]!r} does not report in; the parts that do are email and scheduler")
        return value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _any_case(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str):
            return value.strip().upper() if info.field_name == "log_level" else value.strip().lower()
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        value = value.strip().rstrip("/")
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
            raise ValueError(f"{value!r} is not a web address like https://heard.example.gov.uk (no path)")
        return value

    @field_validator("policy_file")
    @classmethod
    def _policy_exists(cls, value: Path | None) -> Path | None:
        if value is not None and str(value) and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value or None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(**overrides: Any) -> Settings:
    """Read the environment, turning any validation problem into one line naming the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = PREFIX + "_".join(str(part) for part in first["loc"][:1]).upper()
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
