"""extension requests awaiting a manager: a partial index on the audit trail's requests

The managers' list reads the "extension_requested" events; without an index that is a walk
through every audit event (every view of every case) each time the page opens.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

REQUESTS = sa.text("action = 'extension_requested'")


def upgrade() -> None:
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.create_index("ix_audit_extension_requests", ["case_id", "id"], unique=False,
                              sqlite_where=REQUESTS, postgresql_where=REQUESTS)


def downgrade() -> None:
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_extension_requests")
