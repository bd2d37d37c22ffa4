"""Six-digit codes emailed to prove an address: email verification and password reset.

A code works for 10 minutes and 5 tries; only a keyed hash of it is stored; a new code replaces the old one.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from models import VerificationCode

from . import clock, db
from .config import persistent_secret
from .errors import InvalidInput

EMAIL_VERIFY = 'email_verify'
PASSWORD_RESET = 'password_reset'
MINUTES_VALID = 10
MAX_TRIES = 5
WRONG_CODE = 'This code is not correct or has expired. Check the email, or ask for a new code.'
NO_TRIES_LEFT = 'This code was entered wrongly too many times. Ask for a new code.'


def code_hash(purpose: str, email: str, code: str) -> str:
    """Keyed hash (HMAC-SHA256 with a secret kept in the data directory): six digits alone are easy to guess offline."""
    key = persistent_secret('verification_key').encode()
    message = f'{purpose}|{email.strip().lower()}|{code.strip()}'.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue(session: Session, *, purpose: str, email: str, account_id: int | None = None,
          contact_id: int | None = None) -> str:
    """A new code for (purpose, email); earlier unused codes for the same address stop working."""
    email = email.strip().lower()
    now = clock.now()
    session.execute(sa.update(VerificationCode).where(
        VerificationCode.purpose == purpose, VerificationCode.email == email, VerificationCode.used_at.is_(None),
        VerificationCode.expires_at > now).values(expires_at=now))
    code = f'{secrets.randbelow(10 ** 6):06d}'
    session.add(VerificationCode(purpose=purpose, email=email, account_id=account_id, contact_id=contact_id,
                                 code_hash=code_hash(purpose, email, code), created_at=now,
                                 expires_at=now + timedelta(minutes=MINUTES_VALID)))
    session.flush()
    return code


def confirm(*, purpose: str, email: str, code: str) -> int:
    """Check a code in its own transaction and mark it used; return its row id.

    A wrong code counts one try (committed) and raises InvalidInput; so does an expired or exhausted one.
    """
    email = (email or '').strip().lower()
    with db.transaction() as session:
        row = _current(session, purpose, email)
        error = _check(row, purpose, email, code)
        if row is not None and error == WRONG_CODE:
            row.attempts += 1
            session.add(row)
        elif error is None:
            row.used_at = clock.now()
            session.add(row)
            return row.id
    raise InvalidInput(error)


def verified_recently(session: Session, *, purpose: str, email: str, contact_id: int | None,
                      within_minutes: int = 60) -> bool:
    """Whether `email` was proven with a code for this purpose (and contact) in the last `within_minutes`."""
    since = clock.now() - timedelta(minutes=within_minutes)
    query = select(VerificationCode.id).where(
        VerificationCode.purpose == purpose, VerificationCode.email == email.strip().lower(),
        VerificationCode.used_at.is_not(None), VerificationCode.used_at >= since)
    if contact_id is not None:
        query = query.where(VerificationCode.contact_id == contact_id)
    return session.exec(query).first() is not None


def _current(session: Session, purpose: str, email: str) -> VerificationCode | None:
    return session.exec(select(VerificationCode).where(
        VerificationCode.purpose == purpose, VerificationCode.email == email, VerificationCode.used_at.is_(None),
        VerificationCode.expires_at > clock.now()).order_by(VerificationCode.id.desc()).with_for_update()).first()


def _check(row: VerificationCode | None, purpose: str, email: str, code: str) -> str | None:
    code = ''.join(ch for ch in (code or '') if ch.isdigit())
    if row is None or len(code) != 6:
        return WRONG_CODE
    if row.attempts >= MAX_TRIES:
        return NO_TRIES_LEFT
    if not hmac.compare_digest(row.code_hash, code_hash(purpose, email, code)):
        return WRONG_CODE
    return None
