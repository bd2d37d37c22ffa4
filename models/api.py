"""API clients of the clinic's EHR, and the webhooks the portal calls back with their deliveries."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import text_field, utc_field, utc_now_field


class ApiClient(SQLModel, table=True):
    """An integration (the EHR, an interface engine) allowed to call /api/v1 with a bearer secret."""

    __tablename__ = 'api_client'

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    scopes: str = Field(default='', max_length=500)  # space-separated
    allowed_addresses: str = Field(default='', max_length=1000)  # space-separated IPs / CIDR networks; '' = any
    secret_hash: str = Field(max_length=64, unique=True, index=True)  # HMAC-SHA256 under a server key
    secret_hint: str = Field(default='', max_length=12)  # the secret's first characters, to tell secrets apart
    rate_per_minute: int = Field(default=120)
    expires_at: datetime | None = utc_field()
    created_at: datetime = utc_now_field()
    created_by_account_id: int | None = Field(default=None, foreign_key='account.id')
    rotated_at: datetime | None = utc_field()
    revoked_at: datetime | None = utc_field()
    last_used_at: datetime | None = utc_field()
    last_used_from: str | None = Field(default=None, max_length=64)


class Webhook(SQLModel, table=True):
    """A URL the portal posts events to (ids and event types only), signed with the webhook's secret."""

    __tablename__ = 'webhook'

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=500)
    events: str = Field(max_length=300)  # space-separated event types
    sealed_secret: str = text_field()  # encrypted (services.secretbox): needed to sign, shown once
    is_active: bool = Field(default=True)
    audit_cursor: int = Field(default=0)  # the last audit event seq looked at
    created_at: datetime = utc_now_field()
    created_by_account_id: int | None = Field(default=None, foreign_key='account.id')


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook: queued in the database, claimed like the outbox, retried with backoff."""

    __tablename__ = 'webhook_delivery'
    __table_args__ = (sa.UniqueConstraint('webhook_id', 'event_key', name='uq_webhook_delivery_event'),
                      sa.Index('ix_webhook_delivery_due', 'status', 'next_attempt_at'))

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key='webhook.id', index=True)
    event_id: str = Field(max_length=40, unique=True)  # sent to the receiver, so it can drop repeats
    event_type: str = Field(max_length=40)
    event_key: str = Field(max_length=80)  # type and object: one delivery per webhook
    payload_json: str = text_field()  # ids and the event type only, never PHI
    status: str = Field(default='pending', max_length=16)  # pending | sending | delivered | failed
    attempts: int = Field(default=0)
    created_at: datetime = utc_now_field(index=True)
    next_attempt_at: datetime = utc_now_field()
    claimed_at: datetime | None = utc_field()
    delivered_at: datetime | None = utc_field()
    last_status: str | None = Field(default=None, max_length=200)  # 'HTTP 500', 'timeout', ...


class ApiIdempotentResult(SQLModel, table=True):
    """The answer to an API request made with an `Idempotency-Key`: a repeat gets the same answer, changes nothing.

    The key is claimed in `action_receipt` in the same transaction (services.idempotency), so the change, the
    claim and this answer commit together.
    """

    __tablename__ = 'api_idempotent_result'

    key: str = Field(primary_key=True, max_length=64)  # 'api<client id>:<the client's key>'
    api_client_id: int = Field(foreign_key='api_client.id', index=True)
    request_hash: str = Field(max_length=64)  # the same key with another body is refused
    status_code: int
    body_json: str = text_field()
    created_at: datetime = utc_now_field(index=True)
