"""The append-only audit log and the anchors of its chain."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .base import text_field, utc_now_field


class AuditEvent(SQLModel, table=True):
    """Who did what to which record, when, from where.

    Events form a keyed chain: `seq` numbers them without gaps (assigned under the chain lock), and `hash`
    is an HMAC, under a key kept outside the database, over the event's content and the previous event's hash.
    """

    __tablename__ = 'audit_event'

    id: int | None = Field(default=None, primary_key=True)
    seq: int | None = Field(default=None, unique=True, index=True)  # 1, 2, 3... (None only while being written)
    at: datetime = utc_now_field(index=True)
    account_id: int | None = Field(default=None, index=True)  # no FK: the log outlives accounts
    actor: str = Field(default='', max_length=254)
    action: str = Field(max_length=64, index=True)
    object_type: str | None = Field(default=None, max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    chart_id: int | None = Field(default=None, index=True)
    document_id: int | None = Field(default=None, index=True)  # the chart document the event is about
    contact_id: int | None = Field(default=None, index=True)
    ip_address: str | None = Field(default=None, max_length=64)
    detail_json: str = text_field(default='{}')
    prev_hash: str = Field(default='', max_length=64)
    hash: str = Field(default='', max_length=64)


class AuditAnchor(SQLModel, table=True):
    """A record of one anchor written outside the database (the anchor file, or the admins' daily email).

    The anchor file must hold every file anchor recorded here: one missing means the file was replaced by an
    older copy or cut. `mac` is keyed like the chain, so a row or a file line cannot be forged without the key.
    """

    __tablename__ = 'audit_anchor'

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default='file', max_length=16, index=True)  # file | email
    seq: int = Field(index=True)
    hash: str = Field(max_length=64)
    event_at: datetime = utc_now_field()
    written_at: datetime = utc_now_field(index=True)
    mac: str = Field(max_length=64)
    note: str | None = Field(default=None, max_length=200)  # e.g. "emailed to 2 admins"
