"""Subject access (UK GDPR article 15): everything Heard holds about one person, found by an
email address, a phone number or a Telegram chat, as one zip a manager can send them.

1. `find` resolves the address to contacts: a channel identity with that address (any
   channel; emails compared without case), and, for a phone number, the logged calls and
   letters whose contact details carry the same digits.
2. Their cases are the cases they opened and the cases they wrote on. Everything on those
   cases is about them: messages (text and the original as received), attachments, outbox
   items, audit entries, deadlines, stages, advocacy.
3. Words officers marked as a third party's details are replaced by "[withheld]"; the
   original of a message with marks is withheld whole (it holds the same words), and the
   answer lists each withholding and why.
4. `index.html` (escaped, no scripts: its policy forbids them) and `data.json` say the same.
"""

from __future__ import annotations

import calendar
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa
from sqlmodel import Session, select

from models import (Advocacy, Attachment, AuditEvent, Case, ChannelIdentity, Contact, Deadline, Message, OutboxItem,
                    StageRecord, SubjectAccessRequest, Withholding, values, write_audit)
from models.enums import Channel

WITHHELD = "[withheld]"
_LOGGED = [c for c in Channel if c.logged]
_TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                                trim_blocks=True, lstrip_blocks=True)


class NobodyFound(Exception):
    """No contact, message or outbox item has this address."""


def one_calendar_month(received: date) -> date:
    """The same day next month; when next month has no such day, its last day (31 Jan → 28/29 Feb)."""
    year, month = (received.year + 1, 1) if received.month == 12 else (received.year, received.month + 1)
    return date(year, month, min(received.day, calendar.monthrange(year, month)[1]))


def checked_address(raw: str) -> str:
    address = values.short_text(raw, "the address", 320).strip()
    if not address:
        raise values.BadValue("give an email address, a phone number or a Telegram chat id")
    return address


def record_request(session: Session, address: str, received_on: date, *, actor: str, now: datetime,
                   officer_id: int | None = None) -> SubjectAccessRequest:
    """A new request (audited); due one calendar month from the day it was received."""
    request = SubjectAccessRequest(address=checked_address(address), received_on=received_on,
                                   due_on=one_calendar_month(received_on), recorded_by=actor[:120], recorded_at=now)
    session.add(request)
    session.flush()
    write_audit(session, at=now, actor=actor[:120], officer_id=officer_id, action="subject_access_requested",
                request_id=request.id, received_on=received_on.isoformat(), due_on=request.due_on.isoformat())
    return request


def _digits(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return "0" + digits[2:] if digits.startswith("44") else digits  # +44 7700 … is 07700 …


@dataclass
class Found:
    contact_ids: set[int] = field(default_factory=set)
    message_ids: set[int] = field(default_factory=set)  # found directly (logged calls with the number)
    addresses: set[str] = field(default_factory=set)  # the address as identities and outbox recipients hold it


def find(session: Session, address: str) -> Found:
    found = Found()
    found.addresses = {address.lower(), address.lower().removeprefix("telegram:").strip()}
    found.contact_ids |= set(session.exec(select(ChannelIdentity.contact_id).where(
        sa.func.lower(ChannelIdentity.address).in_(found.addresses))))
    digits = _digits(address)
    if 7 <= len(digits) <= 15 and not re.search(r"[A-Za-z@]", address):
        for message_id, contact_id, raw in session.execute(
                sa.select(Message.id, Message.contact_id, Message.raw_json).where(Message.channel.in_(_LOGGED))):
            phone = ((raw or {}).get("contact") or {}).get("phone") or ""
            if phone and _digits(phone) == digits:
                found.message_ids.add(message_id)
                if contact_id is not None:
                    found.contact_ids.add(contact_id)
    return found


@dataclass
class Archive:
    data: bytes
    counts: dict[str, int]

    @property
    def summary(self) -> str:
        return ", ".join(f"{n} {name}" for name, n in self.counts.items())


def _redact(value: Any, marks: list[Withholding]) -> Any:
    """Every string in `value` (dicts and lists walked) with each marked phrase replaced, longest first."""
    if isinstance(value, dict):
        return {k: _redact(v, marks) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, marks) for v in value]
    if isinstance(value, str):
        for mark in sorted(marks, key=lambda m: -len(m.words)):
            value = re.sub(re.escape(mark.words), WITHHELD, value, flags=re.IGNORECASE)
    return value


