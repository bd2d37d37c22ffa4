"""Activation codes: generated with >= 64 bits of entropy, shown grouped, stored hashed, single use."""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session, select

from models import AccountContact, ActionReceipt, ActivationCode, Contact
from models.shapes import Actor

from . import audit, clock, db, idempotency, outbox, throttle
from .errors import InvalidInput, PortalError, RateLimited
from .settings import get_settings

T = TypeVar('T')

# 27 symbols without look-alikes (0/O, 1/I/L, 5/S, 2/Z dropped); 16 of them carry 16 * log2(27) = 76 bits
ALPHABET = '346789ABCDEFGHJKMNPQRTUVWXY'
CODE_LENGTH = 16
GROUP = 4


@dataclass(frozen=True)
class IssuedCode:
    """A new code: the plain text exists only here and in the invitation email."""

    code: str
    activation_code_id: int
    expires_at: datetime
    email_id: int | None = None  # the invitation queued with it


def generate_code() -> str:
    """A new random code, grouped for reading (e.g. K7QF-M2XD-9RTW-4HPA)."""
    raw = ''.join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return format_code(raw)


def format_code(raw: str) -> str:
    """Group a normalized code in blocks of four."""
    return '-'.join(raw[i:i + GROUP] for i in range(0, len(raw), GROUP))


def normalize_code(text: str) -> str:
    """Accept lower case, spaces and dashes: keep the code's symbols only, upper-cased."""
    return ''.join(ch for ch in (text or '').upper() if ch.isalnum())


def code_hash(text: str) -> str:
    """The stored form of a code (SHA-256 of the normalized code; the code itself is 76 random bits)."""
    return hashlib.sha256(normalize_code(text).encode()).hexdigest()


def issue_code(session: Session, *, contact: Contact, actor: Actor | None, share_id: int | None = None,
               send_email: bool = True) -> IssuedCode:
    """Create a code for a contact and, by default, queue the invitation email in the same transaction."""
    settings = get_settings(session)
    code = generate_code()
    expires = clock.now() + timedelta(days=settings.activation_code_days)
    row = ActivationCode(contact_id=contact.id, code_hash=code_hash(code), share_id=share_id,
                         created_by_account_id=actor.account_id if actor else None, created_at=clock.now(),
                         expires_at=expires)
    session.add(row)
    session.flush()
    email_id = None
    if send_email:
        compact = normalize_code(code)
        email_id = outbox.enqueue(session, kind='invitation', to=contact.email, contact_id=contact.id, context={
            'activation_code': code,
            'activate_url': f'{settings.public_url}/activate?code={compact}',
            'link_existing_url': f'{settings.public_url}/activate?code={compact}&existing=1',
            'expires_on': expires.strftime('%d %b %Y'),
        }).id
    audit.record(session, action='activation_code_issued', actor=actor, object_type='activation_code',
                 object_id=row.id, contact_id=contact.id)
    return IssuedCode(code=code, activation_code_id=row.id, expires_at=expires, email_id=email_id)


# ----------------------------------------------------------------------------- redeeming

UNKNOWN_CODE = ('This activation code is not valid. Check that you copied the whole code from your email, '
                'or call the help desk for a new one.')
USED_CODE = 'This activation code has already been used. Sign in, or call the help desk for a new code.'
EXPIRED_CODE = 'This activation code has expired. Call the help desk to get a new one.'
REPLACED_CODE = ('A newer activation code was sent to you, so this one no longer works: use the code in the newest '
                 'invitation email. Cannot find it? Call the clinic\'s help desk for a new code.')
# Failed redemptions are counted three ways (scope, failures allowed, first pause in seconds, window seconds):
# - per client address *and* code prefix: one person mistyping their own code pauses only that code's first
#   group from that address, with backoff, not every contact behind the same office address;
# - per client address over all codes: a guesser (whose prefixes vary) is still paused;
# - over all addresses: a distributed guess.
_PREFIX_LIMIT = ('activation_prefix', 5, 60, 24 * 3600)
_ADDRESS_LIMIT = ('activation_ip', 30, 15 * 60, 3600)
_GLOBAL_LIMIT = ('activation_all', 300, 15 * 60, 3600)
PREFIX_LENGTH = GROUP


@dataclass(frozen=True)
class ValidCode:
    """A code that may be redeemed: which row and which contact (nothing else leaves the service)."""

    activation_code_id: int
    contact_id: int


def too_many_attempts(until: datetime) -> RateLimited:
    """The message shown while redemption is paused."""
    return RateLimited(f'Too many attempts, try again in {throttle.wait_text(until)}.')


def check_code(*, code: str, ip_address: str | None) -> ValidCode:
    """Check a typed or linked code in its own transaction; failures are counted, audited and committed.

    Raises RateLimited while paused, InvalidInput for an unknown, used or expired code.
    """
    return use_code(code=code, ip_address=ip_address,
                    then=lambda _session, row: ValidCode(activation_code_id=row.id, contact_id=row.contact_id))


