"""Encryption of stored secrets (SMTP password) with a key kept in the data directory."""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from .config import get_config


def _fernet() -> Fernet:
    path = get_config().secret_file('settings.key')
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix('.tmp')
        tmp.write_bytes(Fernet.generate_key())
        tmp.chmod(0o600)
        tmp.replace(path)
    return Fernet(path.read_bytes().strip())


def encrypt(value: str) -> str:
    """Encrypt a secret for storage."""
    return 'enc:' + _fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    """Decrypt a stored secret ('' when the key changed or the value is damaged)."""
    if not value.startswith('enc:'):
        return value
    try:
        return _fernet().decrypt(value[4:].encode()).decode()
    except InvalidToken:
        return ''
