"""safeguarding levels: `disclosure` (urgent, the person gets the crisis reply) or `possible` (officers check);
and the language a person wrote in when an interpreter is needed

Cases flagged before levels existed become `disclosure`: they were treated as urgent then,
and an officer can lower the level in triage.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("safeguarding_level", sa.Enum("disclosure", "possible", name="safeguardinglevel", native_enum=False,
                                                    length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("interpreter_needed", sa.String(length=16), nullable=False, server_default=""))
    op.execute("UPDATE \"case\" SET safeguarding_level = 'disclosure' WHERE safeguarding")


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("interpreter_needed")
        batch_op.drop_column("safeguarding_level")
