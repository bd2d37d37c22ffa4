"""Anchors: the head of the audit chain (sequence number, hash, time) written outside the database.

An anchor is appended to an append-only file (SMP_AUDIT_ANCHOR_FILE, by default audit-anchors.log in the data
directory: put it on another volume) at least every `audit_anchor_every_events` events and every
`audit_anchor_every_minutes` minutes while the log grows, and, when the admin turns it on, emailed to the
admins once a day. Each anchor is also recorded in the `audit_anchor` table, so an anchor file replaced by an
older copy shows. Every anchor line and record carries a MAC under the chain key.

Anchors are written by the scheduler job below (on its thread pool) and, when an append reaches a multiple of
`audit_anchor_every_events`, by a background thread started after that transaction commits: never on the
event loop.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Account, AuditAnchor

from . import audit, clock, db
from .config import get_config
from .settings import get_settings

log = logging.getLogger(__name__)
EMAIL_EVERY = timedelta(days=1)
FILE, EMAIL = 'file', 'email'


@dataclass(frozen=True)
class Anchor:
    """One anchor: the chain's head when it was written, and the MAC that vouches for it."""

    seq: int
    hash: str
    event_at: datetime
    written_at: datetime
    mac: str
    channel: str = FILE

    def line(self) -> str:
        """The anchor as one line of the anchor file (JSON, no secrets, no PHI)."""
        return json.dumps({'seq': self.seq, 'hash': self.hash, 'event_at': self.event_at.astimezone(UTC).isoformat(),
                           'written_at': self.written_at.astimezone(UTC).isoformat(), 'mac': self.mac},
                          separators=(',', ':')) + '\n'

    def valid(self, key: bytes) -> bool:
        """True when the MAC matches under `key`."""
        return audit.anchor_mac(key, channel=self.channel, seq=self.seq, hash=self.hash, event_at=self.event_at,
                                written_at=self.written_at) == self.mac


def anchor_path() -> Path:
    """Where anchors are appended (SMP_AUDIT_ANCHOR_FILE or audit-anchors.log in the data directory)."""
    return get_config().resolved_audit_anchor_file


# ----------------------------------------------------------------------------- the anchor file

@dataclass(frozen=True)
class FileLine:
    """A line of the anchor file: its number and the anchor it holds (None when it is not one)."""

    number: int
    anchor: Anchor | None
    text: str


def read_anchor_file(path: Path) -> list[FileLine] | None:
    """Every line of the anchor file, parsed; None when the file does not exist."""
    if not path.exists():
        return None
    lines = []
    with path.open(encoding='utf-8', errors='replace') as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                lines.append(FileLine(number, _parse(text), text.rstrip('\n')))
    return lines


def _parse(text: str) -> Anchor | None:
    try:
        data = json.loads(text)
        return Anchor(seq=int(data['seq']), hash=str(data['hash']), event_at=_when(data['event_at']),
                      written_at=_when(data['written_at']), mac=str(data['mac']))
    except (ValueError, KeyError, TypeError):
        return None


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError('anchor time without a zone')
    return value.astimezone(UTC)


