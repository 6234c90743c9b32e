"""deadline actions: the scheduler's bookmark of the next reminder or escalation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_action_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("last_action", sa.String(length=32), nullable=False, server_default=""))
        batch_op.create_index("ix_deadline_status_next_action", ["status", "next_action_on"], unique=False)
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.alter_column("last_action", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.drop_index("ix_deadline_status_next_action")
        batch_op.drop_column("last_action")
        batch_op.drop_column("next_action_on")
