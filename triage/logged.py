"""Representations that reach an officer rather than Heard — a phone call, a letter, a visit,
a councillor's or MP's enquiry — typed in by the officer and taken in like any message.

What differs from the channels Heard receives itself:
1. the clock runs from the day the council received it, which the officer says (never a day
   still to come), not from the moment it is typed;
2. the officer's summary, or the letter's text, is what the classifier reads;
3. what the officer typed is kept as it was typed (raw first, like any adapter's input), and
   a scanned letter beside it, like an email's attachment;
4. the acknowledgement goes by email when there is an address; otherwise the officer sends
   it by post or phone and records that they did (the case page says what to send);
5. councillor and MP enquiries are counted as such in the annual report.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Attachment, Case, ChannelIdentity, Contact, Message
from models.enums import Channel, Direction, EnquirySource, MessageState
from models import values
from scheduler.clock import Clock, day_label
from triage.cleaning import normalise
from triage.intake import Classify, sender_contact_id, take_in
from triage.language import other_language

LOGGED = [c for c in Channel if c.logged]
SAID = {  # how the story names each, e.g. "Letter received Mon 16 Nov 2026"
    Channel.phone: "Phone call", Channel.letter: "Letter", Channel.in_person: "Visit in person",
    Channel.councillor: "Councillor's enquiry", Channel.mp: "MP's enquiry",
}
ENQUIRY = {Channel.councillor: EnquirySource.councillor, Channel.mp: EnquirySource.mp}
MAX_TEXT = 100_000  # a long letter; more is a document to attach, not to type
MAX_NAME = 200  # Contact.display_name
MAX_ADDRESS = 1_000
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
PHONE = re.compile(r"\+?[0-9 ()\-.]+")
_HIDDEN = {"Cc", "Cf", "Zl", "Zp"}  # control and invisible characters: never part of a name or a number
# What a scan may be, told by its first bytes (a browser's or a script's content type is only a claim).
SCAN_TYPES = (
    (b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"), (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True)
class Scan:
    """A scanned letter, checked: a PDF or an image within the size limit."""

    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Logged:
    """A representation as an officer logs it, every value checked."""

    channel: Channel
    received_on: date
    text: str
    name: str
    email: str = ""
    phone: str = ""
    postal_address: str = ""
    scan: Scan | None = None

    @property
    def contact(self) -> dict[str, str]:
        """How to reach them, as typed: kept on the message, shown when acknowledging by hand."""
        return {"name": self.name, "email": self.email, "phone": self.phone, "postal_address": self.postal_address}

    @property
    def from_line(self) -> str:
        """Who it is from, on one line: the story's "From …" and what search finds them by."""
        address = ", ".join(line.strip() for line in self.postal_address.splitlines() if line.strip())
        return " · ".join(part for part in (self.name, self.phone, self.email, address) if part)[:320]


@dataclass(frozen=True)
class Typed:
    """The values as they came from a form or the API, before checking."""

    channel: str
    received_on: str
    text: str
    name: str = ""
    email: str = ""
    phone: str = ""
    postal_address: str = ""


def read(typed: Typed, today: date) -> Logged:
    """The checked representation, or `BadValue` saying in plain words what is wrong."""
    values.without_nul(list(vars(typed).items()))
    channel = _channel(typed.channel)
    received_on = _received_on(typed.received_on, today)
    text = typed.text.strip()
    if not text:
        raise values.BadValue("write the officer's summary of the call or visit, or the letter's text: it is empty")
    if len(text) > MAX_TEXT:
        raise values.BadValue(f"the text is {len(text):,} characters long; the most is {MAX_TEXT:,} (attach a long letter as a scan)")
    name = _visible(" ".join(typed.name.split()), "the name")
    if not name:
        raise values.BadValue("say who it is from: their name (or, for someone who would not give it, \"anonymous\")")
    if len(name) > MAX_NAME:
        raise values.BadValue(f"the name is {len(name)} characters long; the most is {MAX_NAME}")
    address = typed.postal_address.strip()
    if len(address) > MAX_ADDRESS:
        raise values.BadValue(f"the postal address is {len(address):,} characters long; the most is {MAX_ADDRESS:,}")
    return Logged(channel, received_on, text, name, _email(typed.email), _phone(typed.phone), address)


def _channel(raw: str) -> Channel:
    choices = ", ".join(c.value for c in LOGGED)
    if not raw.strip():
        raise values.BadValue(f"say how it came: one of {choices}")
    try:
        channel = Channel(raw.strip())
    except ValueError:
        channel = None
    if channel is None or not channel.logged:
        raise values.BadValue(f"the channel {values.shown(raw, 20)} is not one of {choices}")
    return channel


def _received_on(raw: str, today: date) -> date:
    if not raw.strip():
        raise values.BadValue("say the day it was received (YYYY-MM-DD): the clock runs from that day")
    day = values.day(raw, "the day it was received", default=today)
    if day > today:
        raise values.BadValue(f"the day it was received, {day_label(day)}, is after today ({day_label(today)}): "
                              "the clock runs from the day the council received it, which cannot be still to come")
    return day


def _visible(text: str, what: str) -> str:
    text = unicodedata.normalize("NFC", text)
    hidden = [c for c in text if unicodedata.category(c) in _HIDDEN]
    if hidden:
        codes = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(hidden))
        raise values.BadValue(f"{what} holds invisible or control characters ({codes}): type it again")
    return text


