"""New activity: a reply (an inbound message) has come in on a case since its owner last
opened it, so it does not wait unseen behind a case that looks quiet in the queue.

"Last opened" is read from the audit trail, which already records every view of a case by
whom (the case page and the API): no second record of the same fact to keep in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from models import AuditEvent, Case, Message
from models.enums import Direction


def replied_since_opened(session: Session, cases: Sequence[Case]) -> set[int]:
    """Ids of the owned cases among `cases` with an inbound message newer than the owner's last view.

    1. The owner's last view of each case ("viewed" audit events by the owner).
    2. The first and the latest inbound message of each case, by when it joined the case.
    3. New when the latest came after the last view; never viewed, when there is any message
       after the first (the one that opened the case is not a reply).
    Two grouped look-ups through the case_id indexes, for one page of the queue."""
    owned = {c.id: c for c in cases if c.owner_id is not None}
    if not owned:
        return set()
    ids = list(owned)
    seen: dict[int, datetime] = dict(session.execute(
        sa.select(AuditEvent.case_id, sa.func.max(AuditEvent.at)).join(Case, Case.id == AuditEvent.case_id)
        .where(AuditEvent.case_id.in_(ids), AuditEvent.action == "viewed", AuditEvent.officer_id == Case.owner_id)
        .group_by(AuditEvent.case_id)).all())
    arrived = sa.func.coalesce(Message.processed_at, Message.received_at)
    new: set[int] = set()
    for case_id, first, latest in session.execute(
        sa.select(Message.case_id, sa.func.min(arrived), sa.func.max(arrived))
        .where(Message.case_id.in_(ids), Message.direction == Direction.inbound).group_by(Message.case_id)
    ):
        if latest is not None and latest > seen.get(case_id, first):
            new.add(case_id)
    return new
