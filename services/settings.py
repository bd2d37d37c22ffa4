"""Admin-editable portal settings: typed defaults, stored overrides, a short in-process cache.

Environment variables (services.config) win over stored values for the base URL and SMTP.
"""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlmodel import Session, select

from models import Setting

from . import clock
from .config import get_config
from .errors import InvalidInput

DEFAULT_DOCUMENT_TYPES = [
    'Work Status Report', 'Return to Work', 'Physician Note', 'Lab Result', 'Questionnaire',
    'Imaging Report', 'Correspondence',
]
SECRET_KEYS = {'smtp_password'}


class FooterLink(BaseModel):
    label: str = Field(min_length=1, max_length=60)
    # absolute http(s), mailto, or a path on this portal; never scheme-relative (//host), never a backslash
    url: str = Field(pattern=r'^(https?://[^\s/\\][^\s\\]*|mailto:[^\s\\]+|/([^\s/\\][^\s\\]*)?)$', max_length=500)


class PortalSettings(BaseModel):
    """Every behaviour an admin can change without restarting, with its default."""

    # General
    portal_name: str = Field('Secure Message Portal', min_length=1, max_length=80)
    base_url: str = Field('', max_length=300)
    time_zone: str = Field('UTC', max_length=64)
    help_desk_phone: str = Field('', max_length=40)
    support_email: str = Field('', max_length=254)
    # Features
    replies_enabled: bool = False
    registration_enabled: bool = False
    email_is_username: bool = True
    terms_required: bool = False
    terms_text: str = Field('', max_length=20000)
    document_types: list[str] = Field(default_factory=lambda: list(DEFAULT_DOCUMENT_TYPES), min_length=1)
    # Branding
    logo_file_id: int | None = None
    logo_alt: str = Field('Clinic logo', max_length=120)
    primary_color: str = Field('#1f5f8b', pattern=r'^#[0-9a-fA-F]{6}$')
    header_text: str = Field('', max_length=200)
    footer_enabled: bool = True
    footer_text: str = Field('', max_length=500)
    footer_links: list[FooterLink] = Field(default_factory=list, max_length=10)
    # Security
    activation_code_days: int = Field(30, ge=1, le=90)
    session_idle_minutes: int = Field(15, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(12, ge=1, le=24 * 14)
    password_min_length: int = Field(12, ge=8, le=128)
    signin_max_failures: int = Field(5, ge=1, le=100)
    upload_max_mb: int = Field(10, ge=1, le=100)
    # Two-step sign-in (services/second_factor.py)
    second_factor_staff: bool = True  # required for staff and admins
    second_factor_contacts: Literal['off', 'optional', 'required'] = 'optional'
    second_factor_grace_days: int = Field(14, ge=0, le=365)  # to enrol, from the first sign-in it is required at
    second_factor_totp: bool = True  # authenticator apps allowed
    second_factor_passkey: bool = True  # passkeys allowed
    second_factor_trust_browser: bool = False  # "trust this browser for 30 days" offered at the second step
    # Audit log: how often the chain's head is anchored outside the database (see services/audit_anchor.py)
    audit_anchor_every_events: int = Field(100, ge=1, le=100_000)
    audit_anchor_every_minutes: int = Field(15, ge=1, le=24 * 60)
    audit_anchor_email: bool = False  # also email the head to the admins once a day
    # Email
    smtp_host: str = Field('', max_length=253)
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_tls: Literal['none', 'starttls', 'tls'] = 'starttls'
    smtp_user: str = Field('', max_length=254)
    smtp_password: str = Field('', max_length=500)  # stored encrypted, see services.secretbox
    mail_from: str = Field('', max_length=254)
    # Notification timings
    review_window_minutes: int = Field(10, ge=0, le=24 * 60)
    unread_reminder_after_days: int = Field(3, ge=1, le=365)
    unread_reminder_every_days: int = Field(7, ge=1, le=365)
    unread_reminder_max: int = Field(2, ge=0, le=20)
    code_expiry_reminder_days: int = Field(3, ge=0, le=30)
    staff_digest_minutes: int = Field(60, ge=5, le=7 * 24 * 60)
    # Staff alerts: each staff account's default ('off', 'immediate' or a digest every staff_digest_minutes)
    staff_alert_reply_mine: Literal['off', 'immediate', 'digest'] = 'immediate'
    staff_alert_reply_any: Literal['off', 'immediate', 'digest'] = 'off'
    staff_alert_registration: Literal['off', 'immediate', 'digest'] = 'digest'
    staff_alert_unread: Literal['off', 'immediate', 'digest'] = 'digest'
    staff_alert_bounced: Literal['off', 'immediate', 'digest'] = 'immediate'
    # Sharing: the Send dialog's defaults and limits
    share_replies_default: bool = True
    share_acknowledgement_default: bool = False
    share_expiry_default_days: int = Field(0, ge=0, le=3650)  # 0: no expiry unless staff choose a date
    share_expiry_max_days: int = Field(0, ge=0, le=3650)  # 0: no maximum
    share_expiry_notice_days: int = Field(2, ge=0, le=60)  # 0: no notice before a share expires

    @field_validator('document_types')
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value if v.strip()]
        if len({v.lower() for v in cleaned}) != len(cleaned):
            raise ValueError('document types must be unique')
        if any(len(v) > 100 for v in cleaned):
            raise ValueError('a document type is longer than 100 characters')
        return cleaned

    @property
    def upload_max_bytes(self) -> int:
        return self.upload_max_mb * 1024 * 1024

    @property
    def public_url(self) -> str:
        """Base of emailed links: SMP_BASE_URL, else the stored base URL, else the local address."""
        config = get_config()
        url = config.base_url or self.base_url or f'http://{config.host}:{config.port}'
        return url.rstrip('/')


