"""Process configuration from the environment (operators' knobs; the admin settings page stores the rest)."""
from __future__ import annotations

import ipaddress
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# argon2id memory: OWASP's smallest recommended setting is 19 MiB; above 1 GiB a single sign-in would starve the host
ARGON2_MEMORY_MAX_KIB = 1024 * 1024
LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')
DATABASE_SCHEMES = ('sqlite', 'postgresql', 'postgresql+psycopg')


class ConfigError(Exception):
    """A setting the portal cannot start with; the message is one line naming the setting and what is allowed."""


class Config(BaseSettings):
    """Typed settings read from `DATABASE_URL` and `SMP_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix='SMP_', extra='ignore')

    data_dir: Path = Path('./data')
    database_url: str | None = Field(default=None, validation_alias='DATABASE_URL')
    host: str = Field(default='127.0.0.1', min_length=1, max_length=253)
    port: int = Field(default=8080, ge=1, le=65535)
    base_url: str | None = Field(default=None, max_length=300)
    smtp_host: str | None = Field(default=None, max_length=253)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_user: str | None = Field(default=None, max_length=254)
    smtp_password: str | None = Field(default=None, max_length=500)
    smtp_tls: Literal['none', 'starttls', 'tls'] | None = None
    mail_from: str | None = Field(default=None, max_length=254)
    log_level: str = 'INFO'
    # plain text lines, or one JSON object per line for a log collector
    log_format: Literal['plain', 'json'] = 'plain'
    # the pages' language (the lang attribute of every page, read by screen readers): a BCP 47 tag
    language: str = Field(default='en', pattern=r'^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$')
    # argon2id cost; production defaults follow OWASP's minimum, tests lower them
    argon2_memory_kib: int = Field(default=19456, ge=8, le=ARGON2_MEMORY_MAX_KIB)
    argon2_time_cost: int = Field(default=2, ge=1, le=20)
    # how long start-up waits for an unreachable PostgreSQL (retrying with backoff) before giving up
    db_wait_seconds: float = Field(default=30.0, ge=0, le=3600)
    # addresses (or networks) that may read /metrics
    metrics_allow: str = Field(default='127.0.0.1,::1', max_length=2000)
    # start the scheduler's periodic jobs (off in page tests, which drive jobs directly)
    scheduler: bool = True
    # how long a process may use settings it read (other processes' saves reach it within this time)
    settings_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    cookie_https_only: bool = False
    # append-only file the audit chain's head is anchored to (keep it on another volume); default in the data dir
    audit_anchor_file: Path | None = None
    # the EHR API's OpenAPI document (/api/v1/openapi.json) and interactive docs (/api/v1/docs)
    api_docs: bool = True
    # how long an outbox claim holds without renewal before another worker takes it over (after a crash)
    outbox_lease_seconds: int = Field(default=60, ge=10, le=3600)
    # webhooks post to public https addresses only; these hosts (names, addresses or networks) may be internal
    webhook_allow_hosts: str = Field(default='', max_length=2000)
    # webhooks may use plain http (off: https only)
    webhook_allow_http: bool = False

    @field_validator('log_level')
    @classmethod
    def _upper(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in LOG_LEVELS:
            raise ValueError('not a log level')
        return value

    @field_validator('database_url')
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError('not a database URL') from None
        if url.drivername not in DATABASE_SCHEMES:
            raise ValueError('unsupported database')
        if url.drivername.startswith('postgresql') and not url.database:
            raise ValueError('no database name')
        return value

    @field_validator('base_url')
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not re.fullmatch(r'https?://[^\s/?#@]+(/[^\s?#]*)?', value):
            raise ValueError('not an http(s) address')
        return value.rstrip('/')

    @field_validator('mail_from')
    @classmethod
    def _mail_from(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r'[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+', value):
            raise ValueError('not an email address')
        return value or None

    @field_validator('host', 'smtp_host')
    @classmethod
    def _hostname(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r'[A-Za-z0-9.:_-]+', value):
            raise ValueError('not a host name or address')
        return value

    @field_validator('metrics_allow')
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(','):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError names the bad part
        return value

    @field_validator('webhook_allow_hosts')
    @classmethod
    def _allowed_hosts(cls, value: str) -> str:
        for part in value.split(','):
            part = part.strip()
            if part and not re.fullmatch(r'[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?', part):
                ipaddress.ip_network(part, strict=False)  # ValueError: neither a host name nor an address
        return value

    @property
    def webhook_allowed(self) -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
        """SMP_WEBHOOK_ALLOW_HOSTS: the host names, and the address networks, a webhook may reach though internal."""
        names, networks = set(), []
        for part in (p.strip() for p in self.webhook_allow_hosts.split(',')):
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                if part:
                    names.add(part.lower().rstrip('.'))
        return names, networks

    @property
    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The networks SMP_METRICS_ALLOW lets read /metrics."""
        return [ipaddress.ip_network(part.strip(), strict=False) for part in self.metrics_allow.split(',')
                if part.strip()]

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f'sqlite:///{(self.data_dir / "portal.db").resolve()}'

    @property
    def files_dir(self) -> Path:
        return self.data_dir / 'files'

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / 'nicegui-storage'

    def secret_file(self, name: str) -> Path:
        return self.data_dir / 'secrets' / name

    @property
    def resolved_audit_anchor_file(self) -> Path:
        """Where audit anchors are appended: SMP_AUDIT_ANCHOR_FILE, else audit-anchors.log in the data directory."""
        return self.audit_anchor_file or self.data_dir / 'audit-anchors.log'


