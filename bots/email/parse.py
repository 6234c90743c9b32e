"""Reading an email with the standard library, whatever state it arrives in.

Nothing here may raise on bad input: broken headers, unknown charsets and malformed MIME
all yield something readable, and what could not be read is said in `problems`.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message as EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from models.messages import DANGEROUS_EXTENSIONS, DANGEROUS_TYPES
from triage.cleaning import clean, html_to_text, normalise

FALLBACK_CHARSETS = ("utf-8", "cp1252", "latin-1")


@dataclass
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    content: bytes
    dangerous: bool


@dataclass
class ParsedEmail:
    sender: str = ""
    sender_name: str = ""
    to: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    text: str = ""
    clean_text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    is_bounce: bool = False
    bounced_message_ids: list[str] = field(default_factory=list)
    automatic: str = ""  # why this is machine mail (bounce, auto-reply): not a representation
    no_ack: str = ""  # why no acknowledgement may be sent; "" when one may
    problems: list[str] = field(default_factory=list)


def header_text(value: object, legacy: str = "") -> str:
    """A header as readable text: raw 8-bit bytes (RFC 6532, as SMTPUTF8 clients send) read as
    UTF-8, or else in the message's own or a detected legacy charset; then RFC 2047 decoded;
    unknown charsets survived. `legacy` is a charset hint (the message body's)."""
    if value is None:
        return ""
    raw = str(value)
    if _undecoded(raw):
        raw = eight_bit(raw.encode("ascii", "surrogateescape"), legacy)
    try:
        return normalise(str(make_header(decode_header(raw))))
    except Exception:
        return normalise(raw)


def _undecoded(text: str) -> bool:
    """Holds bytes the parser could not read as ASCII (kept as surrogates by surrogateescape)."""
    return any("\udc80" <= c <= "\udcff" for c in text)


def eight_bit(data: bytes, legacy: str = "") -> str:
    """Undeclared 8-bit text: UTF-8 when it is valid UTF-8 (nearly always, today); else the
    charset the message declares for its body; else the likeliest by detection; else cp1252."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if legacy and legacy.lower() not in ("utf-8", "us-ascii", "ascii"):
        try:
            return data.decode(legacy)
        except (LookupError, UnicodeDecodeError):
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return str(best)
    return data.decode("cp1252", "replace")


def message_ids(value: str) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def decode_part(part: EmailMessage) -> str:
    """A text part's payload as str: its declared charset, then common fallbacks, never an error."""
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = str(part.get_payload() or "").encode("utf-8", "replace")
    charset = (part.get_content_charset() or "").strip().strip('"').lower()
    for candidate in ([charset] if charset else []) + list(FALLBACK_CHARSETS):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return payload.decode("latin-1", "replace")


def _walk(message: EmailMessage) -> list[EmailMessage]:
    try:
        return list(message.walk())
    except Exception:
        return [message]


def parse(raw: bytes, *, our_addresses: frozenset[str] = frozenset(), envelope_sender: str = "") -> ParsedEmail:
    """Read `raw`; without a usable From header the envelope sender (MAIL FROM) is who wrote."""
    parsed = ParsedEmail()
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as exc:  # the stdlib parser is lenient; this is belt and braces
        parsed.problems.append(f"unparseable: {exc}")
        parsed.text = parsed.clean_text = normalise(raw.decode("utf-8", "replace"))[:100_000]
        return parsed
    _headers(message, parsed)
    parsed.sender = parsed.sender or envelope_sender.strip().lower()[:320]
    _body(message, parsed)
    _loop_protection(message, parsed, our_addresses)
    return parsed


def _raw_headers(message: EmailMessage) -> dict[str, str]:
    """The first value of each header as it arrived (8-bit bytes kept as surrogates), before the
    standard library's compat32 policy turns undeclared 8-bit text into replacement characters."""
    found: dict[str, str] = {}
    try:
        for name, value in message.raw_items():
            found.setdefault(str(name).lower(), str(value))
    except Exception:
        pass
    return found


def _headers(message: EmailMessage, parsed: ParsedEmail) -> None:
    raw = _raw_headers(message)
    legacy = ""
    if any(_undecoded(v) for v in raw.values()):  # only undeclared 8-bit headers need the body's charset as a hint
        try:
            legacy = message.get_content_charset() or next((p.get_content_charset() for p in _walk(message) if p.get_content_charset()), "")
        except Exception:
            pass
    for name in ("From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Auto-Submitted",
                 "Precedence", "List-Id", "List-Unsubscribe", "X-Autoreply", "X-Autorespond", "Return-Path", "Content-Type"):
        value = raw.get(name.lower())
        if value is not None:
            parsed.headers[name.lower()] = header_text(value, legacy or "")[:2000]
    h = parsed.headers
    try:
        addresses = getaddresses([h.get("from", "")])
        name, address = addresses[0] if addresses else ("", "")
    except Exception:
        name, address = "", ""
    parsed.sender, parsed.sender_name = address.strip().lower()[:320], name.strip()
    try:
        parsed.to = [a.lower() for _, a in getaddresses([h.get("to", ""), h.get("cc", "")]) if a]
    except Exception:
        parsed.problems.append("unreadable To/Cc")
    parsed.subject = h.get("subject", "")
    parsed.message_id = (message_ids(h.get("message-id", "")) or [""])[0]
    parsed.in_reply_to = (message_ids(h.get("in-reply-to", "")) or [""])[0]
    parsed.references = message_ids(h.get("references", ""))
    try:
        parsed.date = parsedate_to_datetime(h["date"]) if h.get("date") else None
    except Exception:
        parsed.problems.append("unreadable Date")


BOUNDARY = re.compile(r"""boundary\s*=\s*(?:"([^"]+)"|([^\s;"]+))""", re.IGNORECASE)


def _unbroken(part: EmailMessage) -> list[EmailMessage] | None:
    """A multipart whose boundary the parser could not read (a folded parameter with no `;`, a
    stray quote): find the boundary ourselves and parse it again; None when there is none."""
    body = part.get_payload()
    if not isinstance(body, str):
        return None
    found = BOUNDARY.search(_raw_headers(part).get("content-type", ""))
    boundary = (found.group(1) or found.group(2)) if found else ""
    if not boundary:  # no parameter at all: the first delimiter line in the body says it
        line = next((line.rstrip() for line in body.splitlines() if line.startswith("--") and len(line.rstrip()) > 2), "")
        boundary = line[2:-2] if line.endswith("--") else line[2:]
    if not boundary:
        return None
    try:
        again = email.message_from_string(f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\n\n{body}',
                                          policy=email.policy.compat32)
    except Exception:
        return None
    return _walk(again) if again.is_multipart() else None


def _parts(message: EmailMessage) -> list[EmailMessage]:
    """Every part, with broken multiparts opened up where their boundary can be found."""
    out: list[EmailMessage] = []
    for part in _walk(message):
        try:
            broken = part.get_content_maintype() == "multipart" and not part.is_multipart()
        except Exception:
            broken = False
        recovered = _unbroken(part) if broken else None
        out.extend(p for p in (recovered or [part]) if not (recovered and p.is_multipart()))
    return out


def _body(message: EmailMessage, parsed: ParsedEmail) -> None:
    plain: list[str] = []
    html: list[str] = []
    attached_text: list[str] = []
    for part in _parts(message):
        if part.get_content_type() == "message/rfc822" and message.get_content_type() == "multipart/report":
            inner = part.get_payload()
            for original in inner if isinstance(inner, list) else []:
                parsed.bounced_message_ids += message_ids(str(original.get("Message-ID", "")))
        if part.is_multipart():
            continue
        try:
            ctype = part.get_content_type().lower()
            disposition = (part.get("Content-Disposition") or "").lower()
            filename = header_text(part.get_filename()) if part.get_filename() else ""
        except Exception as exc:
            parsed.problems.append(f"unreadable part: {exc}")
            continue
        if ctype == "message/delivery-status" or ctype == "text/rfc822-headers":
            parsed.is_bounce = True
            parsed.bounced_message_ids += message_ids(decode_part(part))
            continue
        if ctype.startswith("multipart/"):  # a multipart with no boundary at all: its body is its text
            ctype = "text/plain"
        if ctype in ("text/plain", "text/html") and "attachment" not in disposition:
            # Inline text is read even when it carries a name= (some clients name every part).
            (plain if ctype == "text/plain" else html).append(decode_part(part))
            continue
        if ctype == "text/plain":
            attached_text.append(decode_part(part))
        _attachment(part, ctype, filename, parsed)
    if plain and any(p.strip() for p in plain):
        parsed.text = normalise("\n\n".join(plain))
        parsed.clean_text = clean("\n\n".join(plain))
    elif html and any(h.strip() for h in html):
        parsed.text = normalise(html_to_text("\n".join(html)))
        parsed.clean_text = clean(parsed.text)
    elif any(t.strip() for t in attached_text):  # the only words sent are in an attached text file
        parsed.text = normalise("\n\n".join(attached_text)[:100_000])
        parsed.clean_text = clean(parsed.text)
        parsed.problems.append("the text was read from an attached text file")
    if not parsed.text:
        parsed.problems.append("no readable text: the raw message and any attachments are kept")


def _attachment(part: EmailMessage, ctype: str, filename: str, parsed: ParsedEmail) -> None:
    try:
        payload = part.get_payload(decode=True) or b""
    except Exception:
        payload = b""
    if isinstance(payload, str):  # message/rfc822 and friends
        payload = payload.encode("utf-8", "replace")
    if ctype == "message/rfc822" and not isinstance(part.get_payload(decode=True), bytes):
        payload = part.as_bytes() if hasattr(part, "as_bytes") else b""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    parsed.attachments.append(
        Attachment(
            filename=filename[:255] or f"unnamed.{ctype.split('/')[-1][:20]}",
            content_type=ctype[:255],
            size=len(payload),
            sha256=hashlib.sha256(payload).hexdigest(),
            content=payload,
            dangerous=extension in DANGEROUS_EXTENSIONS or ctype in DANGEROUS_TYPES,
        )
    )


def _loop_protection(message: EmailMessage, parsed: ParsedEmail, ours: frozenset[str]) -> None:
    """Recognise machine mail (RFC 3834) and say why no acknowledgement may go to this sender."""
    h = parsed.headers
    local = parsed.sender.split("@")[0]
    try:
        report = message.get_content_type() == "multipart/report"
    except Exception:
        report = False
    if report or parsed.is_bounce:
        parsed.is_bounce = True
        parsed.automatic = "a bounce (delivery status notification)"
    elif local in ("mailer-daemon", "postmaster"):
        parsed.automatic = f"sent by {local}"
    elif h.get("auto-submitted", "no").lower().split(";")[0].strip() != "no":
        parsed.automatic = f"Auto-Submitted: {h['auto-submitted']}"
    elif h.get("precedence", "").lower() in ("bulk", "list", "junk", "auto_reply"):
        parsed.automatic = f"Precedence: {h['precedence']}"
    elif h.get("x-autoreply") or h.get("x-autorespond"):
        parsed.automatic = "an auto-reply"
    elif re.match(r"^(auto(matic)?[ -]?reply|out of (the )?office|autoreply)\b", parsed.subject, re.IGNORECASE):
        parsed.automatic = "an out-of-office reply"
    if parsed.automatic:
        parsed.no_ack = parsed.automatic
    elif not parsed.sender:
        parsed.no_ack = "no sender address"
    elif local.startswith(("noreply", "no-reply", "donotreply", "do-not-reply")):
        parsed.no_ack = f"{parsed.sender} cannot take replies"
    elif parsed.sender in ours:
        parsed.no_ack = "sent from one of our own addresses"
    elif h.get("list-id") or h.get("list-unsubscribe"):
        parsed.no_ack = "from a mailing list"
