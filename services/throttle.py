"""Failure counters with lockout and exponential backoff (sign-in, activation codes, verification)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import Throttle

from . import clock


def locked_until(session: Session, scope: str, key: str) -> datetime | None:
    """When the key is locked, the time the lock ends; else None."""
    row = _row(session, scope, key)
    if row and row.locked_until and row.locked_until > clock.now():
        return row.locked_until
    return None


def register_failure(session: Session, scope: str, key: str, *, max_failures: int, lock_seconds: int,
                     window_seconds: int = 24 * 3600, backoff: bool = True, max_lock_seconds: int = 3600) -> datetime | None:
    """Count one failure; once `max_failures` are reached in the window, lock (doubling each further failure)."""
    now = clock.now()
    row = _row(session, scope, key)
    if row is None:
        row = Throttle(scope=scope, key=key, failures=0, window_start=now)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            row = _row(session, scope, key)
    if now - row.window_start > timedelta(seconds=window_seconds):
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= max_failures:
        extra = row.failures - max_failures if backoff else 0
        seconds = min(lock_seconds * (2 ** min(extra, 16)), max_lock_seconds)
        row.locked_until = now + timedelta(seconds=seconds)
    session.add(row)
    session.flush()
    return row.locked_until if row.locked_until and row.locked_until > now else None


def reset(session: Session, scope: str, key: str) -> None:
    """Forget the failures of a key (after a success)."""
    row = _row(session, scope, key)
    if row is not None:
        session.delete(row)
        session.flush()


def minutes_left(until: datetime) -> int:
    """Whole minutes (at least 1) until `until`, for messages."""
    seconds = (until - clock.now()).total_seconds()
    return max(1, int((seconds + 59) // 60))


def _row(session: Session, scope: str, key: str) -> Throttle | None:
    return session.exec(select(Throttle).where(Throttle.scope == scope, Throttle.key == key)).first()
