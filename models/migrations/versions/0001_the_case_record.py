"""the case record

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.columns


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('role', sa.Enum('child_or_young_person', 'care_leaver', 'parent_or_family', 'foster_carer', 'professional', 'other', name='role', native_enum=False, length=32), nullable=True),
    sa.Column('consent_to_contact', sa.Boolean(), nullable=False),
    sa.Column('unreachable', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('conversationstate',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('referencesequence',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('service_area', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('manager_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('channelidentity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('email', 'telegram', 'webchat', name='channel', native_enum=False, length=32), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('created_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'address', name='uq_identity_channel_address')
    )
    with op.batch_alter_table('channelidentity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channelidentity_contact_id'), ['contact_id'], unique=False)

    op.create_table('officer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('role', sa.Enum('officer', 'manager', 'admin', name='officerrole', native_enum=False, length=32), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sa.Enum('initial_feedback', 'complaint', 'compliment', name='kind', native_enum=False, length=32), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('primary_reason', sa.Enum('communication', 'staff_conduct', 'decision', 'assessment', 'delay', 'lack_of_support', 'family_time', 'placement_care', 'finance', 'confidentiality_records', 'change_of_worker', 'voice_not_heard', name='reason', native_enum=False, length=32), nullable=True),
    sa.Column('complainant_role', sa.Enum('child_or_young_person', 'care_leaver', 'parent_or_family', 'foster_carer', 'professional', 'other', name='role', native_enum=False, length=32), nullable=True),
    sa.Column('enquiry_source', sa.Enum('councillor', 'mp', name='enquirysource', native_enum=False, length=32), nullable=True),
    sa.Column('procedure', sa.Enum('statutory', 'corporate', name='procedure', native_enum=False, length=32), nullable=False),
    sa.Column('stage', sa.Enum('initial_feedback', 'stage_1', 'stage_2', 'stage_3', 'ombudsman', name='stage', native_enum=False, length=32), nullable=True),
    sa.Column('status', sa.Enum('open', 'responded', 'closed', 'merged', name='casestatus', native_enum=False, length=32), nullable=False),
    sa.Column('channel', sa.Enum('email', 'telegram', 'webchat', name='channel', native_enum=False, length=32), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('triage_state', sa.Enum('needs_review', 'confirmed', name='triagestate', native_enum=False, length=32), nullable=False),
    sa.Column('triage_confidence', sa.Float(), nullable=True),
    sa.Column('triage_detail', sa.JSON(), nullable=False),
    sa.Column('triage_confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('triage_confirmed_at', models.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('safeguarding', sa.Boolean(), nullable=False),
    sa.Column('safeguarding_signals', sa.JSON(), nullable=False),
    sa.Column('safeguarding_referral_at', models.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('eligibility_flags', sa.JSON(), nullable=False),
    sa.Column('possible_escalation', sa.Boolean(), nullable=False),
    sa.Column('adr', sa.Boolean(), nullable=False),
    sa.Column('adr_note', sa.Text(), nullable=False),
    sa.Column('compensation_pence', sa.Integer(), nullable=False),
    sa.Column('learning', sa.Text(), nullable=False),
    sa.Column('child_ethnicity', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('received_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', models.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['merged_into_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['officer.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.ForeignKeyConstraint(['triage_confirmed_by_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_safeguarding'), ['safeguarding'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_stage'), ['stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_triage_state'), ['triage_state'], unique=False)

    op.create_table('auditevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auditevent_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_auditevent_case_id'), ['case_id'], unique=False)

    op.create_table('deadline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('acknowledgement', 'initial_feedback', 'stage_1', 'stage_2_request', 'stage_2', 'stage_3_request', 'stage_3_panel', 'stage_3_report', 'stage_3_response', name='deadlinekind', native_enum=False, length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'met', 'missed', 'superseded', name='deadlinestatus', native_enum=False, length=32), nullable=False),
    sa.Column('met_on', sa.Date(), nullable=True),
    sa.Column('original_due_on', sa.Date(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=False),
    sa.Column('extended_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['extended_by_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_deadline_status_due', ['status', 'due_on'], unique=False)

    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('channel', sa.Enum('email', 'telegram', 'webchat', name='channel', native_enum=False, length=32), nullable=False),
    sa.Column('direction', sa.Enum('inbound', 'outbound', name='direction', native_enum=False, length=32), nullable=False),
    sa.Column('state', sa.Enum('stored', 'processed', 'failed', 'ignored', name='messagestate', native_enum=False, length=32), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('raw_bytes', sa.LargeBinary(), nullable=True),
    sa.Column('raw_json', sa.JSON(), nullable=True),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
    sa.Column('in_reply_to', sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
    sa.Column('references', sa.Text(), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('clean_text', sa.Text(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('possible_escalation', sa.Boolean(), nullable=False),
    sa.Column('received_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', models.columns.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_external_id'), ['external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_state'), ['state'], unique=False)

    op.create_table('outboxitem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('channel', sa.Enum('email', 'telegram', 'webchat', name='channel', native_enum=False, length=32), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('buttons', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'failed', 'suppressed', name='outboxstatus', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('provider_message_id', sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
    sa.Column('created_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', models.columns.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('outboxitem', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_next', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboxitem_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboxitem_provider_message_id'), ['provider_message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboxitem_purpose'), ['purpose'], unique=False)

    op.create_table('stagerecord',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Enum('initial_feedback', 'stage_1', 'stage_2', 'stage_3', 'ombudsman', name='stage', native_enum=False, length=32), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('responded_on', sa.Date(), nullable=True),
    sa.Column('outcome', sa.Enum('upheld', 'partially_upheld', 'not_upheld', 'withdrawn', 'no_finding', 'outside_jurisdiction', name='outcome', native_enum=False, length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'stage', name='uq_stage_case_stage')
    )
    with op.batch_alter_table('stagerecord', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stagerecord_case_id'), ['case_id'], unique=False)

    op.create_table('traininglabel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('predicted', sa.JSON(), nullable=False),
    sa.Column('corrected', sa.JSON(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('traininglabel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_traininglabel_case_id'), ['case_id'], unique=False)

    op.create_table('advocacy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('offered_at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('offered_on_channel', sa.Enum('email', 'telegram', 'webchat', name='channel', native_enum=False, length=32), nullable=False),
    sa.Column('answer', sa.Enum('yes', 'no', 'asked_what', name='advocacyanswer', native_enum=False, length=32), nullable=True),
    sa.Column('answered_at', models.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('followed_up_at', models.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('help_wanted', sa.Text(), nullable=False),
    sa.Column('safe_contact', sa.Text(), nullable=False),
    sa.Column('consent_to_share', sa.Boolean(), nullable=False),
    sa.Column('referral_sent_at', models.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('referral_outbox_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['referral_outbox_id'], ['outboxitem.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('advocacy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_advocacy_case_id'), ['case_id'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('quarantined', sa.Boolean(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_message_id'), ['message_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_message_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('advocacy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_advocacy_case_id'))

    op.drop_table('advocacy')
    with op.batch_alter_table('traininglabel', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_traininglabel_case_id'))

    op.drop_table('traininglabel')
    with op.batch_alter_table('stagerecord', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stagerecord_case_id'))

    op.drop_table('stagerecord')
    with op.batch_alter_table('outboxitem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outboxitem_purpose'))
        batch_op.drop_index(batch_op.f('ix_outboxitem_provider_message_id'))
        batch_op.drop_index(batch_op.f('ix_outboxitem_case_id'))
        batch_op.drop_index('ix_outbox_status_next')

    op.drop_table('outboxitem')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_state'))
        batch_op.drop_index(batch_op.f('ix_message_received_at'))
        batch_op.drop_index(batch_op.f('ix_message_external_id'))
        batch_op.drop_index(batch_op.f('ix_message_contact_id'))
        batch_op.drop_index(batch_op.f('ix_message_case_id'))

    op.drop_table('message')
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_index('ix_deadline_status_due')
        batch_op.drop_index(batch_op.f('ix_deadline_case_id'))

    op.drop_table('deadline')
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auditevent_case_id'))
        batch_op.drop_index(batch_op.f('ix_auditevent_at'))

    op.drop_table('auditevent')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_triage_state'))
        batch_op.drop_index(batch_op.f('ix_case_team_id'))
        batch_op.drop_index(batch_op.f('ix_case_status'))
        batch_op.drop_index(batch_op.f('ix_case_stage'))
        batch_op.drop_index(batch_op.f('ix_case_safeguarding'))
        batch_op.drop_index(batch_op.f('ix_case_received_at'))
        batch_op.drop_index(batch_op.f('ix_case_owner_id'))
        batch_op.drop_index(batch_op.f('ix_case_kind'))
        batch_op.drop_index(batch_op.f('ix_case_contact_id'))

    op.drop_table('case')
    op.drop_table('officer')
    with op.batch_alter_table('channelidentity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channelidentity_contact_id'))

    op.drop_table('channelidentity')
    op.drop_table('team')
    op.drop_table('referencesequence')
    op.drop_table('conversationstate')
    op.drop_table('contact')