def use_code(*, code: str, ip_address: str | None, then: Callable[[Session, ActivationCode], T],
             actor: Actor | None = None, idempotency_key: str | None = None,
             action: str = 'activation_code') -> T | idempotency.Replayed:
    """Find the usable code and call `then(session, row)` in the same transaction.

    A failure (bad code, paused) is recorded and committed before the error is raised; an error raised by
    `then` rolls everything back. With an `idempotency_key` a redemption already made under that key is not
    made again (REPLAYED is returned); a refused code leaves the key unused, so the corrected code can follow.
    """
    with db.transaction() as session:
        if idempotency_key and not idempotency.claim(session, key=idempotency_key, action=action, actor=actor):
            return idempotency.REPLAYED
        row, error = find_usable(session, code=code, ip_address=ip_address, actor=actor)
        if error is None:
            return then(session, row)
        if idempotency_key:  # the failure is committed, the key is not
            session.execute(sa.delete(ActionReceipt).where(ActionReceipt.key == idempotency_key))
    raise error


def find_usable(session: Session, *, code: str, ip_address: str | None,
                actor: Actor | None = None) -> tuple[ActivationCode | None, PortalError | None]:
    """The usable code row, or the error to show (with the failure counted in `session`)."""
    address = throttle.address_key(ip_address)
    normalized = normalize_code(code)
    keys = _throttle_keys(address, normalized)
    locked = max((t for t in (throttle.locked_until(session, scope, key) for scope, key in keys) if t), default=None)
    if locked:  # answered, not counted: a pause ends when its time ends
        _audit_failure(session, actor, ip_address, 'paused')
        return None, too_many_attempts(locked)
    row = None
    if len(normalized) == CODE_LENGTH:
        row = session.exec(select(ActivationCode).where(ActivationCode.code_hash == code_hash(normalized))
                           .with_for_update()).first()
    reason, error = _problem(row)
    if reason == 'used' and row is not None and row.used_at is None and not _has_account(session, row.contact_id):
        reason, error = 'replaced', InvalidInput(REPLACED_CODE)  # replaced by a newer code, never used by anyone
    if error is None:
        return row, None
    _audit_failure(session, actor, ip_address, reason, row)
    who = actor or Actor(ip_address=ip_address)
    for (scope, most, lock, window), (_scope, key) in zip((_PREFIX_LIMIT, _ADDRESS_LIMIT, _GLOBAL_LIMIT), keys,
                                                          strict=True):
        throttle.register_failure(session, scope, key, max_failures=most, lock_seconds=lock, window_seconds=window,
                                  actor=who)
    return None, error


def _throttle_keys(address: str, normalized: str) -> list[tuple[str, str]]:
    """(scope, key) of the three counters; the prefix is kept as a digest (it may be most of a real code's group)."""
    prefix = hashlib.sha256(normalized[:PREFIX_LENGTH].encode('utf-8', 'surrogatepass')).hexdigest()[:16]
    return [(_PREFIX_LIMIT[0], f'{address}|{prefix}'), (_ADDRESS_LIMIT[0], address), (_GLOBAL_LIMIT[0], '*')]


def mark_used(session: Session, *, row: ActivationCode, account_id: int, actor: Actor | None) -> None:
    """Consume a code (single use) and retire the contact's other unused codes; audited."""
    now = clock.now()
    result = session.execute(sa.update(ActivationCode).where(ActivationCode.id == row.id, ActivationCode.used_at.is_(None),
                                                             ActivationCode.revoked_at.is_(None))
                             .values(used_at=now, used_by_account_id=account_id))
    if result.rowcount != 1:  # another tab redeemed it a moment ago
        raise InvalidInput(USED_CODE)
    session.execute(sa.update(ActivationCode).where(ActivationCode.contact_id == row.contact_id,
                                                    ActivationCode.id != row.id, ActivationCode.used_at.is_(None),
                                                    ActivationCode.revoked_at.is_(None))
                    .values(revoked_at=now))
    session.expire(row)
    audit.record(session, action='activation_code_redeemed', actor=actor, object_type='activation_code',
                 object_id=row.id, contact_id=row.contact_id, detail={'account_id': account_id})


def _has_account(session: Session, contact_id: int) -> bool:
    return session.exec(select(AccountContact.id).where(AccountContact.contact_id == contact_id)).first() is not None


def _problem(row: ActivationCode | None) -> tuple[str, PortalError | None]:
    if row is None:
        return 'unknown', InvalidInput(UNKNOWN_CODE)
    if row.used_at is not None or row.revoked_at is not None:
        return 'used', InvalidInput(USED_CODE)
    if row.expires_at <= clock.now():
        return 'expired', InvalidInput(EXPIRED_CODE)
    return 'ok', None


def _audit_failure(session: Session, actor: Actor | None, ip_address: str | None, reason: str,
                   row: ActivationCode | None = None) -> None:
    audit.record(session, action='activation_code_failed', actor=actor, ip_address=ip_address,
                 object_type='activation_code', object_id=row.id if row else None,
                 contact_id=row.contact_id if row else None, detail={'reason': reason})
