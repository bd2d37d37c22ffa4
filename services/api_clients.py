"""API clients: the EHR integrations that call /api/v1 with a bearer secret (admins manage them).

A secret is 32 random bytes shown once; the database keeps only an HMAC-SHA256 of it under a server key kept in
the data directory (a fast keyed hash is right for a high-entropy secret: no password stretching needed, and a
stolen database alone cannot check guesses). A client acts as an `Actor` with role 'api': staff rights, narrowed
by its scopes, which the API checks per endpoint.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from models import ApiClient, Throttle
from models.shapes import API_ROLE, Actor

from . import audit, clock, throttle, validate
from .config import persistent_secret
from .errors import Forbidden, InvalidInput, NotAvailable, PortalError

SCOPES = ('charts:write', 'documents:write', 'contacts:write', 'shares:write', 'shares:read', 'replies:read',
          'replies:write', 'registrations:read', 'registrations:write')
SECRET_PREFIX = 'smp_'
MAX_ADDRESSES = 20
LAST_USED_EVERY = timedelta(seconds=30)  # last-used time is written at most this often per client


@dataclass(frozen=True)
class IssuedSecret:
    """A client's new secret: shown to the admin once, never stored."""

    client_id: int
    secret: str


@dataclass(frozen=True)
class ApiClientRow:
    """An API client as the admin page lists it (never the secret)."""

    id: int
    name: str
    scopes: tuple[str, ...]
    allowed_addresses: str
    secret_hint: str
    rate_per_minute: int
    expires_at: datetime | None
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    last_used_from: str

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return 'revoked'
        if self.expires_at is not None and self.expires_at <= clock.now():
            return 'expired'
        return 'active'


def secret_hash(secret: str) -> str:
    """The stored form of a secret: HMAC-SHA256 under the server's API key."""
    key = persistent_secret('api_secret_key').encode()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden()


def check_scopes(scopes: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    """The chosen scopes in a fixed order; raise InvalidInput for an unknown one or none."""
    chosen = scopes.split() if isinstance(scopes, str) else list(scopes or [])
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise InvalidInput(f'Unknown scope: {unknown[0][:40]}.')
    if not chosen:
        raise InvalidInput('Choose at least one scope.')
    return tuple(s for s in SCOPES if s in chosen)


def check_addresses(text: str | None) -> str:
    """Allowed client addresses (IPs or networks like 10.0.0.0/8, separated by spaces or commas), normalized."""
    text = validate.text(text, label='Allowed addresses', max_length=1000, required=False)
    parts = [p for p in text.replace(',', ' ').split() if p]
    if len(parts) > MAX_ADDRESSES:
        raise InvalidInput(f'List at most {MAX_ADDRESSES} addresses or networks.')
    networks = []
    for part in parts:
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise InvalidInput(f'"{part[:60]}" is not an IP address or network (like 10.0.0.0/8).') from None
    return ' '.join(networks)


def _expiry(value: str | date | None) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise InvalidInput('Write the expiry date as YYYY-MM-DD.') from None
    if value < clock.now().date():
        raise InvalidInput('The expiry date has passed: choose today or a later day.')
    if value > clock.now().date() + timedelta(days=3650):
        raise InvalidInput('Choose an expiry date within ten years, or none.')
    return datetime.combine(value + timedelta(days=1), time(0), tzinfo=UTC)


def create_client(session: Session, *, actor: Actor, name: str, scopes: list[str] | str,
                  allowed_addresses: str = '', expires_on: str | date | None = None,
                  rate_per_minute: int = 120) -> IssuedSecret:
    """Create an API client; return its id and its secret (shown once). Admins only."""
    _require_admin(actor)
    name = validate.text(name, label='Name', max_length=100)
    chosen = check_scopes(scopes)
    addresses = check_addresses(allowed_addresses)
    expires_at = _expiry(expires_on)
    try:
        rate = int(rate_per_minute)
    except (TypeError, ValueError):
        raise InvalidInput('The rate limit must be a number of requests per minute.') from None
    if not 1 <= rate <= 10_000:
        raise InvalidInput('The rate limit must be between 1 and 10000 requests per minute.')
    secret = _new_secret()
    client = ApiClient(name=name, scopes=' '.join(chosen), allowed_addresses=addresses,
                       secret_hash=secret_hash(secret), secret_hint=secret[:8], rate_per_minute=rate,
                       expires_at=expires_at, created_at=clock.now(), created_by_account_id=actor.account_id)
    session.add(client)
    session.flush()
    audit.record(session, action='api_client_created', actor=actor, object_type='api_client', object_id=client.id,
                 detail={'scopes': list(chosen), 'addresses': addresses,
                         'expires_at': expires_at.isoformat() if expires_at else None})
    return IssuedSecret(client.id, secret)


def _client(session: Session, client_id: int) -> ApiClient:
    client = session.get(ApiClient, client_id)
    if client is None:
        raise NotAvailable('This API client does not exist.')
    return client


def rotate_secret(session: Session, *, actor: Actor, client_id: int) -> IssuedSecret:
    """Give a client a new secret (the old one stops working at once); return it (shown once)."""
    _require_admin(actor)
    client = _client(session, client_id)
    if client.revoked_at is not None:
        raise InvalidInput('This client was revoked: create a new one instead.')
    secret = _new_secret()
    client.secret_hash, client.secret_hint, client.rotated_at = secret_hash(secret), secret[:8], clock.now()
    session.add(client)
    audit.record(session, action='api_client_rotated', actor=actor, object_type='api_client', object_id=client.id)
    return IssuedSecret(client.id, secret)


def revoke_client(session: Session, *, actor: Actor, client_id: int) -> None:
    """Revoke a client: its secret stops working at once, for good."""
    _require_admin(actor)
    client = _client(session, client_id)
    if client.revoked_at is not None:
        raise InvalidInput('This client was already revoked.')
    client.revoked_at = clock.now()
    session.add(client)
    audit.record(session, action='api_client_revoked', actor=actor, object_type='api_client', object_id=client.id)


def list_clients(session: Session, *, actor: Actor) -> list[ApiClientRow]:
    """Every API client, newest first (never a secret)."""
    _require_admin(actor)
    rows = session.exec(select(ApiClient).order_by(ApiClient.id.desc())).all()
    return [ApiClientRow(id=c.id, name=c.name, scopes=tuple(c.scopes.split()), allowed_addresses=c.allowed_addresses,
                         secret_hint=c.secret_hint, rate_per_minute=c.rate_per_minute, expires_at=c.expires_at,
                         created_at=c.created_at, rotated_at=c.rotated_at, revoked_at=c.revoked_at,
                         last_used_at=c.last_used_at, last_used_from=c.last_used_from or '') for c in rows]


@dataclass(frozen=True)
class Caller:
    """An authenticated API client: the actor services receive and its rate limit."""

    actor: Actor
    rate_per_minute: int


class NotAuthenticated(PortalError):
    """The bearer secret is missing, unknown, revoked or expired (deliberately one answer)."""


class AddressRefused(PortalError):
    """The client called from an address it is not allowed to use (the API audits the refused call)."""

    def __init__(self, caller: Caller) -> None:
        super().__init__('address refused')
        self.caller = caller


def authenticate(session: Session, *, secret: str, ip_address: str | None) -> Caller:
    """The client behind a bearer secret, as an actor; raise NotAuthenticated or AddressRefused.

    Records the last-used time and address (at most every 30 seconds per client).
    """
    if not secret or not secret.startswith(SECRET_PREFIX) or len(secret) > 100 or not secret.isascii():
        raise NotAuthenticated()
    ip_address = _address(ip_address)
    client = session.exec(select(ApiClient).where(ApiClient.secret_hash == secret_hash(secret))).first()
    now = clock.now()
    if client is None or client.revoked_at is not None or (client.expires_at is not None and client.expires_at <= now):
        raise NotAuthenticated()
    if client.allowed_addresses and not address_allowed(client.allowed_addresses, ip_address):
        raise AddressRefused(Caller(client_actor(client, ip_address), client.rate_per_minute))
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_EVERY \
            or client.last_used_from != ip_address:
        client.last_used_at, client.last_used_from = now, (ip_address or '')[:64] or None
        session.add(client)
    return Caller(client_actor(client, ip_address), client.rate_per_minute)


def _address(ip_address: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(ip_address or ''))
    except ValueError:
        return None


def address_allowed(allowed: str, ip_address: str | None) -> bool:
    """True when the address lies in one of the allowed networks."""
    try:
        address = ipaddress.ip_address(ip_address or '')
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in allowed.split())


