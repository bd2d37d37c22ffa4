"""Admin-editable settings, one row per key."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .base import text_field, utc_now_field


class Setting(SQLModel, table=True):
    """A stored setting value (JSON); absent keys take the defaults in services.settings."""

    __tablename__ = 'setting'

    key: str = Field(primary_key=True, max_length=64)
    value_json: str = text_field()
    updated_at: datetime = utc_now_field()
    updated_by_account_id: int | None = Field(default=None, foreign_key='account.id')
