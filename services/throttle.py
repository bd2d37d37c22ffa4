"""Failure counters with lockout and exponential backoff (sign-in, activation codes, verification).

A key is locked once `max_failures` failures fall in its window; each further failure *after* a lock ended
doubles the next lock (up to `max_lock_seconds`). Attempts made while a key is locked are not counted: they
are answered "paused" and change nothing, so hammering a locked key cannot keep it locked, and the lock ends
when its time ends. Every lock that starts is audited as a `locked` event.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import Throttle
from models.shapes import Actor

from . import clock, db, metrics

log = logging.getLogger(__name__)

KEY_LENGTH = 128  # models.Throttle.key


def storable_key(key: str) -> str:
    """The key as stored: as given when it fits the column and is plain text, else a digest of it.

    Keys come from what people type (usernames, emails): an over-long or binary one must still be counted
    (and counted the same way on SQLite and PostgreSQL), never make the insert fail.
    """
    key = key or '(empty)'
    if len(key) <= KEY_LENGTH and key.isprintable():
        return key
    return 'sha256:' + hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()


def address_key(ip_address: str | None) -> str:
    """The key of a client address (unknown addresses share one key)."""
    return storable_key((ip_address or 'unknown')[:64])


def locked_until(session: Session, scope: str, key: str) -> datetime | None:
    """When the key is locked, the time the lock ends; else None."""
    row = _row(session, scope, key)
    if row and row.locked_until and row.locked_until > clock.now():
        return row.locked_until
    return None


def register_failure(session: Session, scope: str, key: str, *, max_failures: int, lock_seconds: int,
                     window_seconds: int = 24 * 3600, backoff: bool = True, max_lock_seconds: int = 3600,
                     actor: Actor | None = None) -> datetime | None:
    """Count one failure; return the end of the lock when the key is (now) locked, else None.

    While the key is locked nothing is counted. Once `max_failures` are reached in the window the key is
    locked for `lock_seconds`, doubled for each further failure after that (when `backoff`); a `locked`
    audit event (with `actor`, who tried and from where) records each lock that starts.
    """
    now = clock.now()
    row = _row(session, scope, key)
    if row is None:
        row = Throttle(scope=scope, key=storable_key(key), failures=0, window_start=now)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            row = _row(session, scope, key)
    if row.locked_until and row.locked_until > now:
        return row.locked_until  # paused: this attempt is answered, not counted
    if now - row.window_start > timedelta(seconds=window_seconds):
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= max_failures:
        extra = row.failures - max_failures if backoff else 0
        seconds = min(lock_seconds * (2 ** min(extra, 16)), max_lock_seconds)
        row.locked_until = now + timedelta(seconds=seconds)
        from . import audit
        audit.record(session, action='locked', actor=actor, object_type='throttle', object_id=scope,
                     detail={'scope': scope, 'failures': row.failures, 'seconds': seconds})
        metrics.LOCKOUTS.labels(scope=scope).inc()
        log.warning('lockout: %s locked for %d s after %d failures', scope, seconds, row.failures)
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


def wait_text(until: datetime) -> str:
    """'1 minute' / '15 minutes' until `until`, for messages."""
    minutes = minutes_left(until)
    return f'{minutes} minute' if minutes == 1 else f'{minutes} minutes'


def _row(session: Session, scope: str, key: str) -> Throttle | None:
    statement = db.prepared('throttle: row', lambda: select(Throttle).where(
        Throttle.scope == sa.bindparam('scope'), Throttle.key == sa.bindparam('key')))
    return session.exec(statement, params={'scope': scope, 'key': storable_key(key)}).first()
