"""Idempotency keys: a state change submitted twice with the same key is made once.

Pages pass the key of the action the person submitted (one per form and submit, see pages/actions.py);
the receipt is written in the same transaction as the change, so both happen or neither does.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, delete

from models import ActionReceipt
from models.shapes import Actor

from . import clock

T = TypeVar('T')
KEEP_DAYS = 2


class Replayed:
    """Returned instead of the service's result when the key was used before (nothing was changed)."""

    def __repr__(self) -> str:
        return 'REPLAYED'


REPLAYED = Replayed()


def claim(session: Session, *, key: str, action: str, actor: Actor | None = None) -> bool:
    """Record `key` in the caller's transaction; False when it was used before (then change nothing).

    One INSERT ... ON CONFLICT DO NOTHING, no savepoint: on SQLite a savepoint opened before the transaction's
    first write commits on release, so a refused change would have kept its key and its retry been ignored.
    A concurrent submit with the same key waits for the first one's commit and then finds the key taken.
    """
    if not key or len(key) > 64:
        raise ValueError('an idempotency key of 1 to 64 characters is required')
    insert = postgresql.insert if session.get_bind().dialect.name == 'postgresql' else sqlite.insert
    statement = insert(ActionReceipt).values(
        key=key, action=action[:120], account_id=actor.account_id if isinstance(actor, Actor) else None,
        created_at=clock.now()).on_conflict_do_nothing(index_elements=['key']).returning(ActionReceipt.key)
    return session.execute(statement).first() is not None


def run_once(session: Session, *, idempotency_key: str, service: Callable[..., T], **kwargs: Any) -> T | Replayed:
    """Call `service(session=session, **kwargs)` unless the key was used before; the key commits with the change."""
    if not claim(session, key=idempotency_key, action=f'{service.__module__}.{service.__qualname__}',
                 actor=kwargs.get('actor')):
        return REPLAYED
    return service(session=session, **kwargs)


def was_used(session: Session, *, key: str) -> bool:
    """True when a change with this key has been committed."""
    return session.get(ActionReceipt, key) is not None


def forget_old(session: Session) -> int:
    """Delete receipts older than KEEP_DAYS (a retry never comes that late); returns how many."""
    cutoff = clock.now() - timedelta(days=KEEP_DAYS)
    result = session.execute(delete(ActionReceipt).where(ActionReceipt.created_at < cutoff))
    return int(getattr(result, 'rowcount', 0) or 0)


def cleanup_job() -> None:
    """Scheduler entry: forget old receipts in their own transaction."""
    from . import db
    db.run(forget_old)