# what each setting allows, for the one-line error an operator sees
ALLOWED = {
    'data_dir': 'a writable directory',
    'database_url': 'sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE',
    'host': 'a host name or IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0',
    'port': 'a whole number from 1 to 65535',
    'base_url': 'an http:// or https:// address, e.g. https://portal.clinic.org',
    'smtp_host': 'a host name or IP address',
    'smtp_port': 'a whole number from 1 to 65535',
    'smtp_user': 'at most 254 characters',
    'smtp_password': 'at most 500 characters',
    'smtp_tls': 'none, starttls or tls',
    'mail_from': 'an email address, e.g. no-reply@clinic.org',
    'log_level': ', '.join(LOG_LEVELS),
    'log_format': 'plain or json',
    'argon2_memory_kib': f'a whole number of KiB from 8 to {ARGON2_MEMORY_MAX_KIB} (1 GiB); 19456 is the default',
    'argon2_time_cost': 'a whole number from 1 to 20',
    'db_wait_seconds': 'a number of seconds from 0 to 3600',
    'metrics_allow': 'comma-separated IP addresses or networks, e.g. 127.0.0.1,::1,10.0.0.0/8',
    'scheduler': 'true or false',
    'settings_cache_seconds': 'a number of seconds from 0 to 300',
    'cookie_https_only': 'true or false',
    'audit_anchor_file': 'a file path',
    'outbox_lease_seconds': 'a whole number of seconds from 10 to 3600; 60 is the default',
    'webhook_allow_hosts': 'comma-separated host names, IP addresses or networks, e.g. ehr.clinic.local,10.1.2.3',
    'webhook_allow_http': 'true or false',
}
SECRET_FIELDS = {'smtp_password', 'smtp_user'}


def env_name(field: str) -> str:
    """The environment variable that sets `field`."""
    return 'DATABASE_URL' if field == 'database_url' else f'SMP_{field.upper()}'


def shown_value(field: str, value: object) -> str:
    """A setting's value as an error line may show it: never a password (also not one inside DATABASE_URL)."""
    if field in SECRET_FIELDS:
        return '(hidden)'
    text = str(value)
    if field == 'database_url':
        text = re.sub(r'(//[^:/@]*):[^@/]*@', r'\1:***@', text)
    return repr(text[:120])


def explain(error: ValidationError) -> str:
    """One line for a failed configuration: every bad setting, its value and what is allowed."""
    parts = []
    for item in error.errors():
        loc = str(item['loc'][0]) if item['loc'] else ''
        field = 'database_url' if loc == 'DATABASE_URL' else loc
        allowed = ALLOWED.get(field, item['msg'])
        parts.append(f'{env_name(field)}={shown_value(field, item.get("input"))} is not allowed: use {allowed}')
    return 'configuration error: ' + '; '.join(parts)


@lru_cache(maxsize=1)
def get_config() -> Config:
    """The process configuration, read once (tests call `reload_config`); ConfigError for a bad setting."""
    try:
        config = Config()
    except ValidationError as error:
        raise ConfigError(explain(error)) from None
    check_data_dir(config.data_dir)
    return config


def check_data_dir(path: Path) -> None:
    """The data directory exists (created when missing) and this process can write to it, else ConfigError."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f'.write-test.{os.getpid()}'
        probe.write_text('')
        probe.unlink()
    except OSError as error:
        raise ConfigError(f'configuration error: SMP_DATA_DIR={str(path)!r} is not usable ({error.strerror or error}): '
                          f'use {ALLOWED["data_dir"]}') from None


def reload_config() -> Config:
    """Forget the cached configuration and read the environment again."""
    get_config.cache_clear()
    return get_config()


def persistent_secret(name: str, nbytes: int = 32) -> str:
    """A secret generated on first use and kept in the data directory (never per start, never literal).

    Several processes starting at once agree on one value: the file is published with a hard link, which
    fails when another process published first (then its value is used).
    """
    path = get_config().secret_file(name)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    value = secrets.token_urlsafe(nbytes)
    tmp = path.with_name(f'.{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp')
    tmp.write_text(value)
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value
