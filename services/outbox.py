"""The durable email queue: enqueue in the caller's transaction; claim, send and retry in the scheduler."""
from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from models import OutboxEmail

from . import clock, db, email_templates, mailer
from .settings import get_settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 6 * 3600
STALE_CLAIM = timedelta(minutes=10)
WORKER_ID = f'{socket.gethostname()}:{os.getpid()}'


def enqueue(session: Session, *, kind: str, to: str, context: dict[str, Any], contact_id: int | None = None,
            account_id: int | None = None, group_key: str | None = None,
            not_before: Any = None) -> OutboxEmail:
    """Render an email and add it to the outbox in the caller's transaction (sent after commit)."""
    rendered = email_templates.render(session, kind, context)
    settings = get_settings(session)
    email = OutboxEmail(
        kind=kind, to_address=to, contact_id=contact_id, account_id=account_id, group_key=group_key,
        context_json=json.dumps(context, default=str), subject=rendered.subject, body_html=rendered.html,
        body_text=rendered.text, message_id=f'<{secrets.token_hex(16)}@{mailer.message_domain(settings)}>',
        next_attempt_at=not_before or clock.now(),
    )
    session.add(email)
    session.flush()
    return email


def rerender(session: Session, email: OutboxEmail, context: dict[str, Any]) -> None:
    """Replace a pending email's variables (e.g. a merged "3 new documents") and render it again."""
    rendered = email_templates.render(session, email.kind, context)
    email.context_json = json.dumps(context, default=str)
    email.subject, email.body_html, email.body_text = rendered.subject, rendered.html, rendered.text
    session.add(email)
    session.flush()


def claim_due(*, limit: int = 20, worker: str = WORKER_ID) -> list[int]:
    """Mark up to `limit` due emails as ours, oldest first; several processes never get the same row."""
    now = clock.now()
    table = OutboxEmail.__table__
    with db.transaction() as session:
        # emails whose sender died mid-send go back to the queue
        session.execute(sa.update(table).where(table.c.status == 'sending', table.c.claimed_at < now - STALE_CLAIM)
                        .values(status='pending', claimed_by=None))
        due = (sa.select(table.c.id).where(table.c.status == 'pending', table.c.next_attempt_at <= now)
               .order_by(table.c.id).limit(limit).with_for_update(skip_locked=True))
        result = session.execute(sa.update(table).where(table.c.id.in_(due.scalar_subquery()))
                                 .values(status='sending', claimed_at=now, claimed_by=worker)
                                 .returning(table.c.id))
        return sorted(row[0] for row in result)


def deliver(email_id: int, cfg: mailer.SmtpConfig, backend: Any = None) -> str:
    """Send one claimed email and record the outcome: sent, retry later, or failed."""
    with db.transaction() as session:
        email = session.get(OutboxEmail, email_id)
        if email is None or email.status != 'sending':
            return 'skipped'
        payload = dict(message_id=email.message_id, to=email.to_address, subject=email.subject,
                       html=email.body_html, text=email.body_text)
    try:
        answer = mailer.send(cfg, backend=backend, **payload)
        status, error = 'sent', None
    except mailer.PermanentMailError as exc:
        status, error = 'failed', str(exc)
    except mailer.TransientMailError as exc:
        status, error = 'retry', str(exc)
    with db.transaction() as session:
        email = session.get(OutboxEmail, email_id)
        email.attempts += 1
        email.claimed_by = None
        if status == 'sent':
            email.status, email.sent_at, email.last_error = 'sent', clock.now(), None
            log.info('email %s (%s) sent: %s', email.id, email.kind, answer)
        elif status == 'retry' and email.attempts < MAX_ATTEMPTS:
            email.status, email.last_error = 'pending', error[:1000]
            email.next_attempt_at = clock.now() + backoff(email.attempts)
        else:
            email.status, email.last_error = 'failed', (error or '')[:1000]
            log.warning('email %s (%s) failed: %s', email.id, email.kind, error)
        session.add(email)
        return email.status


def release(email_ids: list[int]) -> None:
    """Give claimed but unsent emails back to the queue, unchanged."""
    if not email_ids:
        return
    table = OutboxEmail.__table__
    with db.transaction() as session:
        session.execute(sa.update(table).where(table.c.id.in_(email_ids), table.c.status == 'sending')
                        .values(status='pending', claimed_by=None, claimed_at=None))


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 30 s doubling per attempt, at most 6 hours."""
    return timedelta(seconds=min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS))


def process_outbox(*, limit: int = 20) -> dict[str, int]:
    """One scheduler tick: send what is due. With no SMTP server configured, emails stay in the outbox."""
    cfg = mailer.smtp_config(get_settings())
    if cfg is None:
        return {}
    counts: dict[str, int] = {}
    while True:
        ids = claim_due(limit=limit)
        if not ids:
            return counts
        with mailer.connection(cfg) as backend:  # one SMTP connection per batch
            for position, email_id in enumerate(ids):
                outcome = deliver(email_id, cfg, backend)
                counts[outcome] = counts.get(outcome, 0) + 1
                if outcome == 'pending':  # the server is failing: release the rest, back off
                    release(ids[position + 1:])
                    return counts


def retry_now(session: Session, *, email_id: int) -> OutboxEmail | None:
    """Put a failed, pending or cancelled email at the front of the queue again."""
    return _set_status(session, email_id, ('failed', 'pending', 'cancelled'), status='pending',
                       next_attempt_at=clock.now())


def cancel(session: Session, *, email_id: int) -> OutboxEmail | None:
    """Stop an email that has not been sent."""
    return _set_status(session, email_id, ('pending', 'failed'), status='cancelled')


def _set_status(session: Session, email_id: int, allowed: tuple[str, ...], **values: Any) -> OutboxEmail | None:
    # conditional UPDATE: an email a worker claimed meanwhile ('sending') is left alone
    table = OutboxEmail.__table__
    session.execute(sa.update(table).where(table.c.id == email_id, table.c.status.in_(allowed)).values(**values))
    email = session.get(OutboxEmail, email_id)
    if email is not None:
        session.refresh(email)
    return email


def get_email(session: Session, *, email_id: int) -> OutboxEmail | None:
    """One email of the outbox."""
    return session.get(OutboxEmail, email_id)


def list_emails(session: Session, *, offset: int = 0, limit: int = 25, contact_id: int | None = None,
                status: str | None = None, kind: str | None = None) -> tuple[list[OutboxEmail], int]:
    """Emails newest first (one page) and the total count."""
    query = select(OutboxEmail)
    count = select(sa.func.count()).select_from(OutboxEmail)
    if kind:
        query, count = query.where(OutboxEmail.kind == kind), count.where(OutboxEmail.kind == kind)
    if contact_id is not None:
        query, count = query.where(OutboxEmail.contact_id == contact_id), count.where(OutboxEmail.contact_id == contact_id)
    if status:
        query, count = query.where(OutboxEmail.status == status), count.where(OutboxEmail.status == status)
    rows = session.exec(query.order_by(OutboxEmail.id.desc()).offset(offset).limit(limit)).all()
    return list(rows), session.exec(count).one()