def append_line(path: Path, anchor: Anchor) -> None:
    """Append one anchor line and force it to disk (O_APPEND: concurrent writers never overwrite each other)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, anchor.line().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:  # the new directory entry must survive a crash too
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# ----------------------------------------------------------------------------- writing anchors

def anchor_if_due(*, force: bool = False) -> Anchor | None:
    """Write a file anchor when the policy says one is due (or `force`); return it, or None.

    Due: nothing anchored yet, or `audit_anchor_every_events` events, or `audit_anchor_every_minutes` minutes
    and at least one event, since the last file anchor. The line is appended under the chain lock and before
    the record of it commits: a line always describes a committed head; a record always has its line.
    """
    settings = get_settings()
    key = audit.chain_key()
    with db.transaction() as session:
        audit.lock_chain(session)
        head = audit.head(session)
        if head is None:
            return None
        last = _last(session, FILE)
        now = clock.now()
        if last is not None and head.seq < last.seq:
            log.error('audit log head is at event %s but an anchor was written at event %s: events were removed '
                      '(run `main.py check-audit`)', head.seq, last.seq)
        elif not force and last is not None:
            if head.seq == last.seq:
                return None
            by_count = head.seq - last.seq >= settings.audit_anchor_every_events
            by_time = now - last.written_at >= timedelta(minutes=settings.audit_anchor_every_minutes)
            if not (by_count or by_time):
                return None
        anchor = _anchor(key, FILE, head, now)
        append_line(anchor_path(), anchor)
        _store(session, anchor, note=None)
        return anchor


def email_anchor_if_due(*, force: bool = False) -> Anchor | None:
    """Email the chain's head to every active admin once a day, when the admin turned it on (no PHI: the head)."""
    settings = get_settings()
    if not (settings.audit_anchor_email or force):
        return None
    key = audit.chain_key()
    with db.transaction() as session:
        audit.lock_chain(session)
        head = audit.head(session)
        last = _last(session, EMAIL)
        now = clock.now()
        if head is None or (not force and last is not None and now - last.written_at < EMAIL_EVERY):
            return None
        admins = session.exec(select(Account).where(Account.role == 'admin', Account.is_active,
                                                    Account.disabled_at.is_(None)).order_by(Account.id)).all()
        if not admins:
            return None
        from . import outbox  # noqa: PLC0415  (outbox renders templates; kept out of every audit append)
        anchor = _anchor(key, EMAIL, head, now)
        for admin in admins:
            outbox.enqueue(session, kind='audit_anchor', to=admin.email, account_id=admin.id, context={
                'anchor_seq': head.seq, 'anchor_hash': head.hash,
                'anchor_at': f'{head.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC',
                'check_command': f'python main.py check-audit --expect {head.seq}:{head.hash}'})
        _store(session, anchor, note=f'emailed to {len(admins)} admin(s)')
        return anchor


def anchor_job() -> None:
    """Scheduler job: the file anchor when due, then the daily email anchor when on and due."""
    anchor_if_due()
    email_anchor_if_due()


def _anchor(key: bytes, channel: str, head: audit.ChainHead, now: datetime) -> Anchor:
    mac = audit.anchor_mac(key, channel=channel, seq=head.seq, hash=head.hash, event_at=head.at, written_at=now)
    return Anchor(seq=head.seq, hash=head.hash, event_at=head.at, written_at=now, mac=mac, channel=channel)


def _last(session: Session, channel: str) -> AuditAnchor | None:
    return session.exec(select(AuditAnchor).where(AuditAnchor.channel == channel)
                        .order_by(AuditAnchor.written_at.desc(), AuditAnchor.id.desc()).limit(1)).first()


def _store(session: Session, anchor: Anchor, *, note: str | None) -> None:
    session.add(AuditAnchor(channel=anchor.channel, seq=anchor.seq, hash=anchor.hash, event_at=anchor.event_at,
                            written_at=anchor.written_at, mac=anchor.mac, note=note))
    session.flush()


def recorded_anchors(session: Session) -> list[AuditAnchor]:
    """Every anchor recorded in the database, oldest first."""
    return list(session.exec(select(AuditAnchor).order_by(AuditAnchor.id)).all())


# ----------------------------------------------------------------------------- the count trigger

_kicker: ThreadPoolExecutor | None = None
_kicker_lock = threading.Lock()


def after_append(session: Session, seq: int) -> None:
    """Called by audit.record: when `seq` reaches a multiple of the count setting, anchor after the commit.

    Only in processes that run the scheduler (tests and CLI commands drive anchors themselves); the anchor is
    written by a background thread, so neither the caller nor the event loop waits for the file.
    """
    if not get_config().scheduler:
        return
    every = get_settings(session).audit_anchor_every_events
    if seq % every:
        return
    sa.event.listen(session, 'after_commit', lambda _s: _kick(), once=True)


def _kick() -> None:
    global _kicker
    with _kicker_lock:
        if _kicker is None:
            _kicker = ThreadPoolExecutor(1, thread_name_prefix='smp-audit-anchor')
        _kicker.submit(_quiet_anchor)


def _quiet_anchor() -> None:
    try:
        anchor_if_due()
    except Exception:  # the scheduler's tick tries again
        log.exception('writing an audit anchor failed')
