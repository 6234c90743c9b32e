"""officers' access: server-side sessions, sign-in attempts, and two-factor sign-in

Sessions and the sign-in limits move into the database so they hold across web processes
and signing out really ends a session. Sessions signed before this revision (HMAC cookies)
simply stop working: officers sign in again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from models.columns import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "officersession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("second_factor_done", sa.Boolean(), nullable=False),
        sa.Column("password_mark", sa.String(length=16), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("ended_why", sa.String(length=60), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_officersession_officer_id", "officersession", ["officer_id"], unique=False)
    op.create_table(
        "signinattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name_key", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signinattempt_name_key", "signinattempt", ["name_key"], unique=False)
    op.create_index("ix_signinattempt_at", "signinattempt", ["at"], unique=False)
    with op.batch_alter_table("officer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("totp_confirmed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("recovery_codes", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("officer", schema=None) as batch_op:
        batch_op.drop_column("recovery_codes")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_confirmed_at")
        batch_op.drop_column("totp_secret")
    op.drop_index("ix_signinattempt_at", table_name="signinattempt")
    op.drop_index("ix_signinattempt_name_key", table_name="signinattempt")
    op.drop_table("signinattempt")
    op.drop_index("ix_officersession_officer_id", table_name="officersession")
    op.drop_table("officersession")
