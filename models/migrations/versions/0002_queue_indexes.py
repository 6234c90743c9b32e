"""queue indexes: working cases by status, triage state and safeguarding flag

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index('ix_case_queue', ['status', 'triage_state', 'safeguarding'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_queue')