def _email(raw: str) -> str:
    """An address as the email intake stores a sender's (lower case), so their mail finds them."""
    email = _visible(raw.strip(), "the email address").lower()
    if not email:
        return ""
    if len(email) > 320 or not EMAIL.fullmatch(email):
        raise values.BadValue(f"the email address {values.shown(raw)} is not an address like name@example.org")
    return email


def _phone(raw: str) -> str:
    """A number as typed (spaces tidied): 7 to 15 digits, with +, spaces, brackets, dots or dashes."""
    phone = " ".join(_visible(raw, "the phone number").split())
    if not phone:
        return ""
    digits = sum(c.isdigit() for c in phone)
    if not PHONE.fullmatch(phone) or not phone.isascii() or not 7 <= digits <= 15:
        raise values.BadValue(f"the phone number {values.shown(raw)} is not a phone number (7 to 15 digits, like 07700 900123)")
    return phone


def scan_of(filename: str, content: bytes, limit: int) -> Scan:
    """A scanned letter: a PDF or an image (told by its first bytes), at most `limit` bytes."""
    if not content:
        raise values.BadValue("the scan is an empty file: scan the letter again")
    if len(content) > limit:
        raise values.BadValue(f"the scan is {_size(len(content))}; the most is {_size(limit)}: scan it at a lower resolution")
    kind = next((t for magic, t in SCAN_TYPES if content.startswith(magic)), None)
    if kind is None and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        kind = "image/webp"
    if kind is None:
        raise values.BadValue(f"the scan {values.shown(filename)} is not a PDF or an image (JPEG, PNG, TIFF, GIF or WebP)")
    name = _visible(" ".join(filename.replace("\\", "/").split("/")[-1].split()), "the scan's file name")[:255]
    return Scan(name or "scan", kind, content)


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def received_at(day: date, zone: ZoneInfo, now: datetime) -> datetime:
    """When it was received: now, if today; otherwise noon of that day (the hour is not known;
    noon keeps it on its own day in every zone a council uses, as the importer does)."""
    if day == now.astimezone(zone).date():
        return now
    return datetime.combine(day, time(12), zone).astimezone(UTC)


def log(session: Session, logged: Logged, *, once: str, officer: str, clock: Clock, zone: ZoneInfo, now: datetime,
        classify: Classify | None = None) -> Case:
    """Take in a logged representation: a new case, classified and clocked from the day received.

    `once` makes the same form sent twice (a double click) one case: the second time, the first
    case comes back. The caller commits.
    """
    key = f"logged:{once}"
    done = earlier(session, once)
    if done is not None:
        return done
    suggestion = classify(normalise(logged.text)) if classify else None  # before the first write: SQLite's lock is short
    contact = _contact(session, logged)
    message = Message(
        dedupe_key=key, channel=logged.channel, direction=Direction.inbound, state=MessageState.processed,
        raw_json={"logged_by": officer, "logged_at": now.isoformat(), "channel": logged.channel.value,
                  "received_on": logged.received_on.isoformat(), "contact": logged.contact, "text": logged.text,
                  "scan": logged.scan.filename if logged.scan else None},
        sender=logged.from_line, text=logged.text, clean_text=normalise(logged.text),
        subject=f"{SAID[logged.channel]} received {day_label(logged.received_on)}, logged by {officer}"[:10_000],
        received_at=received_at(logged.received_on, zone, now), processed_at=now, contact_id=contact.id,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except sa.exc.IntegrityError:  # the same form, sent twice at once: the other one won
        return session.get_one(Case, session.exec(select(Message.case_id).where(Message.dedupe_key == key)).one())
    if logged.scan:
        s = logged.scan
        session.add(Attachment(message_id=message.id, filename=s.filename, content_type=s.content_type, size=len(s.content),
                               sha256=s.sha256, content=s.content, note=f"scanned letter, added by {officer}"[:255]))
    outcome = take_in(session, message, clock=clock, zone=zone, now=now, contact=contact,
                      classify=(lambda _text: suggestion) if suggestion is not None else None,
                      acknowledge_to=logged.email or None, acknowledge_on=Channel.email if logged.email else None)
    case = outcome.case
    case.enquiry_source = ENQUIRY.get(logged.channel)
    case.interpreter_needed = other_language(logged.text) or ""
    return case


def earlier(session: Session, once: str) -> Case | None:
    """The case already logged with this `once`, if any."""
    case_id = session.exec(select(Message.case_id).where(Message.dedupe_key == f"logged:{once}")).first()
    return session.get(Case, case_id) if case_id is not None else None


def _contact(session: Session, logged: Logged) -> Contact:
    """Someone who has emailed us before is the same contact (their mail threads to them);
    anyone else is new: a phone number or a postal address is shared by a household, so it
    identifies nobody."""
    known = sender_contact_id(session, Channel.email, logged.email) if logged.email else None
    if known is not None:
        contact = session.get_one(Contact, known)
        contact.display_name = contact.display_name or logged.name
        return contact
    contact = Contact(display_name=logged.name)
    session.add(contact)
    session.flush()
    if logged.email:
        session.add(ChannelIdentity(contact_id=contact.id, channel=Channel.email, address=logged.email))
    return contact
