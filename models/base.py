"""Column types and field helpers shared by every table."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from . import clock


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops offsets, so store naive UTC)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError('naive datetime given to a UTC column')
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now_field(**kwargs: Any) -> Any:
    """A required UTC timestamp defaulting to the clock's now."""
    return Field(default_factory=clock.now, sa_type=UTCDateTime, **kwargs)


def utc_field(**kwargs: Any) -> Any:
    """An optional UTC timestamp."""
    return Field(default=None, sa_type=UTCDateTime, **kwargs)


def text_field(**kwargs: Any) -> Any:
    """An unbounded text column."""
    return Field(sa_type=sa.Text, **kwargs)
