"""The append-only audit log."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .base import text_field, utc_now_field


class AuditEvent(SQLModel, table=True):
    """Who did what to which record, when, from where; chained by hash so a change is detectable."""

    __tablename__ = 'audit_event'

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_now_field(index=True)
    account_id: int | None = Field(default=None, index=True)  # no FK: the log outlives accounts
    actor: str = Field(default='', max_length=254)
    action: str = Field(max_length=64, index=True)
    object_type: str | None = Field(default=None, max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    chart_id: int | None = Field(default=None, index=True)
    contact_id: int | None = Field(default=None, index=True)
    ip_address: str | None = Field(default=None, max_length=64)
    detail_json: str = text_field(default='{}')
    prev_hash: str = Field(default='', max_length=64)
    hash: str = Field(default='', max_length=64)