def _plain(row: Any, *skip: str) -> dict[str, Any]:
    """A row's columns as JSON-ready values (dates as ISO text, enums as their values)."""
    out = {}
    for column in row.__table__.columns:
        if column.name in skip:
            continue
        value = getattr(row, column.name)
        out[column.name] = value.isoformat() if isinstance(value, (date, datetime)) else getattr(value, "value", value)
    return out


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:80] or "file"


def gather(session: Session, address: str) -> dict[str, Any]:
    """Everything held about the person, as the `data.json` of the answer (plus the files' bytes
    under `_files`, which `export` writes into the zip and drops)."""
    found = find(session, address)
    contacts = found.contact_ids
    outbox_to = sa.func.lower(OutboxItem.recipient).in_(found.addresses)
    if not contacts and not found.message_ids and session.exec(select(OutboxItem.id).where(outbox_to)).first() is None:
        raise NobodyFound(f"nothing is held about {values.shown(address)}: no contact, message or outbox item has it")
    wrote_on = select(Message.case_id).where(sa.or_(Message.contact_id.in_(contacts), Message.id.in_(found.message_ids)),
                                             Message.case_id.is_not(None))
    cases = list(session.exec(select(Case).where(sa.or_(Case.contact_id.in_(contacts), Case.id.in_(wrote_on)))
                              .order_by(Case.received_at, Case.id)))
    case_ids = [c.id for c in cases]
    messages = list(session.exec(select(Message).where(sa.or_(
        Message.case_id.in_(case_ids), Message.contact_id.in_(contacts), Message.id.in_(found.message_ids)))
        .order_by(Message.received_at, Message.id)))
    outbox = list(session.exec(select(OutboxItem).where(sa.or_(
        OutboxItem.case_id.in_(case_ids), OutboxItem.contact_id.in_(contacts), outbox_to))
        .order_by(OutboxItem.created_at, OutboxItem.id)))
    message_ids, outbox_ids = [m.id for m in messages], [o.id for o in outbox]
    attachments = list(session.exec(select(Attachment).where(sa.or_(
        Attachment.message_id.in_(message_ids), Attachment.outbox_id.in_(outbox_ids))).order_by(Attachment.id)))
    marks: dict[int, list[Withholding]] = {}
    for mark in session.exec(select(Withholding).where(Withholding.message_id.in_(message_ids)).order_by(Withholding.id)):
        marks.setdefault(mark.message_id, []).append(mark)
    every_mark = [mark for own in marks.values() for mark in own]
    by_case = lambda model: {cid: [_plain(r, "case_id") for r in session.exec(  # noqa: E731
        select(model).where(model.case_id == cid).order_by(model.id))] for cid in case_ids}
    deadlines, stages, advocacy = by_case(Deadline), by_case(StageRecord), by_case(Advocacy)
    reference = {c.id: c.reference for c in cases}
    files: dict[str, bytes] = {}
    withheld: list[dict[str, Any]] = []

    def message_entry(m: Message) -> dict[str, Any]:
        own = marks.get(m.id, [])
        entry = _plain(m, "raw_bytes", "raw_json", "dedupe_key", "headers", "error", "state")
        entry.update(case=reference.get(m.case_id), original=None)
        for mark in own:
            withheld.append({"message_id": m.id, "case": reference.get(m.case_id), "what": "words in the message",
                             "why": mark.reason, "marked_by": mark.marked_by, "marked_at": mark.marked_at.isoformat()})
        original, name = None, ""
        if m.raw_bytes is not None:
            original, name = m.raw_bytes, f"originals/message-{m.id}.eml"
        elif m.raw_json is not None:
            original = json.dumps(m.raw_json, indent=2, ensure_ascii=False, default=str).encode()
            name = f"originals/message-{m.id}.json"
        if original is not None and _holds_marked(original, every_mark):
            withheld.append({"message_id": m.id, "case": reference.get(m.case_id), "what": "the original as received",
                             "why": "it holds a third party's details that officers marked to withhold"})
        elif original is not None:
            entry["original"], files[name] = name, original
        return entry

    def attachment_entry(a: Attachment) -> dict[str, Any]:
        entry = _plain(a, "content")
        entry["file"] = None
        if a.content is None:
            entry["note"] = a.note or "the file was over the size limit and was not kept"
        else:
            name = f"attachments/{a.id}-{_safe_name(a.filename)}" + (".quarantined" if a.quarantined else "")
            entry["file"], files[name] = name, a.content
        return entry

    contacts_rows = list(session.exec(select(Contact).where(Contact.id.in_(contacts)).order_by(Contact.id)))
    identities = list(session.exec(select(ChannelIdentity).where(ChannelIdentity.contact_id.in_(contacts))
                                   .order_by(ChannelIdentity.id)))
    audit = list(session.exec(select(AuditEvent).where(AuditEvent.case_id.in_(case_ids))
                              .order_by(AuditEvent.seq, AuditEvent.id)))
    data = {
        "address": address,
        "contacts": [{**_plain(c), "identities": [_plain(i) for i in identities if i.contact_id == c.id]} for c in contacts_rows],
        "cases": [{**_plain(c), "deadlines": deadlines[c.id], "stages": stages[c.id], "advocacy": advocacy[c.id]} for c in cases],
        "messages": [message_entry(m) for m in messages],
        "attachments": [attachment_entry(a) for a in attachments],
        "outbox": [{**_plain(o), "case": reference.get(o.case_id)} for o in outbox],
        "audit": [{**_plain(e, "prev_hash", "hash"), "case": reference.get(e.case_id)} for e in audit],
    }
    data = _redact(data, every_mark)  # marked words wherever they recur: the case summary, a reply quoting them
    data["withheld"] = withheld
    data["_files"] = files
    return data


