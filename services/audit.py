"""Append-only audit log with a hash chain: each event carries the hash of the one before it."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from models import AuditEvent
from models.shapes import Actor

from . import clock

_PG_AUDIT_LOCK = 0x534D50  # advisory lock key serializing chain appends on PostgreSQL


def record(session: Session, *, action: str, actor: Actor | None = None, object_type: str | None = None,
           object_id: Any = None, chart_id: int | None = None, contact_id: int | None = None,
           detail: dict[str, Any] | None = None, ip_address: str | None = None) -> AuditEvent:
    """Append one event in the caller's transaction (it commits or rolls back with the change)."""
    if session.get_bind().dialect.name == 'postgresql':
        session.execute(sa.text('SELECT pg_advisory_xact_lock(:k)'), {'k': _PG_AUDIT_LOCK})
    actor = actor or Actor()
    event = AuditEvent(
        at=clock.now(), account_id=actor.account_id, actor=_clip(actor.username or '', 254),
        action=action, object_type=object_type, object_id=None if object_id is None else _clip(str(object_id), 64),
        chart_id=chart_id, contact_id=contact_id, ip_address=_clip(ip_address or actor.ip_address, 64),
        detail_json=json.dumps(detail or {}, sort_keys=True, default=str),
    )
    # Insert first: on SQLite the write lock is then ours, so the previous row read next is the latest.
    session.add(event)
    session.flush()
    prev = session.exec(
        select(AuditEvent.hash).where(AuditEvent.id < event.id).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    event.prev_hash = prev or ''
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    return event


def _clip(value: str | None, limit: int) -> str | None:
    """Typed values (a sign-in name, an address) as the column can hold them: what was tried is still recorded."""
    if value is None:
        return None
    value = value.encode('utf-8', 'surrogatepass').decode('utf-8', 'replace').replace('\x00', '\ufffd')
    return value if len(value) <= limit else value[:limit - 1] + '…'


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the event's content and the previous hash."""
    payload = json.dumps([
        event.id, event.at.isoformat(), event.account_id, event.actor, event.action, event.object_type,
        event.object_id, event.chart_id, event.contact_id, event.ip_address, event.detail_json, event.prev_hash,
    ], separators=(',', ':'))
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    """An event whose stored hash or link does not match."""

    event_id: int
    reason: str


def verify_chain(session: Session, batch: int = 1000) -> list[ChainProblem]:
    """Recompute every hash in id order; return the events that were changed, removed or reordered."""
    problems: list[ChainProblem] = []
    prev = ''
    for event in _iter_events(session, batch):
        if event.prev_hash != prev:
            problems.append(ChainProblem(event.id, 'previous hash does not match (an event was removed or changed)'))
        if event_hash(event) != event.hash:
            problems.append(ChainProblem(event.id, 'content does not match its hash (the event was changed)'))
        prev = event.hash
    return problems


def _iter_events(session: Session, batch: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
