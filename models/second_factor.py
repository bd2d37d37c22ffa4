"""Second factors of a portal account: an authenticator app (TOTP), recovery codes and trusted browsers.

Passkeys live in models/passkeys.py; `services.second_factor.enrolled_factors` is the one place that says which
factors a person has.
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .base import utc_field, utc_now_field


class TotpFactor(SQLModel, table=True):
    """An authenticator-app secret (sealed with services.secretbox). A new one counts once confirmed with a code;
    an account has at most one confirmed and one waiting for confirmation."""

    __tablename__ = 'totp_factor'

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key='account.id', index=True)
    secret_sealed: str = Field(max_length=500)
    confirmed: bool = Field(default=False)
    last_used_step: int | None = Field(default=None)  # the 30-second step of the last accepted code: never again
    created_at: datetime = utc_now_field()
    confirmed_at: datetime | None = utc_field()


class RecoveryCode(SQLModel, table=True):
    """One single-use recovery code (ten per account), stored as a keyed hash."""

    __tablename__ = 'recovery_code'

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key='account.id', index=True)
    code_hash: str = Field(max_length=64, index=True)
    created_at: datetime = utc_now_field()
    used_at: datetime | None = utc_field()


class TrustedBrowser(SQLModel, table=True):
    """A browser that may skip the second step for 30 days: only the hash of its cookie's token is stored."""

    __tablename__ = 'trusted_browser'

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key='account.id', index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = utc_now_field()
    expires_at: datetime = utc_now_field()
