"""Passkeys (WebAuthn credentials) of portal accounts and the short-lived ceremonies that enrol and use them."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import utc_field, utc_now_field

# a credential id is at most 1023 bytes (WebAuthn level 3): 1364 characters in base64url
CREDENTIAL_ID_LENGTH = 1400
NAME_LENGTH = 100


class Passkey(SQLModel, table=True):
    """One passkey or security key of an account: its public key and how often the authenticator says it was used."""

    __tablename__ = 'passkey'

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key='account.id', index=True)
    credential_id: str = Field(max_length=CREDENTIAL_ID_LENGTH, unique=True, index=True)  # base64url
    public_key: bytes = Field(sa_type=sa.LargeBinary)  # COSE key, as the authenticator gave it
    sign_count: int = Field(default=0)
    user_handle: str = Field(max_length=100)  # base64url random bytes, the same for all passkeys of one account
    transports: str = Field(default='', max_length=200)  # comma-separated: usb, nfc, ble, internal, hybrid
    aaguid: str = Field(default='', max_length=36)  # the authenticator's model (all zeros when it does not say)
    name: str = Field(max_length=NAME_LENGTH)  # given by the person ("Work laptop")
    created_at: datetime = utc_now_field()
    last_used_at: datetime | None = utc_field()


class PasskeyCeremony(SQLModel, table=True):
    """A challenge the server issued for one enrolment or sign-in, kept here (never trusted from the browser).

    Bound to the browser tab that asked for it (`binding_hash`: a digest of the page's connection id) and, for an
    enrolment, to the session that asked. Used once: a verified sign-in ceremony is consumed by the page that began it.
    """

    __tablename__ = 'passkey_ceremony'
    __table_args__ = (sa.CheckConstraint("purpose in ('register','second_step','passwordless')",
                                         name='ck_passkey_ceremony_purpose'),)

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=16)
    binding_hash: str = Field(max_length=64, index=True)
    session_hash: str | None = Field(default=None, max_length=64)  # enrolment: the session that began it
    account_id: int | None = Field(default=None, foreign_key='account.id', index=True)
    name: str = Field(default='', max_length=NAME_LENGTH)  # enrolment: the new passkey's name
    user_handle: str | None = Field(default=None, max_length=100)  # enrolment: the account's WebAuthn user id
    challenge: str = Field(max_length=100)  # base64url
    created_at: datetime = utc_now_field()
    expires_at: datetime = utc_now_field(index=True)
    verified_at: datetime | None = utc_field()  # sign-in: the assertion was verified; the page may now consume it
    passkey_id: int | None = Field(default=None, foreign_key='passkey.id')
