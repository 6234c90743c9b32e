"""subject access requests and officers' marks of third parties' details to withhold; and
the audit log shows tampering: each entry gets a number in the chain, the previous entry's hash
and its own; a one-row chain head is what writers lock. Existing entries are chained here, in the
order they were written (by id).

Plain ADD COLUMN on `auditevent` (no table rebuild; no search trigger is touched).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from models.audit_chain import GENESIS, detail_hash, entry_hash
from models.columns import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auditevent", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("auditevent", sa.Column("prev_hash", sa.String(length=64), server_default="", nullable=False))
    op.add_column("auditevent", sa.Column("hash", sa.String(length=64), server_default="", nullable=False))
    op.add_column("auditevent", sa.Column("detail_hash", sa.String(length=64), server_default="", nullable=False))
    op.create_index("ix_auditevent_seq", "auditevent", ["seq"], unique=True)
    head = op.create_table(
        "auditchainhead",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "subjectaccessrequest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("exported_at", UTCDateTime(), nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subjectaccessrequest_due_on", "subjectaccessrequest", ["due_on"], unique=False)
    op.create_table(
        "withholding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("marked_by", sa.String(length=120), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("marked_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_withholding_message_id", "withholding", ["message_id"], unique=False)
    conn = op.get_bind()
    events = sa.table("auditevent", sa.column("id", sa.Integer()), sa.column("at", UTCDateTime()),
                      sa.column("actor", sa.String()), sa.column("officer_id", sa.Integer()),
                      sa.column("case_id", sa.Integer()), sa.column("action", sa.String()),
                      sa.column("detail", sa.JSON()), sa.column("seq", sa.Integer()),
                      sa.column("prev_hash", sa.String()), sa.column("hash", sa.String()),
                      sa.column("detail_hash", sa.String()))
    rows = conn.execute(sa.select(events).order_by(events.c.id)).all()
    seq, last = 0, GENESIS
    for row in rows:
        seq += 1
        own = detail_hash(row.detail)
        digest = entry_hash(last, seq, row.at, row.actor, row.officer_id, row.case_id, row.action, own)
        conn.execute(sa.update(events).where(events.c.id == row.id).values(seq=seq, prev_hash=last, hash=digest,
                                                                            detail_hash=own))
        last = digest
    conn.execute(sa.insert(head).values(id=1, seq=seq, hash=last))


def downgrade() -> None:
    op.drop_table("withholding")
    op.drop_table("subjectaccessrequest")
    op.drop_table("auditchainhead")
    op.drop_index("ix_auditevent_seq", table_name="auditevent")
    for column in ("detail_hash", "hash", "prev_hash", "seq"):
        op.drop_column("auditevent", column)
