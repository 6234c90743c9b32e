"""Whether what Heard sends is getting out: mail out configured, nothing failed lately,
nothing waiting over an hour. Acknowledgements, replies and new dates are promises to
people; when they stop going, officers must see it on the dashboard, not hear of it from a
complainant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from models import Case, OutboxItem
from models.enums import OutboxStatus

WAITED_TOO_LONG = timedelta(hours=1)
RECENT_FAILURES = timedelta(days=7)  # a failure stays on the banner a week: long enough to act, then history on its case
NAMED = 5  # cases named on the banner; the rest are counted


@dataclass
class DeliveryTrouble:
    mail_out_configured: bool = True
    failed: int = 0  # failed for good in the last week
    failed_cases: list[str] = field(default_factory=list)
    waiting: int = 0  # not sent an hour after they were written
    waiting_channels: list[str] = field(default_factory=list)
    oldest_waiting_minutes: int | None = None

    @property
    def any(self) -> bool:
        return not self.mail_out_configured or bool(self.failed or self.waiting)

    @property
    def oldest_waiting(self) -> str:
        m = self.oldest_waiting_minutes
        if m is None:
            return ""
        return f"{m} min" if m < 120 else f"{m // 60} h {m % 60} min" if m < 48 * 60 else f"{m // 1440} days"


def delivery_trouble(session: Session, now: datetime, mail_out_configured: bool) -> DeliveryTrouble:
    """Read through the outbox's (status, next_attempt_at) index: only failed and unsent rows are touched."""
    trouble = DeliveryTrouble(mail_out_configured=mail_out_configured)
    failed = (OutboxItem.status == OutboxStatus.failed, OutboxItem.created_at >= now - RECENT_FAILURES)
    trouble.failed = session.execute(sa.select(sa.func.count()).select_from(OutboxItem).where(*failed)).scalar_one()
    if trouble.failed:
        trouble.failed_cases = list(session.execute(
            sa.select(Case.reference).join(OutboxItem, OutboxItem.case_id == Case.id).where(*failed)
            .group_by(Case.reference).order_by(sa.func.max(OutboxItem.created_at).desc()).limit(NAMED)).scalars())
    unsent = (OutboxItem.status.in_((OutboxStatus.pending, OutboxStatus.sending)), OutboxItem.created_at < now - WAITED_TOO_LONG)
    waiting, oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(OutboxItem.created_at)).select_from(OutboxItem).where(*unsent)).one()
    if waiting:
        trouble.waiting = waiting
        trouble.waiting_channels = sorted(str(getattr(c, "value", c)) for c in session.execute(
            sa.select(OutboxItem.channel).where(*unsent).distinct()).scalars())
        trouble.oldest_waiting_minutes = int((now - oldest).total_seconds() // 60) if oldest else None
    return trouble
