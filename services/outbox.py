"""The durable email queue: enqueue in the caller's transaction; claim, send and retry in the scheduler.

Codes never rest in plain text: the template variables that carry one (SECRET_VARIABLES) are rendered as
placeholders into the stored subject, bodies and context, and their values are kept encrypted (Fernet, the key
in the data directory's secrets folder, services.secretbox) in `sealed_secrets`. The sender fills them in just
before sending; the sealed values are wiped once the email is sent, has failed for good or is cancelled.
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from markupsafe import escape
from sqlmodel import Session, select

from models import Account, OutboxEmail, OutboxState
from models.shapes import Actor

from . import audit, clock, db, email_templates, mailer, scheduler, secretbox
from .config import get_config
from .errors import InvalidInput
from .settings import get_settings
from .settings_admin import require_admin

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 6 * 3600
# while the server refuses every email, each is retried at least this often, and none ever fails for it
PAUSED_MAX_DELAY_SECONDS = 10 * 60
# a pause that lasts this long is emailed to the admins (queued: it goes out through the next working route)
ALERT_AFTER = timedelta(minutes=5)
BOUNCES = ('mailbox', 'rejected')  # failure reasons that mean: this recipient's server refused this email
# a claim is a lease: renewed while its batch is sending, given back on a clean stop, and taken over by another
# worker once it has not been renewed for this long (a crash): at most one duplicate email per crash
# (SMP_OUTBOX_LEASE_SECONDS, checked with the other settings in services/config.py)
LEASE_DEFAULT_SECONDS = 60
WORKER_ID = f'{socket.gethostname()}:{os.getpid()}'
# template variables that carry a code (or a link with one): sealed at rest, wiped after sending
SECRET_VARIABLES = ('activation_code', 'activate_url', 'link_existing_url', 'verification_code', 'reset_code')
_ADDRESS = re.compile(r'<?[^\s<>@]+@[^\s<>@]+>?')
_PLACEHOLDER = re.compile(r'\[\[smp-secret:([a-z_]+)\]\]')
HIDDEN = '[code not shown]'
REMOVED = '[code removed]'
CODE_REMOVED = 'The code in this email was removed when it was sent, failed or was cancelled: send a new code instead.'


def placeholder(name: str) -> str:
    """What a secret variable renders as in the stored email."""
    return f'[[smp-secret:{name}]]'


def enqueue(session: Session, *, kind: str, to: str, context: dict[str, Any], contact_id: int | None = None,
            account_id: int | None = None, group_key: str | None = None,
            not_before: Any = None) -> OutboxEmail:
    """Render an email and add it to the outbox in the caller's transaction (sent after commit).

    Codes in `context` (SECRET_VARIABLES) are stored encrypted, never in the rendered text.
    """
    public, found = _seal(context)
    rendered = email_templates.render(session, kind, public)
    settings = get_settings(session)
    email = OutboxEmail(
        kind=kind, to_address=to, contact_id=contact_id, account_id=account_id, group_key=group_key,
        context_json=json.dumps(public, default=str), subject=rendered.subject, body_html=rendered.html,
        body_text=rendered.text, sealed_secrets=secretbox.encrypt(json.dumps(found)) if found else None,
        message_id=f'<{secrets.token_hex(16)}@{mailer.message_domain(settings)}>',
        next_attempt_at=not_before or clock.now(),
    )
    session.add(email)
    session.flush()
    return email


def rerender(session: Session, email: OutboxEmail, context: dict[str, Any]) -> None:
    """Replace a pending email's variables (e.g. a merged "3 new documents") and render it again."""
    public, found = _seal(context)
    if found:
        email.sealed_secrets = secretbox.encrypt(json.dumps((_unseal(email.sealed_secrets) or {}) | found))
    rendered = email_templates.render(session, email.kind, public)
    email.context_json = json.dumps(public, default=str)
    email.subject, email.body_html, email.body_text = rendered.subject, rendered.html, rendered.text
    session.add(email)
    session.flush()


