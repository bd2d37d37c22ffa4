"""The durable email queue and admin-edited email templates."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import text_field, utc_field, utc_now_field


class OutboxEmail(SQLModel, table=True):
    """One email: written in the transaction that causes it, sent later by the scheduler."""

    __tablename__ = 'outbox_email'
    __table_args__ = (sa.Index('ix_outbox_due', 'status', 'next_attempt_at'),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True)
    to_address: str = Field(max_length=254)
    contact_id: int | None = Field(default=None, foreign_key='contact.id', index=True)
    account_id: int | None = Field(default=None, foreign_key='account.id', index=True)
    group_key: str | None = Field(default=None, max_length=80, index=True)  # pending emails that may be merged
    context_json: str = text_field(default='{}')  # template variables (never PHI; codes only as placeholders)
    subject: str = Field(max_length=300)
    body_html: str = text_field()
    body_text: str = text_field()
    message_id: str = Field(max_length=200, unique=True)
    status: str = Field(default='pending', max_length=16)  # pending | sending | sent | failed | cancelled
    attempts: int = Field(default=0)
    created_at: datetime = utc_now_field(index=True)
    next_attempt_at: datetime = utc_now_field()
    claimed_at: datetime | None = utc_field()
    claimed_by: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = utc_field()
    last_error: str | None = Field(default=None, max_length=1000)
    # why the last attempt did not send: 'mailbox' or 'rejected' (failed for this recipient: a bounce),
    # 'server' (a refusal of every email: queued while the outbox is paused), 'temporary', 'code_removed'
    failure_reason: str | None = Field(default=None, max_length=20)
    # the codes the email carries, encrypted (services.secretbox); None once sent, failed or cancelled
    sealed_secrets: str | None = text_field(default=None)


class OutboxState(SQLModel, table=True):
    """One row (id 1): whether delivery is paused because the mail server refuses every email, why and since when."""

    __tablename__ = 'outbox_state'

    id: int = Field(default=1, primary_key=True)
    paused_since: datetime | None = utc_field()
    pause_reason: str | None = Field(default=None, max_length=300)
    alerted_at: datetime | None = utc_field()


class EmailTemplate(SQLModel, table=True):
    """An admin's version of one email kind's template (the shipped default lives in assets/)."""

    __tablename__ = 'email_template'

    kind: str = Field(primary_key=True, max_length=40)
    subject: str = Field(max_length=300)
    body_html: str = text_field()
    body_text: str = text_field()
    updated_at: datetime = utc_now_field()
    updated_by_account_id: int | None = Field(default=None, foreign_key='account.id')
