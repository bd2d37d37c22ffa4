"""Webhooks: the portal tells the clinic's EHR that something happened, with ids and event types only (no PHI).

Events are read from the audit log (each webhook keeps the last audit sequence number it looked at) and from the
outbox (invitations that bounced), so no other service needs to know webhooks exist. Each event becomes one row
per webhook (`webhook_delivery`, unique per webhook and object: a share is 'read' once), claimed like the outbox
(UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING) and retried with backoff until the
receiver answers 2xx. Every request is signed: `X-SMP-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
with `X-SMP-Timestamp` (Unix seconds); the secret is shown to the admin once and kept encrypted to sign.

A webhook must not reach into the clinic's network (SSRF): its URL is checked when an admin saves it and again
before every delivery (DNS can change), and the request goes to the address that was checked. Only https (http with
SMP_WEBHOOK_ALLOW_HTTP), and only hosts whose every address is public, unless SMP_WEBHOOK_ALLOW_HOSTS names them.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from models import AuditEvent, OutboxEmail, Share, Webhook, WebhookDelivery
from models.shapes import Actor

from . import audit, clock, db, secretbox, validate
from .config import get_config
from .errors import Forbidden, InvalidInput, NotAvailable

log = logging.getLogger(__name__)

EVENTS = ('reply.received', 'share.read', 'share.acknowledged', 'invitation.bounced', 'registration.submitted')
# audit action (and object type) -> event type and the id names of its data
_FROM_AUDIT = {
    ('reply_created', 'reply'): 'reply.received',
    ('document_viewed', 'share'): 'share.read',
    ('document_acknowledged', 'share'): 'share.acknowledged',
    ('registration_submit', 'registration'): 'registration.submitted',
}
MAX_ATTEMPTS = 12
BASE_DELAY_SECONDS = 2
MAX_DELAY_SECONDS = 6 * 3600
STALE_CLAIM = timedelta(minutes=5)
TIMEOUT_SECONDS = 10.0
BOUNCE_WINDOW = timedelta(days=14)
BATCH = 500


@dataclass(frozen=True)
class WebhookRow:
    """A webhook as the admin page lists it, with its latest delivery."""

    id: int
    url: str
    events: tuple[str, ...]
    is_active: bool
    created_at: datetime
    pending: int
    failed: int
    last_status: str  # '' or e.g. 'delivered 2026-11-27 10:00 (HTTP 200)'


@dataclass(frozen=True)
class DeliveryRow:
    """One delivery for the admin page."""

    id: int
    webhook_id: int
    event_type: str
    event_id: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_status: str


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden()


def check_url(url: str | None) -> str:
    """An http(s) URL with a host; raise InvalidInput otherwise (where it points: `check_destination`)."""
    url = validate.text(url, label='URL', max_length=500)
    parts = urlsplit(url)
    if parts.scheme not in ('https', 'http') or not parts.hostname or parts.username or parts.password:
        raise InvalidInput('Write the full address, like https://ehr.example.org/portal-events.')
    try:
        parts.port  # noqa: B018 (a port out of range raises)
    except ValueError:
        raise InvalidInput('Write the full address, like https://ehr.example.org/portal-events.') from None
    return url


class Refused(InvalidInput):
    """A webhook URL that points somewhere webhooks may not go; `reason` is the short form for the delivery log."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Destination:
    """Where a delivery goes: `address` is the checked IP to connect to (None: an allow-listed host, as named)."""

    url: str
    host: str
    address: str | None


