"""retention: when a case's personal data was deleted and by which rule (plain columns on
`case`), and legal holds (a new table). No table is rebuilt, so the search index's triggers
(migration 0008) are untouched.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from models.columns import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("case", sa.Column("erased_at", UTCDateTime(), nullable=True))
    op.add_column("case", sa.Column("erased_rule", sa.String(length=64), server_default="", nullable=False))
    op.create_table(
        "legalhold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=120), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.Column("lifted_by", sa.String(length=120), nullable=False),
        sa.Column("lifted_at", UTCDateTime(), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_legalhold_case_id", "legalhold", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_legalhold_case_id", table_name="legalhold")
    op.drop_table("legalhold")
    op.drop_column("case", "erased_rule")
    op.drop_column("case", "erased_at")