def client_actor(client: ApiClient, ip_address: str | None, display_name: str = '') -> Actor:
    """The actor an API client acts as (audited as 'api:<name>')."""
    return Actor(role=API_ROLE, username=f'api:{client.name}'[:254], display_name=display_name or client.name,
                 ip_address=ip_address, api_client_id=client.id, scopes=frozenset(client.scopes.split()))


def record_call(session: Session, *, actor: Actor | None, method: str, route: str, status: int,
                ip_address: str | None) -> None:
    """Audit one API call with the client as the actor (the route's template, never its query or body)."""
    audit.record(session, action='api_call' if actor is not None else 'api_call_refused', actor=actor,
                 object_type='api_client', object_id=actor.api_client_id if actor is not None else None,
                 detail={'method': method[:10], 'route': route[:200], 'status': int(status)}, ip_address=ip_address)


# ----------------------------------------------------------------------------- rate limit

RATE_SCOPE = 'api_rate'  # throttle rows: `failures` counts the calls of the window that began at `window_start`
RATE_WINDOW = timedelta(minutes=1)
RATE_ROWS_KEPT = timedelta(hours=1)


def count_call(session: Session, *, key: str, per_minute: int) -> float | None:
    """Count one call for `key` ('client:<id>' or 'ip:<address>') in its one-minute window; None when it is
    allowed, else the seconds until the window ends.

    The count is a throttle row updated in one statement, so every portal process shares it.
    """
    now = clock.now()
    key = throttle.storable_key(key)
    table = Throttle.__table__
    fresh = table.c.window_start <= now - RATE_WINDOW
    count = (sa.update(table).where(table.c.scope == RATE_SCOPE, table.c.key == key)
             .values(failures=sa.case((fresh, 1), else_=table.c.failures + 1),
                     window_start=sa.case((fresh, now), else_=table.c.window_start))
             .returning(table.c.failures, table.c.window_start))
    row = session.execute(count).first()
    if row is None:  # a key's first call (or its first in an hour): its row, and old rows go
        session.execute(sa.delete(table).where(table.c.scope == RATE_SCOPE,
                                               table.c.window_start < now - RATE_ROWS_KEPT))
        insert = postgresql.insert if session.get_bind().dialect.name == 'postgresql' else sqlite.insert
        session.execute(insert(table).values(scope=RATE_SCOPE, key=key, failures=0, window_start=now)
                        .on_conflict_do_nothing(index_elements=['scope', 'key']))
        row = session.execute(count).first()
    calls, started = row
    if calls <= per_minute:
        return None
    return max((started + RATE_WINDOW - now).total_seconds(), 0.0)


def forget_call_counts(session: Session) -> None:
    """Start every rate window afresh (tests; an operator after raising a client's rate)."""
    session.execute(sa.delete(Throttle.__table__).where(Throttle.__table__.c.scope == RATE_SCOPE))
