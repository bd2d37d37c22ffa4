"""Portal accounts, their links to contacts, server-side sessions and throttles."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import utc_field, utc_now_field

ROLES = ('contact', 'staff', 'admin')


class Account(SQLModel, table=True):
    """A login of one person: a contact user, a staff member or an admin."""

    __tablename__ = 'account'
    __table_args__ = (sa.CheckConstraint("role in ('contact','staff','admin')", name='ck_account_role'),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=254, unique=True, index=True)  # stored lower-case
    email: str = Field(max_length=254, index=True)
    display_name: str = Field(default='', max_length=200)
    role: str = Field(default='contact', max_length=16, index=True)
    password_hash: str = Field(max_length=255)
    is_active: bool = Field(default=True)
    # someone registering on behalf of the invited contact ("someone else")
    delegate_name: str | None = Field(default=None, max_length=200)
    delegate_relationship: str | None = Field(default=None, max_length=200)
    # Reminder to Review: 'immediate' or 'daily'
    notify_mode: str = Field(default='immediate', max_length=16)
    terms_accepted_at: datetime | None = utc_field()
    created_at: datetime = utc_now_field()
    password_changed_at: datetime | None = utc_field()
    last_sign_in_at: datetime | None = utc_field()
    disabled_at: datetime | None = utc_field()
    # two-step sign-in: the end of the grace period to enrol a second factor (set at the first sign-in the policy
    # requires one), and an admin's "enrol at next sign-in"
    second_factor_enrol_by: datetime | None = utc_field()
    second_factor_forced: bool = Field(default=False)


class AccountContact(SQLModel, table=True):
    """One account may hold several contacts (activation codes linked to it)."""

    __tablename__ = 'account_contact'
    __table_args__ = (sa.UniqueConstraint('account_id', 'contact_id', name='uq_account_contact'),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key='account.id', index=True)
    contact_id: int = Field(foreign_key='contact.id', index=True)
    created_at: datetime = utc_now_field()


class UserSession(SQLModel, table=True):
    """A signed-in browser: only the token's hash is stored; the browser keeps the token."""

    __tablename__ = 'user_session'

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    account_id: int = Field(foreign_key='account.id', index=True)
    created_at: datetime = utc_now_field()
    last_seen_at: datetime = utc_now_field()
    ip_address: str | None = Field(default=None, max_length=64)
    # None: a full session. 'verify': the password was right, the second step is still due; 'enrol': the person
    # must set up a second factor first. A pending session is not signed in anywhere but the second-step pages.
    second_step: str | None = Field(default=None, max_length=8)


class Throttle(SQLModel, table=True):
    """Failure counter for one key in one scope (sign-in per username, activation per address, ...)."""

    __tablename__ = 'throttle'
    __table_args__ = (sa.UniqueConstraint('scope', 'key', name='uq_throttle_scope_key'),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=32)
    key: str = Field(max_length=128)
    failures: int = Field(default=0)
    window_start: datetime = utc_now_field()
    locked_until: datetime | None = utc_field()


class VerificationCode(SQLModel, table=True):
    """Short numeric code emailed to prove an address (email verification, password reset)."""

    __tablename__ = 'verification_code'

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=32, index=True)  # 'email_verify' | 'password_reset'
    email: str = Field(max_length=254, index=True)
    account_id: int | None = Field(default=None, foreign_key='account.id', index=True)
    contact_id: int | None = Field(default=None, foreign_key='contact.id')
    code_hash: str = Field(max_length=255)
    attempts: int = Field(default=0)
    created_at: datetime = utc_now_field()
    expires_at: datetime = utc_now_field()
    used_at: datetime | None = utc_field()
