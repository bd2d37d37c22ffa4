"""Action receipts: the idempotency keys of state changes already made."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .base import utc_now_field


class ActionReceipt(SQLModel, table=True):
    """One submitted action; a second submit with the same key finds this row and changes nothing."""

    __tablename__ = 'action_receipt'

    key: str = Field(primary_key=True, max_length=64)
    action: str = Field(max_length=120)
    account_id: int | None = Field(default=None, foreign_key='account.id', index=True)
    created_at: datetime = utc_now_field(index=True)
