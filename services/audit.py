"""Append-only audit log with a keyed hash chain.

Every event gets the next sequence number (`seq`, gapless, assigned under the chain lock) and a hash that is
an HMAC-SHA256, under a key kept in SMP_DATA_DIR/secrets/ and never in the database, over its content and the
previous event's hash. Someone who can write the database but cannot read the key cannot produce a chain
that verifies. The head of the chain is also anchored outside the database (services/audit_anchor.py), so
deleting the newest events, or all of them, shows too. services/audit_verify.py checks both.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from models import AuditEvent, Document, Share
from models.shapes import Actor

from . import clock, db
from .config import get_config, persistent_secret

PG_AUDIT_LOCK = 0x534D50  # advisory lock key serializing chain appends (and anchors) on PostgreSQL
KEY_NAME = 'audit_chain_key'
CHAIN_VERSION = 'smp-audit-v2'
ANCHOR_VERSION = 'smp-anchor-v1'


# ----------------------------------------------------------------------------- the key

def chain_key() -> bytes:
    """The chain's HMAC key, created on first use in SMP_DATA_DIR/secrets/ (backed up with `main.py backup`)."""
    return persistent_secret(KEY_NAME).encode()


def existing_chain_key() -> bytes | None:
    """The key if it exists; None otherwise (the checker never creates one)."""
    path = get_config().secret_file(KEY_NAME)
    return path.read_text().strip().encode() if path.exists() else None


def key_fingerprint(key: bytes) -> str:
    """A short, non-secret name of a key (to tell 'the key changed' from 'the log changed')."""
    return hmac.new(key, b'smp-audit-key-fingerprint', hashlib.sha256).hexdigest()[:12]


# ----------------------------------------------------------------------------- hashing

CONTENT_FIELDS = ('seq', 'id', 'at', 'account_id', 'actor', 'action', 'object_type', 'object_id', 'chart_id',
                  'document_id', 'contact_id', 'ip_address', 'detail_json', 'prev_hash')


def content_hash(key: bytes, fields: Mapping[str, Any]) -> str:
    """HMAC-SHA256 over an event's canonical content (every column but `hash`) and the previous hash."""
    values = [CHAIN_VERSION] + [_iso(fields[name]) if name == 'at' else fields[name] for name in CONTENT_FIELDS]
    payload = json.dumps(values, separators=(',', ':'), ensure_ascii=True)
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def event_hash(event: AuditEvent, key: bytes) -> str:
    """The keyed hash an event must carry."""
    return content_hash(key, {name: getattr(event, name) for name in CONTENT_FIELDS})


def anchor_mac(key: bytes, *, channel: str, seq: int, hash: str, event_at: datetime, written_at: datetime) -> str:
    """The keyed MAC of one anchor, so an anchor line or record cannot be forged without the key."""
    payload = json.dumps([ANCHOR_VERSION, channel, seq, hash, _iso(event_at), _iso(written_at)], separators=(',', ':'))
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# ----------------------------------------------------------------------------- appending

def lock_chain(session: Session) -> None:
    """Take the chain lock for the rest of the transaction (one writer appends or anchors at a time).

    PostgreSQL: a transaction-level advisory lock. SQLite: a write statement that changes nothing, which
    takes the database's write lock (so the head read next is the newest).
    """
    if session.get_bind().dialect.name == 'postgresql':
        session.execute(sa.text('SELECT pg_advisory_xact_lock(:k)'), {'k': PG_AUDIT_LOCK})
    else:
        session.execute(sa.text('UPDATE audit_event SET id = id WHERE 1 = 0'))


@dataclass(frozen=True)
class ChainHead:
    """The newest event: its sequence number, hash and time."""

    seq: int
    hash: str
    at: datetime


def head(session: Session) -> ChainHead | None:
    """The newest sequenced event (read under the chain lock to be sure nobody appends meanwhile)."""
    row = db.rows(session, db.prepared('audit: head', lambda: select(AuditEvent.seq, AuditEvent.hash, AuditEvent.at)
                  .where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq.desc()).limit(1)), {}).first()
    return ChainHead(row[0], row[1], row[2]) if row else None


def record(session: Session, *, action: str, actor: Actor | None = None, object_type: str | None = None,
           object_id: Any = None, chart_id: int | None = None, document_id: int | None = None,
           contact_id: int | None = None, detail: dict[str, Any] | None = None,
           ip_address: str | None = None) -> AuditEvent:
    """Append one event in the caller's transaction (it commits or rolls back with the change).

    `document_id` names the chart document the event is about (for a contact's copy: the document it was
    copied from) and `chart_id` its chart, so the per-chart and per-document access reports find it.
    """
    key = chain_key()
    lock_chain(session)
    actor = actor or Actor()
    event = AuditEvent(
        at=clock.now(), account_id=actor.account_id, actor=_clip(actor.username or '', 254),
        action=action, object_type=object_type, object_id=None if object_id is None else _clip(str(object_id), 64),
        chart_id=chart_id, document_id=document_id, contact_id=contact_id,
        ip_address=_clip(ip_address or actor.ip_address, 64),
        detail_json=json.dumps(detail or {}, sort_keys=True, default=str),
    )
    session.add(event)
    session.flush()  # the id is part of the hashed content
    last = head(session)
    event.seq = last.seq + 1 if last else 1
    event.prev_hash = last.hash if last else ''
    event.hash = event_hash(event, key)
    session.add(event)
    session.flush()
    from . import audit_anchor  # noqa: PLC0415  (it imports this module)
    audit_anchor.after_append(session, event.seq)
    return event


def _clip(value: str | None, limit: int) -> str | None:
    """Typed values (a sign-in name, an address) as the column can hold them: what was tried is still recorded."""
    if value is None:
        return None
    value = value.encode('utf-8', 'surrogatepass').decode('utf-8', 'replace').replace('\x00', '\ufffd')
    return value if len(value) <= limit else value[:limit - 1] + '…'


# ----------------------------------------------------------------------------- what an event is about

def document_refs(session: Session, document: Document) -> dict[str, int | None]:
    """The chart and chart document an event about `document` carries (a contact's copy names its source)."""
    if document.contact_id is None:
        return {'document_id': document.id, 'chart_id': document.chart_id}
    share = session.exec(select(Share).where(Share.document_id == document.id)).first()
    source_id = document.source_document_id or (share.source_document_id if share else None)
    chart_id = share.chart_id if share else None
    if chart_id is None and source_id is not None:
        source = session.get(Document, source_id)
        chart_id = source.chart_id if source else None
    return {'document_id': source_id, 'chart_id': chart_id}


def share_refs(share: Share) -> dict[str, int | None]:
    """The chart, chart document and contact an event about `share` carries."""
    return {'document_id': share.source_document_id, 'chart_id': share.chart_id, 'contact_id': share.contact_id}
