"""Replies written by contacts to shares, and their attachments."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .base import text_field, utc_field, utc_now_field


class Reply(SQLModel, table=True):
    """Plain text a contact wrote to a share; lands in the clinic's SMP worklist."""

    __tablename__ = 'reply'

    id: int | None = Field(default=None, primary_key=True)
    share_id: int = Field(foreign_key='share.id', index=True)
    account_id: int = Field(foreign_key='account.id', index=True)
    author_name: str = Field(max_length=200)
    body: str = text_field()
    created_at: datetime = utc_now_field(index=True)
    assigned_to_account_id: int | None = Field(default=None, foreign_key='account.id')
    worked_at: datetime | None = utc_field(index=True)
    worked_by_account_id: int | None = Field(default=None, foreign_key='account.id')
    moved_document_id: int | None = Field(default=None, foreign_key='document.id')
    staff_alerted_at: datetime | None = utc_field()


class ReplyAttachment(SQLModel, table=True):
    """A file attached to a reply."""

    __tablename__ = 'reply_attachment'

    id: int | None = Field(default=None, primary_key=True)
    reply_id: int = Field(foreign_key='reply.id', index=True)
    file_id: int = Field(foreign_key='stored_file.id')
    file_name: str = Field(max_length=255)