_cache: tuple[float, PortalSettings] | None = None
_cache_lock = threading.Lock()


def get_settings(session: Session | None = None) -> PortalSettings:
    """Current settings (cached a few seconds; saving invalidates the cache)."""
    global _cache
    with _cache_lock:
        if _cache and time.monotonic() - _cache[0] < get_config().settings_cache_seconds:
            return _cache[1]
    if session is None:
        from . import db
        with db.transaction() as own:
            value = _load(own)
    else:
        value = _load(session)
    with _cache_lock:
        _cache = (time.monotonic(), value)
    return value


def invalidate_cache() -> None:
    """Forget cached settings (after a save, or when tests switch databases)."""
    global _cache
    with _cache_lock:
        _cache = None


def _load(session: Session) -> PortalSettings:
    stored: dict[str, Any] = {}
    for row in session.exec(select(Setting)).all():
        if row.key in PortalSettings.model_fields:
            stored[row.key] = json.loads(row.value_json)
    if stored.get('smtp_password'):
        from .secretbox import decrypt
        stored['smtp_password'] = decrypt(stored['smtp_password'])
    try:
        return PortalSettings(**stored)
    except ValidationError:
        # a stored value no longer valid (e.g. rules tightened): fall back per key
        good = {}
        for key, value in stored.items():
            try:
                PortalSettings(**{key: value})
                good[key] = value
            except ValidationError:
                pass
        return PortalSettings(**good)


def describe_errors(error: ValidationError) -> str:
    """One readable sentence per invalid field."""
    parts = []
    for item in error.errors():
        field = '.'.join(str(p) for p in item['loc']) or 'value'
        label = field.replace('_', ' ')
        parts.append(f'{label}: {item["msg"]}')
    return '; '.join(parts)


def save_settings(session: Session, *, changes: dict[str, Any], account_id: int | None) -> dict[str, tuple[Any, Any]]:
    """Validate and store changed settings; return {key: (old, new)} with secrets masked.

    Raises InvalidInput (nothing stored) when any value is invalid.
    """
    unknown = set(changes) - set(PortalSettings.model_fields)
    if unknown:
        raise InvalidInput(f'Unknown setting: {", ".join(sorted(unknown))}.')
    current = _load(session)
    merged = current.model_dump() | changes
    try:
        validated = PortalSettings(**merged)
    except ValidationError as error:
        raise InvalidInput(describe_errors(error)) from None
    diff: dict[str, tuple[Any, Any]] = {}
    new_values = validated.model_dump(mode='json')
    old_values = current.model_dump(mode='json')
    for key in changes:
        old, new = old_values[key], new_values[key]
        if old == new:
            continue
        stored = new
        if key in SECRET_KEYS and new:
            from .secretbox import encrypt
            stored = encrypt(new)
        row = session.get(Setting, key)
        if row is None:
            row = Setting(key=key, value_json='null')
        row.value_json = json.dumps(stored)
        row.updated_at = clock.now()
        row.updated_by_account_id = account_id
        session.add(row)
        diff[key] = ('********', '********') if key in SECRET_KEYS else (old, new)
    session.flush()
    invalidate_cache()
    sa.event.listen(session, 'after_commit', lambda _s: invalidate_cache(), once=True)
    return diff


def get_value(session: Session, key: str, default: Any = None) -> Any:
    """A raw stored value outside PortalSettings (e.g. the questionnaire definition)."""
    row = session.get(Setting, key)
    return default if row is None else json.loads(row.value_json)


def set_value(session: Session, key: str, value: Any, account_id: int | None = None) -> None:
    """Store a raw value outside PortalSettings."""
    row = session.get(Setting, key) or Setting(key=key, value_json='null')
    row.value_json = json.dumps(value)
    row.updated_at = clock.now()
    row.updated_by_account_id = account_id
    session.add(row)
    session.flush()
