"""New registrations submitted from the portal."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .base import text_field, utc_field, utc_now_field


class RegistrationToken(SQLModel, table=True):
    """Short-lived, single-use pass to the registration wizard; keeps the draft answers."""

    __tablename__ = 'registration_token'

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    contact_id: int | None = Field(default=None, foreign_key='contact.id')
    account_id: int | None = Field(default=None, foreign_key='account.id')
    created_at: datetime = utc_now_field()
    expires_at: datetime = utc_now_field()
    used_at: datetime | None = utc_field()
    draft_json: str = text_field(default='{}')


class Registration(SQLModel, table=True):
    """A submitted questionnaire; creates a chart pending staff review."""

    __tablename__ = 'registration'

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True, index=True)
    contact_id: int | None = Field(default=None, foreign_key='contact.id', index=True)
    account_id: int | None = Field(default=None, foreign_key='account.id')
    chart_id: int | None = Field(default=None, foreign_key='chart.id')
    questionnaire_json: str = text_field(default='{}')  # the definition the answers were given to
    answers_json: str = text_field(default='{}')
    status: str = Field(default='pending', max_length=16, index=True)  # pending | accepted | merged | rejected
    created_at: datetime = utc_now_field(index=True)
    reviewed_at: datetime | None = utc_field()
    reviewed_by_account_id: int | None = Field(default=None, foreign_key='account.id')
    review_reason: str | None = Field(default=None, max_length=1000)
    merged_into_chart_id: int | None = Field(default=None, foreign_key='chart.id')
    staff_alerted_at: datetime | None = utc_field()


class RegistrationFile(SQLModel, table=True):
    """A file uploaded in a registration's file field."""

    __tablename__ = 'registration_file'

    id: int | None = Field(default=None, primary_key=True)
    registration_id: int | None = Field(default=None, foreign_key='registration.id', index=True)
    token_id: int | None = Field(default=None, foreign_key='registration_token.id', index=True)
    field_key: str = Field(max_length=64)
    file_id: int = Field(foreign_key='stored_file.id')
    file_name: str = Field(max_length=255)
