"""Staff alert choices (per staff account) and the log of what each account was already told about."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import utc_field, utc_now_field

ALERT_EVENTS = ('reply_mine', 'reply_any', 'registration', 'unread', 'bounced')
ALERT_MODES = ('off', 'immediate', 'digest')


class StaffAlertPref(SQLModel, table=True):
    """One staff account's alert choices; a None choice follows the admin's default (Admin → Settings)."""

    __tablename__ = 'staff_alert_pref'

    account_id: int = Field(foreign_key='account.id', primary_key=True)
    reply_mine: str | None = Field(default=None, max_length=16)  # a reply on a document I sent
    reply_any: str | None = Field(default=None, max_length=16)  # a reply on any document
    registration: str | None = Field(default=None, max_length=16)  # a new registration to review
    unread: str | None = Field(default=None, max_length=16)  # a share I sent is still unread after N days
    bounced: str | None = Field(default=None, max_length=16)  # the invitation of a share I sent failed
    unread_days: int | None = Field(default=None)
    digest_minutes: int | None = Field(default=None)
    digest_sent_at: datetime | None = utc_field()  # the last digest (or when alerts started for this account)
    created_at: datetime = utc_now_field()
    updated_at: datetime = utc_now_field()


class StaffAlertLog(SQLModel, table=True):
    """An item (reply, registration, share) one account was told about, so it is told once."""

    __tablename__ = 'staff_alert_log'
    __table_args__ = (sa.UniqueConstraint('account_id', 'event', 'item_id', name='uq_staff_alert_log'),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key='account.id', index=True)
    event: str = Field(max_length=16)
    item_id: int
    created_at: datetime = utc_now_field()
    email_id: int | None = Field(default=None, foreign_key='outbox_email.id')
