"""The case record: SQLModel tables, the engine and the migrations. Imports nothing of ours."""

from sqlmodel import SQLModel

from models.access import OfficerSession, SignInAttempt
from models.audit import AuditEvent, ConversationState, TrainingLabel, write_audit
from models.audit_chain import AuditChainHead
from models.cases import Advocacy, Case, Deadline, ReferenceSequence, StageRecord
from models.db import DatabaseUnavailable, check_reachable, make_engine, session_scope, upsert_insert
from models.heartbeat import Heartbeat
from models.messages import Attachment, Message
from models.outbox import OutboxItem
from models.people import ChannelIdentity, Contact, Officer, Team
from models.replies import ReplyTemplate
from models.retention import LegalHold
from models.subject_access import SubjectAccessRequest, Withholding

metadata = SQLModel.metadata

__all__ = [
    "Advocacy",
    "Attachment",
    "AuditChainHead",
    "AuditEvent",
    "Case",
    "ChannelIdentity",
    "Contact",
    "ConversationState",
    "DatabaseUnavailable",
    "Deadline",
    "Heartbeat",
    "LegalHold",
    "Message",
    "Officer",
    "OfficerSession",
    "OutboxItem",
    "ReferenceSequence",
    "ReplyTemplate",
    "SignInAttempt",
    "StageRecord",
    "SubjectAccessRequest",
    "Team",
    "TrainingLabel",
    "Withholding",
    "check_reachable",
    "make_engine",
    "metadata",
    "session_scope",
    "upsert_insert",
    "write_audit",
]
