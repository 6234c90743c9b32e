"""the case page: a version on each case (a stale save is refused, naming who changed it and
when), reply templates kept by admins, and files attached to replies (an attachment belongs
to an outbox item until it is sent)

`case` gains plain columns (ALTER TABLE ADD COLUMN, no table rebuild); `attachment` is
rebuilt on SQLite, which touches none of the search index's triggers (migration 0008).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from models.columns import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("case", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column("case", sa.Column("changed_by", sa.String(length=120), server_default="", nullable=False))
    op.add_column("case", sa.Column("changed_at", UTCDateTime(), nullable=True))
    op.create_table(
        "replytemplate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.alter_column("message_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("outbox_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_attachment_outbox_id", ["outbox_id"], unique=False)
        batch_op.create_foreign_key("fk_attachment_outbox_id_outboxitem", "outboxitem", ["outbox_id"], ["id"])


def downgrade() -> None:
    op.execute("DELETE FROM attachment WHERE message_id IS NULL")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_constraint("fk_attachment_outbox_id_outboxitem", type_="foreignkey")
        batch_op.drop_index("ix_attachment_outbox_id")
        batch_op.drop_column("outbox_id")
        batch_op.alter_column("message_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("replytemplate")
    for column in ("changed_at", "changed_by", "version"):
        op.drop_column("case", column)
