"""Charts, documents, stored files, contacts and shares."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import text_field, utc_field, utc_now_field

RECEIVED_DOCUMENT = 'Received Document'


class Chart(SQLModel, table=True):
    """The record of one employee/individual ("REGARDING")."""

    __tablename__ = 'chart'

    id: int | None = Field(default=None, primary_key=True)
    first_name: str = Field(max_length=100, index=True)
    last_name: str = Field(max_length=100, index=True)
    date_of_birth: date | None = Field(default=None, index=True)
    sex: str | None = Field(default=None, max_length=32)
    external_id: str | None = Field(default=None, max_length=64, index=True)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)
    employer: str | None = Field(default=None, max_length=200)
    status: str = Field(default='active', max_length=20, index=True)  # active | pending_review | rejected | merged
    merged_into_chart_id: int | None = Field(default=None, foreign_key='chart.id')
    created_at: datetime = utc_now_field()
    created_by_account_id: int | None = Field(default=None, foreign_key='account.id')

    @property
    def display_name(self) -> str:
        return f'{self.last_name}, {self.first_name}'


class StoredFile(SQLModel, table=True):
    """File content stored under the data directory by its SHA-256, never by the uploaded name."""

    __tablename__ = 'stored_file'

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True, index=True)
    size: int
    mime_type: str = Field(max_length=100)
    created_at: datetime = utc_now_field()


class Document(SQLModel, table=True):
    """Content in a chart; a copy sent to a contact lives in that contact's chart (contact_id set)."""

    __tablename__ = 'document'

    id: int | None = Field(default=None, primary_key=True)
    chart_id: int | None = Field(default=None, foreign_key='chart.id', index=True)  # patient chart (REGARDING)
    contact_id: int | None = Field(default=None, foreign_key='contact.id', index=True)  # set on contact-chart copies
    source_document_id: int | None = Field(default=None, foreign_key='document.id', index=True)
    service_date: date
    doc_type: str = Field(max_length=100)
    title: str = Field(max_length=300)
    service_location: str | None = Field(default=None, max_length=200)
    author_account_id: int | None = Field(default=None, foreign_key='account.id')
    author_name: str = Field(default='', max_length=200)  # "BY"
    body_html: str | None = text_field(default=None)  # sanitized on the way in
    body_text: str | None = text_field(default=None)
    file_id: int | None = Field(default=None, foreign_key='stored_file.id')
    file_name: str | None = Field(default=None, max_length=255)
    created_at: datetime = utc_now_field()
    deleted_at: datetime | None = utc_field()


class Contact(SQLModel, table=True):
    """An outside party: physician, employer, insurer or case manager. Its contact chart logs what it got."""

    __tablename__ = 'contact'

    id: int | None = Field(default=None, primary_key=True)
    first_name: str = Field(max_length=100, index=True)
    last_name: str = Field(max_length=100, index=True)
    email: str = Field(max_length=254, index=True)  # stored lower-case
    phone: str | None = Field(default=None, max_length=40)
    organization: str | None = Field(default=None, max_length=200)
    created_at: datetime = utc_now_field()
    created_by_account_id: int | None = Field(default=None, foreign_key='account.id')
    staff_notes: str | None = text_field(default=None)  # free text for the clinic only; never shown to the contact

    @property
    def display_name(self) -> str:
        return f'{self.first_name} {self.last_name}'


class Share(SQLModel, table=True):
    """One document sent to one contact through the portal.

    The list columns (serv date, regarding, by, type, title) are a snapshot taken at sending, so the
    portal's paged, sorted list reads one table.
    """

    __tablename__ = 'share'
    __table_args__ = (
        # the open rows of a contact, counted from the index alone (migration 0012)
        sa.Index('ix_share_contact_open', 'contact_id', 'rescinded_at', 'last_reply_at', 'expires_at'),
        sa.Index('ix_share_contact_service_date', 'contact_id', 'service_date'),
        # one per sortable list column: a page of a sorted list is read in index order (migration 0012)
        sa.Index('ix_share_contact_title', 'contact_id', 'title', 'id'),
        sa.Index('ix_share_contact_regarding', 'contact_id', 'regarding', 'id'),
        sa.Index('ix_share_contact_by_name', 'contact_id', 'by_name', 'id'),
        sa.Index('ix_share_contact_doc_type', 'contact_id', 'doc_type', 'id'),
        sa.Index('ix_share_contact_reply_count', 'contact_id', 'reply_count', 'id'),
        # with what a search's match is tested and sorted by, so it is looked up in the index alone (0014)
        sa.Index('ix_share_contact_last_reply_at', 'contact_id', 'last_reply_at', 'id', 'rescinded_at', 'expires_at',
                 'service_date'),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key='contact.id', index=True)
    document_id: int = Field(foreign_key='document.id', index=True)  # the copy in the contact chart
    source_document_id: int = Field(foreign_key='document.id', index=True)
    chart_id: int = Field(foreign_key='chart.id', index=True)
    service_date: date
    regarding: str = Field(max_length=210)
    by_name: str = Field(max_length=200)
    doc_type: str = Field(max_length=100)
    title: str = Field(max_length=300)
    sent_by_account_id: int | None = Field(default=None, foreign_key='account.id')
    sent_at: datetime = utc_now_field(index=True)
    replies_allowed: bool = Field(default=True)
    first_read_at: datetime | None = utc_field()
    last_read_at: datetime | None = utc_field()
    reply_count: int = Field(default=0)
    last_reply_at: datetime | None = utc_field()
    unread_reminders_sent: int = Field(default=0)
    last_unread_reminder_at: datetime | None = utc_field()
    rescinded_at: datetime | None = utc_field()
    rescinded_by_account_id: int | None = Field(default=None, foreign_key='account.id')
    rescind_reason: str | None = Field(default=None, max_length=500)
    # lifecycle options chosen in the Send dialog (issue 17)
    expires_at: datetime | None = utc_field(index=True)  # after this the share behaves as rescinded ('expired')
    expired_at: datetime | None = utc_field()  # set by the expiry job together with rescinded_at
    expiry_notice_sent_at: datetime | None = utc_field()
    acknowledgement_required: bool = Field(default=False)
    acknowledged_at: datetime | None = utc_field()
    download_count: int = Field(default=0)
    last_downloaded_at: datetime | None = utc_field()
    notice_email_id: int | None = Field(default=None, foreign_key='outbox_email.id')  # invitation / Reminder to Review
