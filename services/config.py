"""Process configuration from the environment (operators' knobs; the admin settings page stores the rest)."""
from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Config(BaseSettings):
    """Typed settings read from `DATABASE_URL` and `SMP_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix='SMP_', extra='ignore')

    data_dir: Path = Path('./data')
    database_url: str | None = Field(default=None, validation_alias='DATABASE_URL')
    host: str = '127.0.0.1'
    port: int = Field(default=8080, ge=1, le=65535)
    base_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal['none', 'starttls', 'tls'] | None = None
    mail_from: str | None = None
    log_level: str = 'INFO'
    # the pages' language (the lang attribute of every page, read by screen readers): a BCP 47 tag
    language: str = Field(default='en', pattern=r'^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$')
    # argon2id cost; production defaults follow OWASP's minimum, tests lower them
    argon2_memory_kib: int = Field(default=19456, ge=8)
    argon2_time_cost: int = Field(default=2, ge=1)
    # start the scheduler's periodic jobs (off in page tests, which drive jobs directly)
    scheduler: bool = True
    # how long a process may use settings it read (other processes' saves reach it within this time)
    settings_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    cookie_https_only: bool = False
    # append-only file the audit chain's head is anchored to (keep it on another volume); default in the data dir
    audit_anchor_file: Path | None = None

    @field_validator('log_level')
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

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


@lru_cache(maxsize=1)
def get_config() -> Config:
    """The process configuration, read once (tests call `reload_config`)."""
    config = Config()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    return config


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