def resolve(host: str, port: int) -> list[str]:
    """Every IP address `host` resolves to (tests replace this with a stub)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def address_class(value: str) -> str | None:
    """Why an address is not public ('loopback', 'private', ...), or None for a public one."""
    ip = ipaddress.ip_address(value.split('%', 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for name, flag in (('unspecified', ip.is_unspecified), ('loopback', ip.is_loopback),
                       ('link-local', ip.is_link_local), ('multicast', ip.is_multicast),
                       ('reserved', ip.is_reserved), ('private', ip.is_private)):
        if flag:
            return name
    return None if ip.is_global else 'non-public'


ALLOW_HINT = ' A server operator can allow an internal EHR host with SMP_WEBHOOK_ALLOW_HOSTS.'


def check_destination(url: str) -> Destination:
    """Where a webhook URL may be posted to, or Refused with a message for the admin.

    https only (http too with SMP_WEBHOOK_ALLOW_HTTP); every address the host resolves to must be public, unless
    the host (or all its addresses) is on SMP_WEBHOOK_ALLOW_HOSTS.
    """
    url = check_url(url)
    parts = urlsplit(url)
    config = get_config()
    if parts.scheme != 'https' and not config.webhook_allow_http:
        raise Refused('Webhooks use https: write an https:// address.', 'refused: not https')
    host = (parts.hostname or '').lower().rstrip('.')
    names, networks = config.webhook_allowed
    if host in names:
        return Destination(url=url, host=host, address=None)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = resolve(host, parts.port or (443 if parts.scheme == 'https' else 80))
        except (OSError, UnicodeError):
            addresses = []
        if not addresses:
            raise Refused(f'The host {host[:100]} cannot be found: check the address.', 'refused: host not found') \
                from None
    if networks and all(any(ipaddress.ip_address(a.split('%', 1)[0]) in n for n in networks) for a in addresses):
        return Destination(url=url, host=host, address=addresses[0])
    for address in addresses:
        kind = address_class(address)
        if kind:
            raise Refused(f'The host {host[:100]} is at a {kind} address ({address}), which webhooks may not reach.'
                          + ALLOW_HINT, f'refused: {kind} address')
    return Destination(url=url, host=host, address=addresses[0])


def check_events(events: list[str] | str) -> tuple[str, ...]:
    """The chosen event types in a fixed order; raise InvalidInput for an unknown one or none."""
    chosen = events.split() if isinstance(events, str) else list(events or [])
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise InvalidInput(f'Unknown event: {unknown[0][:40]}.')
    if not chosen:
        raise InvalidInput('Choose at least one event.')
    return tuple(e for e in EVENTS if e in chosen)


def create_webhook(session: Session, *, actor: Actor, url: str, events: list[str] | str) -> tuple[int, str]:
    """Register a URL for events; return its id and its signing secret (shown once). Admins only.

    Only events from now on are delivered.
    """
    _require_admin(actor)
    url = check_destination(url).url
    chosen = check_events(events)
    secret = 'whsec_' + secrets.token_urlsafe(32)
    head = session.exec(select(sa.func.max(AuditEvent.seq))).one() or 0
    hook = Webhook(url=url, events=' '.join(chosen), sealed_secret=secretbox.encrypt(secret), audit_cursor=head,
                   created_at=clock.now(), created_by_account_id=actor.account_id)
    session.add(hook)
    session.flush()
    audit.record(session, action='webhook_created', actor=actor, object_type='webhook', object_id=hook.id,
                 detail={'events': list(chosen)})
    return hook.id, secret


def set_active(session: Session, *, actor: Actor, webhook_id: int, active: bool) -> None:
    """Pause (no new events, pending deliveries wait) or resume a webhook."""
    _require_admin(actor)
    hook = session.get(Webhook, webhook_id)
    if hook is None:
        raise NotAvailable('This webhook does not exist.')
    hook.is_active = bool(active)
    if active:  # events that happened while paused are not sent
        hook.audit_cursor = session.exec(select(sa.func.max(AuditEvent.seq))).one() or 0
    session.add(hook)
    audit.record(session, action='webhook_resumed' if active else 'webhook_paused', actor=actor,
                 object_type='webhook', object_id=hook.id)


def list_webhooks(session: Session, *, actor: Actor) -> list[WebhookRow]:
    """Every webhook with its pending and failed counts and latest delivery."""
    _require_admin(actor)
    rows = []
    for hook in session.exec(select(Webhook).order_by(Webhook.id)).all():
        counts = dict(session.exec(select(WebhookDelivery.status, sa.func.count()).where(
            WebhookDelivery.webhook_id == hook.id).group_by(WebhookDelivery.status)).all())
        last = session.exec(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
                            .order_by(WebhookDelivery.id.desc())).first()
        rows.append(WebhookRow(id=hook.id, url=hook.url, events=tuple(hook.events.split()), is_active=hook.is_active,
                               created_at=hook.created_at, pending=counts.get('pending', 0) + counts.get('sending', 0),
                               failed=counts.get('failed', 0), last_status=_describe(last)))
    return rows


def _describe(delivery: WebhookDelivery | None) -> str:
    if delivery is None:
        return ''
    when = delivery.delivered_at or delivery.claimed_at or delivery.created_at
    return f'{delivery.event_type}: {delivery.status} {when:%Y-%m-%d %H:%M}' + \
        (f' ({delivery.last_status})' if delivery.last_status else '')


def list_deliveries(session: Session, *, actor: Actor, limit: int = 50) -> list[DeliveryRow]:
    """The latest deliveries of every webhook, newest first."""
    _require_admin(actor)
    rows = session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id.desc())
                        .limit(max(1, min(int(limit), 200)))).all()
    return [DeliveryRow(id=d.id, webhook_id=d.webhook_id, event_type=d.event_type, event_id=d.event_id,
                        status=d.status, attempts=d.attempts, created_at=d.created_at,
                        next_attempt_at=d.next_attempt_at, last_status=d.last_status or '') for d in rows]


# ----------------------------------------------------------------------------- events -> deliveries

def _insert_delivery(session: Session, hook: Webhook, event_type: str, key: str, data: dict[str, Any],
                     occurred_at: datetime) -> None:
    event_id = str(uuid.uuid4())
    payload = {'id': event_id, 'type': event_type, 'occurred_at': occurred_at.isoformat(), 'data': data}
    insert = postgresql.insert if session.get_bind().dialect.name == 'postgresql' else sqlite.insert
    session.execute(insert(WebhookDelivery).values(
        webhook_id=hook.id, event_id=event_id, event_type=event_type, event_key=f'{event_type}:{key}'[:80],
        payload_json=json.dumps(payload, separators=(',', ':')), status='pending', attempts=0,
        created_at=clock.now(), next_attempt_at=clock.now(),
    ).on_conflict_do_nothing(index_elements=['webhook_id', 'event_key']))


def collect_events(session: Session) -> int:
    """Queue a delivery for every new event each active webhook wants; return how many events were looked at."""
    seen = 0
    for hook in session.exec(select(Webhook).where(Webhook.is_active).with_for_update()).all():
        wanted = set(hook.events.split())
        actions = [action for (action, _), event in _FROM_AUDIT.items() if event in wanted]
        # the head first: events commit in sequence order (the chain lock), so all up to it are visible now
        head = session.exec(select(sa.func.max(AuditEvent.seq))).one() or 0
        events = session.exec(select(AuditEvent).where(AuditEvent.seq > hook.audit_cursor, AuditEvent.seq <= head,
                                                       AuditEvent.action.in_(actions))
                              .order_by(AuditEvent.seq).limit(BATCH)).all() if actions else []
        for event in events:
            event_type = _FROM_AUDIT.get((event.action, event.object_type))
            if event_type is None or event_type not in wanted or event.object_id is None:
                continue
            data = _event_data(session, event_type, event)
            _insert_delivery(session, hook, event_type, event.object_id, data, event.at)
        hook.audit_cursor = events[-1].seq if len(events) == BATCH else head
        if 'invitation.bounced' in wanted:
            _collect_bounces(session, hook)
        session.add(hook)
        seen += len(events)
    return seen


def _event_data(session: Session, event_type: str, event: AuditEvent) -> dict[str, Any]:
    object_id = int(event.object_id)
    if event_type == 'reply.received':
        detail = json.loads(event.detail_json or '{}')
        return {'reply_id': object_id, 'share_id': detail.get('share_id')}
    if event_type == 'registration.submitted':
        return {'registration_id': object_id}
    return {'share_id': object_id}


def _collect_bounces(session: Session, hook: Webhook) -> None:
    since = max(hook.created_at, clock.now() - BOUNCE_WINDOW)
    emails = session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'invitation', OutboxEmail.status == 'failed',
                                                    OutboxEmail.created_at >= since)).all()
    done = set(session.exec(select(WebhookDelivery.event_key).where(
        WebhookDelivery.webhook_id == hook.id, WebhookDelivery.event_type == 'invitation.bounced')).all()) \
        if emails else set()
    for email in emails:
        if f'invitation.bounced:{email.id}' in done:
            continue  # (queued before: no write, so an idle tick takes no lock)
        share_ids = list(session.exec(select(Share.id).where(Share.notice_email_id == email.id)
                                      .order_by(Share.id)).all())
        _insert_delivery(session, hook, 'invitation.bounced', str(email.id),
                         {'email_id': email.id, 'contact_id': email.contact_id, 'share_ids': share_ids},
                         email.created_at)


# ----------------------------------------------------------------------------- sending

def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp` (Unix seconds)."""
    return 'v1=' + hmac.new(secret.encode(), timestamp.encode() + b'.' + body, hashlib.sha256).hexdigest()


