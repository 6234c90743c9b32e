"""email worker indexes: stored messages only (the queue), and outbox items by recipient

The full index on message.state led SQLite, without statistics, to find a Message-ID by
walking every processed message; the acknowledgement rate limit walked every
acknowledgement. Both grew with the record, and the email worker slowed as it went.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STORED = sa.text("state = 'stored'")


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_state")
        batch_op.create_index("ix_message_stored", ["channel", "id"], unique=False,
                              sqlite_where=STORED, postgresql_where=STORED)
    with op.batch_alter_table("outboxitem", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_recipient_created", ["recipient", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outboxitem", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_recipient_created")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_stored")
        batch_op.create_index("ix_message_state", ["state"], unique=False)