def _holds_marked(original: bytes, marks: list[Withholding]) -> bool:
    """An original holding any marked words (as written, or in JSON's escaping) is withheld whole:
    an email's encoding may hide them from a search, so any original of a marked message is too."""
    lowered = original.lower()
    return any(m.words.lower().encode() in lowered or json.dumps(m.words.lower()).strip('"').encode() in lowered
               for m in marks)


def export(session: Session, request: SubjectAccessRequest, *, actor: str, now: datetime,
           officer_id: int | None = None) -> Archive:
    """The answer as a zip (index.html, data.json, originals/, attachments/); audited."""
    data = gather(session, request.address)
    files = data.pop("_files")
    data = {"request": _plain(request), "exported_at": now.isoformat(), **data}
    index = _TEMPLATES.get_template("subject_access_export.html").render(data=data, withheld_word=WITHHELD)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.html", index)
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False, default=str))
        for name, content in files.items():
            archive.writestr(name, content)
    counts = {name: len(data[name]) for name in ("cases", "messages", "attachments", "outbox", "audit", "withheld")}
    request.exported_at = now
    write_audit(session, at=now, actor=actor[:120], officer_id=officer_id, action="subject_access_exported",
                request_id=request.id, references=[c["reference"] for c in data["cases"]], counts=counts)
    return Archive(buffer.getvalue(), counts)


def mark_withheld(session: Session, message: Message, words: str, reason: str, *, actor: str, now: datetime,
                  officer_id: int | None = None) -> Withholding:
    """Mark words in a message as a third party's details, to withhold from a subject access answer."""
    words = values.short_text(words, "the words to withhold", 2000).strip()
    reason = values.short_text(reason, "the reason", 500).strip()
    if not words or not reason:
        raise values.BadValue("say which words to withhold and why (e.g. \"the foster carer's address\")")
    if words.lower() not in f"{message.subject}\n{message.text}\n{message.sender}".lower():
        raise values.BadValue(f"the message does not contain {values.shown(words)}: copy the words exactly as written")
    mark = Withholding(message_id=message.id, words=words, reason=reason, marked_by=actor[:120], officer_id=officer_id,
                       marked_at=now)
    session.add(mark)
    write_audit(session, at=now, actor=actor[:120], officer_id=officer_id, case_id=message.case_id,
                action="marked_to_withhold", message_id=message.id, reason=reason, chars=len(words))
    return mark


def open_requests(session: Session) -> list[SubjectAccessRequest]:
    """Requests not yet answered, soonest due first (the dashboard's panel)."""
    return list(session.exec(select(SubjectAccessRequest).where(SubjectAccessRequest.answered_on.is_(None))
                             .order_by(SubjectAccessRequest.due_on, SubjectAccessRequest.id)))