def claim_due(*, limit: int = 20) -> list[int]:
    """Mark up to `limit` due deliveries as being sent; several processes never get the same row."""
    now = clock.now()
    table = WebhookDelivery.__table__
    hooks = Webhook.__table__
    with db.transaction() as session:
        waiting = sa.or_(sa.and_(table.c.status == 'pending', table.c.next_attempt_at <= now),
                         sa.and_(table.c.status == 'sending', table.c.claimed_at < now - STALE_CLAIM))
        if session.execute(sa.select(table.c.id).where(waiting).limit(1)).first() is None:
            return []  # (no write, so an idle tick takes no lock)
        session.execute(sa.update(table).where(table.c.status == 'sending', table.c.claimed_at < now - STALE_CLAIM)
                        .values(status='pending'))
        active = sa.select(hooks.c.id).where(hooks.c.is_active)
        due = (sa.select(table.c.id).where(table.c.status == 'pending', table.c.next_attempt_at <= now,
                                           table.c.webhook_id.in_(active))
               .order_by(table.c.id).limit(limit).with_for_update(skip_locked=True))
        result = session.execute(sa.update(table).where(table.c.id.in_(due.scalar_subquery()))
                                 .values(status='sending', claimed_at=now).returning(table.c.id))
        return sorted(row[0] for row in result)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 2 s, then four times longer per attempt (8 s, 32 s, ...), at most 6 hours."""
    return timedelta(seconds=min(BASE_DELAY_SECONDS * 4 ** max(attempts - 1, 0), MAX_DELAY_SECONDS))


def deliver(delivery_id: int, client: httpx.Client) -> str:
    """Post one claimed delivery and record the outcome: delivered, retry later, or failed."""
    with db.transaction() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != 'sending':
            return 'skipped'
        hook = session.get(Webhook, delivery.webhook_id)
        url, secret, body = hook.url, secretbox.decrypt(hook.sealed_secret), delivery.payload_json.encode()
        event_type, event_id = delivery.event_type, delivery.event_id
    timestamp = str(int(time.time()))
    headers = {'content-type': 'application/json', 'user-agent': 'SecureMessagePortal-Webhooks/1',
               'x-smp-event': event_type, 'x-smp-delivery': event_id, 'x-smp-timestamp': timestamp,
               'x-smp-signature': sign(secret, timestamp, body)}
    try:
        destination = check_destination(url)  # again now: DNS may point elsewhere than when it was saved
        target, extensions = httpx.URL(url), {}
        if destination.address is not None:  # connect to the address just checked (no second lookup to rebind)
            headers['host'] = target.netloc.decode('ascii')
            extensions = {'sni_hostname': destination.host} if target.scheme == 'https' else {}
            target = target.copy_with(host=destination.address)
        answer = client.post(target, content=body, headers=headers, extensions=extensions)
        ok, outcome = 200 <= answer.status_code < 300, f'HTTP {answer.status_code}'
    except Refused as refused:
        ok, outcome = False, refused.reason
    except httpx.HTTPError as exc:
        ok, outcome = False, type(exc).__name__
    with db.transaction() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        delivery.attempts += 1
        delivery.last_status = outcome[:200]
        if ok:
            delivery.status, delivery.delivered_at = 'delivered', clock.now()
        elif delivery.attempts < MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = 'pending', clock.now() + backoff(delivery.attempts)
        else:
            delivery.status = 'failed'
            log.warning('webhook delivery %s failed for good: %s', delivery.id, outcome)
        session.add(delivery)
        return delivery.status


def run_job() -> dict[str, int]:
    """Scheduler tick: queue new events, then send what is due (nothing at all while no webhook is registered)."""
    if db.run(lambda session: session.exec(select(Webhook.id).limit(1)).first()) is None:
        return {}
    db.run(collect_events)
    counts: dict[str, int] = {}
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        for _ in range(10):
            ids = claim_due()
            if not ids:
                break
            for delivery_id in ids:
                outcome = deliver(delivery_id, client)
                counts[outcome] = counts.get(outcome, 0) + 1
    return counts
