"""Activation codes emailed to contacts."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .base import utc_field, utc_now_field


class ActivationCode(SQLModel, table=True):
    """One-time code that creates a portal account for a contact or links the contact to one."""

    __tablename__ = 'activation_code'

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key='contact.id', index=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    share_id: int | None = Field(default=None, foreign_key='share.id')
    created_by_account_id: int | None = Field(default=None, foreign_key='account.id')
    created_at: datetime = utc_now_field()
    expires_at: datetime = utc_now_field(index=True)
    used_at: datetime | None = utc_field()
    used_by_account_id: int | None = Field(default=None, foreign_key='account.id')
    revoked_at: datetime | None = utc_field()
    expiry_reminder_sent_at: datetime | None = utc_field()
