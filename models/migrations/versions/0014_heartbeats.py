"""heartbeats: one row per email worker and scheduler process, so /readyz can tell that each
part has reported in within its interval, and /metrics can read the last sweep; and an index
for /metrics to count unsent and failed outbox items by channel from the index alone.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from models.columns import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_run_seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("part", "host", "pid", name="uq_heartbeat_process"),
    )
    op.create_index("ix_outbox_status_channel_created", "outboxitem", ["status", "channel", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_status_channel_created", table_name="outboxitem")
    op.drop_table("heartbeat")