def _seal(context: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The context with codes replaced by placeholders, and the codes it had."""
    found = {name: str(context[name]) for name in SECRET_VARIABLES
             if context.get(name) not in (None, '') and context[name] != placeholder(name)}
    return dict(context) | {name: placeholder(name) for name in found}, found


def _unseal(sealed: str | None) -> dict[str, str] | None:
    """The codes of an email, or None when there are none (wiped) or the key cannot read them."""
    if not sealed:
        return None
    plain = secretbox.decrypt(sealed)
    return json.loads(plain) if plain else None


def _fill(text: str, values: dict[str, str] | None, *, html: bool, missing: str) -> str:
    def one(match: re.Match) -> str:
        value = (values or {}).get(match.group(1))
        if value is None:
            return missing
        return str(escape(value)) if html else value
    return _PLACEHOLDER.sub(one, text)


def has_codes(email: OutboxEmail) -> bool:
    """True when the stored email has a place for a code (sealed or already wiped)."""
    return any(_PLACEHOLDER.search(part or '') for part in (email.subject, email.body_html, email.body_text))


def compose(email: OutboxEmail) -> tuple[str, str, str] | None:
    """(subject, html, text) as the recipient gets them, codes filled in; None when a code is gone.

    Only the sender calls this (and tests, to read a code as the recipient would).
    """
    values = _unseal(email.sealed_secrets) if has_codes(email) else {}
    if values is None:
        return None
    return (_fill(email.subject, values, html=False, missing=''), _fill(email.body_html, values, html=True, missing=''),
            _fill(email.body_text, values, html=False, missing=''))


def _wipe(email: OutboxEmail) -> None:
    email.sealed_secrets = None


def lease() -> timedelta:
    """How long a claim holds without renewal (SMP_OUTBOX_LEASE_SECONDS, 10-3600, default 60)."""
    return timedelta(seconds=get_config().outbox_lease_seconds)


def claim_due(*, limit: int = 20, worker: str = WORKER_ID) -> list[int]:
    """Lease up to `limit` due emails to `worker`, oldest first; several processes never get the same row.

    Leases not renewed within `lease()` (their worker died) go back to the queue first.
    """
    now = clock.now()
    table = OutboxEmail.__table__
    with db.transaction() as session:
        session.execute(sa.update(table).where(table.c.status == 'sending', table.c.claimed_at < now - lease())
                        .values(status='pending', claimed_by=None))
        due = (sa.select(table.c.id).where(table.c.status == 'pending', table.c.next_attempt_at <= now)
               .order_by(table.c.id).limit(limit).with_for_update(skip_locked=True))
        result = session.execute(sa.update(table).where(table.c.id.in_(due.scalar_subquery()))
                                 .values(status='sending', claimed_at=now, claimed_by=worker)
                                 .returning(table.c.id))
        return sorted(row[0] for row in result)


def renew(ids: list[int], *, worker: str = WORKER_ID) -> int:
    """Extend the leases `worker` still holds on these emails; return how many it holds."""
    if not ids:
        return 0
    table = OutboxEmail.__table__
    with db.transaction() as session:
        return session.execute(sa.update(table).where(table.c.id.in_(ids), table.c.status == 'sending',
                                                      table.c.claimed_by == worker)
                               .values(claimed_at=clock.now())).rowcount


def release(ids: list[int] | None = None, *, worker: str = WORKER_ID) -> int:
    """Give back `worker`'s unsent claims (all of them when `ids` is None): due at once for any worker."""
    table = OutboxEmail.__table__
    query = sa.update(table).where(table.c.status == 'sending', table.c.claimed_by == worker)
    if ids is not None:
        if not ids:
            return 0
        query = query.where(table.c.id.in_(ids))
    with db.transaction() as session:
        released = session.execute(query.values(status='pending', claimed_by=None, claimed_at=None)).rowcount
    if released:
        log.info('outbox: %d claimed email(s) given back to the queue', released)
    return released


def deliver(email_id: int, cfg: mailer.SmtpConfig, backend: Any = None, *, worker: str = WORKER_ID) -> str:
    """Send one email `worker` has claimed and record the outcome: 'sent', 'pending' (retry later) or 'failed'.

    A refusal of every email (relay/policy 5.7.x, authentication, server unreachable) keeps the email queued and
    pauses the outbox (see `paused`); a refusal of this recipient (5.1.x mailbox unknown, other 5xx) fails this
    email only, with its reason in `failure_reason` and the server's answer in `last_error`.
    """
    with db.transaction() as session:
        email = session.get(OutboxEmail, email_id)
        if email is None or email.status != 'sending' or email.claimed_by != worker:
            return 'skipped'
        composed = compose(email)
        payload = None if composed is None else dict(
            message_id=email.message_id, to=email.to_address, subject=composed[0], html=composed[1], text=composed[2])
    refusal: mailer.ServerRefusalError | None = None
    if payload is None:  # its code was wiped or the key changed: sending it would send no code
        status, error, reason = 'failed', CODE_REMOVED, 'code_removed'
    else:
        try:
            mailer.send(cfg, backend=backend, **payload)
            status, error, reason = 'sent', None, None
        except mailer.PermanentMailError as exc:
            status, error, reason = 'failed', str(exc), exc.reason
        except mailer.ServerRefusalError as exc:
            status, error, reason, refusal = 'server', str(exc), 'server', exc
        except mailer.TransientMailError as exc:
            status, error, reason = 'retry', str(exc), 'temporary'
    with db.transaction() as session:
        email = session.get(OutboxEmail, email_id)
        state = _state(session)
        if (refusal is not None and refusal.kind == 'policy' and email.failure_reason == 'server'
                and state.paused_since is None):
            # refused by policy again while other emails go out: the refusal is about this recipient
            status, reason = 'failed', 'rejected'
        email.attempts += 1
        email.claimed_by = None
        email.failure_reason = reason
        if status == 'sent':
            email.status, email.sent_at, email.last_error = 'sent', clock.now(), None
            _wipe(email)
            if state.paused_since is not None:
                _resume(session, state)
        elif status == 'server':
            email.status, email.last_error = 'pending', error[:1000]
            email.next_attempt_at = clock.now() + min(backoff(email.attempts),
                                                      timedelta(seconds=PAUSED_MAX_DELAY_SECONDS))
            _pause(session, state, refusal)
        elif status == 'retry' and email.attempts < MAX_ATTEMPTS:
            email.status, email.last_error = 'pending', error[:1000]
            email.next_attempt_at = clock.now() + backoff(email.attempts)
        else:
            email.status, email.last_error = 'failed', (error or '')[:1000]
            _wipe(email)
            log.warning('outbox: email %s (%s) failed: %s', email.id, email.kind, reason)
        session.add(email)
        return email.status


# ----------------------------------------------------------------------------- pausing on server-wide refusals

@dataclass(frozen=True)
class Pause:
    """Why the outbox is paused and since when (None from `pause` when it is not)."""

    reason: str
    since: datetime


def _state(session: Session) -> OutboxState:
    state = session.get(OutboxState, 1)
    if state is None:  # (the migration creates it; a database built otherwise gets it here)
        state = OutboxState(id=1)
        session.add(state)
        session.flush()
    return state


def _pause(session: Session, state: OutboxState, refusal: mailer.ServerRefusalError | None) -> None:
    reason = {'authentication': 'The mail server refuses to sign the portal in',
              'policy': 'The mail server refuses to relay the portal\'s emails',
              'unreachable': 'The mail server cannot be reached'}.get(refusal.kind if refusal else '',
                                                                      'The mail server refuses every email')
    # the server's answer may name the recipient (Postfix does): kept out of the reason, the banner and the log
    text = f'{reason}: {_ADDRESS.sub("<address>", str(refusal))}'[:300] if refusal else reason
    if state.paused_since is None:
        state.paused_since = clock.now()
        log.warning('outbox paused: %s', text)
    state.pause_reason = text
    session.add(state)


def _resume(session: Session, state: OutboxState) -> None:
    since = state.paused_since
    state.paused_since, state.pause_reason, state.alerted_at = None, None, None
    session.add(state)
    # what waited for the server goes out now, not at its backed-off time
    table = OutboxEmail.__table__
    waiting = session.execute(sa.update(table).where(table.c.status == 'pending', table.c.failure_reason == 'server')
                              .values(next_attempt_at=clock.now())).rowcount
    log.info('outbox resumed after %s; %d waiting email(s) due now', clock.now() - since if since else '?', waiting)


def paused() -> bool:
    """True while the mail server refuses every email (the outbox keeps them and retries); for /readyz."""
    return pause() is not None


def pause() -> Pause | None:
    """Why and since when the outbox is paused, or None when it is not."""
    with db.transaction() as session:
        return pause_in(session)


def pause_in(session: Session) -> Pause | None:
    """`pause` in the caller's session (admin pages read it for their banner)."""
    state = session.get(OutboxState, 1)
    if state is None or state.paused_since is None:
        return None
    return Pause(reason=state.pause_reason or 'The mail server refuses every email', since=state.paused_since)


def pause_banner(session: Session, *, actor: Actor) -> str | None:
    """One line for admin pages while the outbox is paused, else None (no addresses, no server answer); for admins."""
    require_admin(actor)
    found = pause_in(session)
    if found is None:
        return None
    reason = found.reason.split(':', 1)[0]
    return (f'Email delivery is paused since {found.since:%Y-%m-%d %H:%M} UTC: {reason}. Emails stay queued and '
            'are retried; check the mail server settings.')


def alert_if_due() -> int:
    """Queue one email to every active admin about a pause that has lasted ALERT_AFTER; return how many.

    The alert waits in the outbox like any email and goes out through the first route that works again.
    """
    now = clock.now()
    table = OutboxState.__table__
    with db.transaction() as session:
        # one process wins the alert: the conditional update marks it sent
        won = session.execute(sa.update(table).where(table.c.id == 1, table.c.paused_since.is_not(None),
                                                     table.c.paused_since <= now - ALERT_AFTER,
                                                     table.c.alerted_at.is_(None))
                              .values(alerted_at=now)).rowcount
        if not won:
            return 0
        found = pause_in(session)
        admins = session.exec(select(Account).where(Account.role == 'admin', Account.is_active,
                                                    Account.disabled_at.is_(None)).order_by(Account.id)).all()
        for admin in admins:
            enqueue(session, kind='outbox_paused', to=admin.email, account_id=admin.id, context={
                'paused_since': f'{found.since:%Y-%m-%d %H:%M} UTC', 'pause_reason': found.reason})
        log.warning('outbox paused since %s: alert queued for %d admin(s)', found.since, len(admins))
        return len(admins)


def retry_all_failed(session: Session, *, actor: Actor) -> int:
    """Queue every failed email again now (not those whose code is gone); audited; for admins. Returns the count."""
    require_admin(actor)
    table = OutboxEmail.__table__
    codes = sa.or_(*(table.c[part].like('%[[smp-secret:%') for part in ('subject', 'body_html', 'body_text')))
    retried = session.execute(sa.update(table).where(table.c.status == 'failed',
                                                     sa.or_(table.c.sealed_secrets.is_not(None), sa.not_(codes)))
                              .values(status='pending', next_attempt_at=clock.now(), failure_reason=None)).rowcount
    audit.record(session, action='outbox_retry_all', actor=actor, object_type='outbox_email', detail={'count': retried})
    return retried


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 30 s doubling per attempt, at most 6 hours."""
    return timedelta(seconds=min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS))


def process_outbox(*, limit: int = 20, worker: str = WORKER_ID) -> dict[str, int]:
    """One scheduler tick: send what is due. With no SMTP server configured, emails stay in the outbox.

    Leases are renewed while a batch sends; when the scheduler is stopping, the batch ends after the email being
    sent and gives its other claims back (counted as 'released'). Each batch logs its counts (no addresses).
    """
    cfg = mailer.smtp_config(get_settings())
    if cfg is None:
        return {}
    alert_if_due()
    counts: dict[str, int] = {}
    renew_every = lease() / 3
    while not scheduler.stopping():
        ids = claim_due(limit=limit, worker=worker)
        if not ids:
            return counts
        batch: dict[str, int] = {}
        renewed = clock.now()
        with mailer.connection(cfg) as backend:  # one SMTP connection per batch
            for n, email_id in enumerate(ids):
                if scheduler.stopping():
                    batch['released'] = release(ids[n:], worker=worker)
                    break
                if clock.now() - renewed >= renew_every:
                    renew(ids[n:], worker=worker)
                    renewed = clock.now()
                outcome = deliver(email_id, cfg, backend, worker=worker)
                batch[outcome] = batch.get(outcome, 0) + 1
        log.info('outbox batch: %d sent, %d failed, %d deferred, %d released', batch.get('sent', 0),
                 batch.get('failed', 0), batch.get('pending', 0), batch.get('released', 0))
        for key, value in batch.items():
            counts[key] = counts.get(key, 0) + value
        if counts.get('pending') or batch.get('released'):  # the server is failing, or we stop: end this tick
            return counts
    return counts


def release_own_claims() -> None:
    """On a clean stop: this process's unsent claims go back to the queue (the next process sends them at once)."""
    release(worker=WORKER_ID)


def retry_now(session: Session, *, email_id: int) -> OutboxEmail | None:
    """Put a failed, pending or cancelled email at the front of the queue again (not one whose code is gone)."""
    email = session.get(OutboxEmail, email_id)
    if email is not None and email.status in ('failed', 'cancelled') and has_codes(email) and not email.sealed_secrets:
        raise InvalidInput(CODE_REMOVED)
    return _set_status(session, email_id, ('failed', 'pending', 'cancelled'), status='pending',
                       next_attempt_at=clock.now(), failure_reason=None)


def cancel(session: Session, *, email_id: int) -> OutboxEmail | None:
    """Stop an email that has not been sent; its code (if any) is wiped."""
    return _set_status(session, email_id, ('pending', 'failed'), status='cancelled', sealed_secrets=None)


def _set_status(session: Session, email_id: int, allowed: tuple[str, ...], **values: Any) -> OutboxEmail | None:
    # conditional UPDATE: an email a worker claimed meanwhile ('sending') is left alone
    table = OutboxEmail.__table__
    session.execute(sa.update(table).where(table.c.id == email_id, table.c.status.in_(allowed)).values(**values))
    email = session.get(OutboxEmail, email_id)
    if email is not None:
        session.refresh(email)
    return email


# ----------------------------------------------------------------------------- reading the outbox

@dataclass(frozen=True)
class EmailView:
    """One email as the outbox and the contact chart show it (codes hidden unless asked for and still held)."""

    id: int
    kind: str
    to_address: str
    contact_id: int | None
    account_id: int | None
    subject: str
    body_html: str
    body_text: str
    message_id: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    failure_reason: str | None
    has_codes: bool
    codes_shown: bool


def view(email: OutboxEmail, *, reveal: bool = False) -> EmailView:
    """An email as a reader sees it: codes filled in when `reveal` and still held, else marked hidden/removed."""
    values = _unseal(email.sealed_secrets) if reveal else None
    missing = HIDDEN if email.sealed_secrets else REMOVED
    return EmailView(
        id=email.id, kind=email.kind, to_address=email.to_address, contact_id=email.contact_id,
        account_id=email.account_id, subject=_fill(email.subject, values, html=False, missing=missing),
        body_html=_fill(email.body_html, values, html=True, missing=missing),
        body_text=_fill(email.body_text, values, html=False, missing=missing), message_id=email.message_id,
        status=email.status, attempts=email.attempts, created_at=email.created_at,
        next_attempt_at=email.next_attempt_at, sent_at=email.sent_at, last_error=email.last_error,
        failure_reason=email.failure_reason, has_codes=has_codes(email), codes_shown=bool(values))


def get_email(session: Session, *, actor: Actor, email_id: int) -> EmailView | None:
    """One email of the outbox for an admin; a code it still holds (unsent) is shown and the viewing audited.

    Without a mail server the outbox is where an admin reads an invitation to pass it on.
    """
    require_admin(actor)
    email = session.get(OutboxEmail, email_id)
    if email is None:
        return None
    shown = view(email, reveal=email.status in ('pending', 'sending'))
    if shown.codes_shown:
        audit.record(session, action='outbox_codes_viewed', actor=actor, object_type='outbox_email',
                     object_id=email.id, contact_id=email.contact_id)
    return shown


def list_emails(session: Session, *, actor: Actor, offset: int = 0, limit: int = 25, contact_id: int | None = None,
                status: str | None = None, kind: str | None = None) -> tuple[list[EmailView], int]:
    """Emails newest first (one page, codes hidden) and the total count; for admins."""
    require_admin(actor)
    return emails_page(session, offset=offset, limit=limit, contact_id=contact_id, status=status, kind=kind)


def emails_page(session: Session, *, offset: int = 0, limit: int = 25, contact_id: int | None = None,
                status: str | None = None, kind: str | None = None) -> tuple[list[EmailView], int]:
    """One page of emails with codes hidden; callers check the actor (list_emails, contacts.contact_emails)."""
    query = select(OutboxEmail)
    count = select(sa.func.count()).select_from(OutboxEmail)
    if kind:
        query, count = query.where(OutboxEmail.kind == kind), count.where(OutboxEmail.kind == kind)
    if contact_id is not None:
        query, count = query.where(OutboxEmail.contact_id == contact_id), count.where(OutboxEmail.contact_id == contact_id)
    if status:
        query, count = query.where(OutboxEmail.status == status), count.where(OutboxEmail.status == status)
    rows = session.exec(query.order_by(OutboxEmail.id.desc()).offset(max(offset, 0)).limit(min(max(limit, 1), 200))).all()
    return [view(row) for row in rows], session.exec(count).one()
