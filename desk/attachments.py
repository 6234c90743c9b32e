"""Files on a case: one downloaded on its own, and files an officer attaches to a reply.

A download is always a download (`Content-Disposition: attachment`, served as bytes, never
rendered in the browser), under a name that cannot reach outside the downloads folder or break
the header. A quarantined file (a type that can run code) is refused with a page saying why.
Every download and every refusal is audited.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from models import Attachment, Message, OutboxItem, values
from models.messages import dangerous
from desk import casework, deps
from desk.case import find_case
from desk.casework import Actor, Refused

MAX_REPLY_FILES = 5
MAX_REPLY_BYTES = 7 * 1024 * 1024  # in all: about 9.5 MB once base64-encoded, inside most relays' 10 MB
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')

router = APIRouter()


def safe_filename(name: str, fallback: str) -> str:
    """The file's own name, made safe to offer: no folders, no control or quoting characters, no
    leading dots, at most 120 characters (the extension kept); `fallback` when nothing is left."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cf", "Cc", "Zl", "Zp"))
    name = _UNSAFE.sub("_", name).strip(" .")
    if len(name) > 120:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 119 - len(extension)] + dot + extension) if dot and len(extension) <= 10 else name[:120]
    return name or fallback


def disposition(filename: str) -> str:
    """`attachment` with an ASCII name for old clients and the exact name (RFC 6266/5987) for the rest."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _on_case(session: Session, attachment: Attachment, case_id: int) -> bool:
    message = session.get(Message, attachment.message_id) if attachment.message_id else None
    outbox = session.get(OutboxItem, attachment.outbox_id) if attachment.outbox_id else None
    return (message is not None and message.case_id == case_id) or (outbox is not None and outbox.case_id == case_id)


@router.get("/cases/{reference}/attachments/{attachment_id}", include_in_schema=False)
def download(request: Request, reference: str, attachment_id: str, actor: Actor = Depends(deps.actor),
             session: Session = deps.DB) -> Response:
    case = find_case(session, reference)
    try:
        attachment = session.get(Attachment, values.record_id(attachment_id, "attachment"))
    except values.BadValue:
        attachment = None
    if attachment is None or not _on_case(session, attachment, case.id):  # type: ignore[arg-type]
        return deps.render(request, "message.html", status=404, title="Not found",
                           text=f"There is no such attachment on {case.reference}.")
    name = safe_filename(attachment.filename, f"{case.reference}-attachment-{attachment.id}")
    if attachment.quarantined or dangerous(attachment.filename, attachment.content_type):
        casework.audit(session, actor, case, "attachment_refused", attachment_id=attachment.id, filename=name, why="quarantined")
        return deps.render(request, "message.html", status=403, title="Quarantined: not downloaded",
                           text=f"{name} is a type of file that can run programs ({attachment.content_type}), so Heard "
                                "keeps it quarantined and never offers it for download. If it is needed as evidence, "
                                "ask your IT security team to examine it.")
    if attachment.content is None:
        return deps.render(request, "message.html", status=404, title="Not kept",
                           text=f"{name} was not kept ({attachment.note or 'no content'}): ask the sender for it again.")
    casework.audit(session, actor, case, "downloaded_attachment", attachment_id=attachment.id, filename=name)
    return Response(attachment.content, media_type="application/octet-stream",
                    headers={"content-disposition": disposition(name)})


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


def check_uploads(uploads: list[Upload]) -> list[Upload]:
    """Files an officer attaches to a reply: some, small enough, none that can run code."""
    chosen = [u for u in uploads if u.filename or u.content]
    if len(chosen) > MAX_REPLY_FILES:
        raise Refused(f"attach at most {MAX_REPLY_FILES} files to one reply")
    total = sum(len(u.content) for u in chosen)
    if total > MAX_REPLY_BYTES:
        raise Refused(f"the files come to {total / 1024 / 1024:.1f} MB; a reply can carry at most "
                      f"{MAX_REPLY_BYTES // 1024 // 1024} MB (send a link, or several replies)")
    for u in chosen:
        if not u.content:
            raise Refused(f"{safe_filename(u.filename, 'the file')} is empty")
        if dangerous(u.filename, u.content_type):
            raise Refused(f"{safe_filename(u.filename, 'the file')} is a type of file that can run programs, "
                          "which Heard does not send")
    return chosen


def keep_uploads(session: Session, outbox: OutboxItem, uploads: list[Upload]) -> list[Attachment]:
    """Store the reply's files like a message's: the outbox item holds them until it is sent."""
    kept = []
    for i, u in enumerate(uploads, 1):
        name = safe_filename(u.filename, f"attachment-{i}")
        ctype = u.content_type if "/" in u.content_type and u.content_type != "application/octet-stream" else (
            mimetypes.guess_type(name)[0] or "application/octet-stream")
        row = Attachment(outbox_id=outbox.id, filename=name[:255], content_type=ctype[:255], size=len(u.content),
                         sha256=hashlib.sha256(u.content).hexdigest(), content=u.content)
        session.add(row)
        kept.append(row)
    return kept
