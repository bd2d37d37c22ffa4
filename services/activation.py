"""Activation codes: generated with >= 64 bits of entropy, shown grouped, stored hashed, single use."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from models import ActivationCode, Contact
from models.shapes import Actor

from . import audit, clock, outbox
from .settings import get_settings

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
    if send_email:
        compact = normalize_code(code)
        outbox.enqueue(session, kind='invitation', to=contact.email, contact_id=contact.id, context={
            'activation_code': code,
            'activate_url': f'{settings.public_url}/activate?code={compact}',
            'link_existing_url': f'{settings.public_url}/activate?code={compact}&existing=1',
            'expires_on': expires.strftime('%d %b %Y'),
        })
    audit.record(session, action='activation_code_issued', actor=actor, object_type='activation_code',
                 object_id=row.id, contact_id=contact.id)
    return IssuedCode(code=code, activation_code_id=row.id, expires_at=expires)
