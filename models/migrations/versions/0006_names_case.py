"""a case opened from a message that names another case whose sender is not a contact on it
links to that case, for officers to judge (references are guessable; naming one joins nothing)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("names_case_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_case_names_case_id", ["names_case_id"], unique=False)
        batch_op.create_foreign_key("fk_case_names_case_id_case", "case", ["names_case_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint("fk_case_names_case_id_case", type_="foreignkey")
        batch_op.drop_index("ix_case_names_case_id")
        batch_op.drop_column("names_case_id")
