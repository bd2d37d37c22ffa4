"""Password hashing (argon2id, off the event loop, bounded) and the rules a new password must meet."""
from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .config import get_config
from .errors import InvalidInput

MAX_PASSWORD_LENGTH = 128
ZXCVBN_MAX_LENGTH = 72
_COMMON_FILE = Path(__file__).resolve().parent.parent / 'assets' / 'common-passwords.txt'
# argon2 takes ~19 MiB and ~0.1 s per hash: at most two at once on a 2-core machine
_hash_slots = threading.BoundedSemaphore(2)


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1, hash_len=32,
                          salt_len=16, type=Type.ID)


def hasher() -> PasswordHasher:
    """The argon2id hasher with the configured cost."""
    config = get_config()
    return _hasher(config.argon2_memory_kib, config.argon2_time_cost)


@lru_cache(maxsize=4)
def _dummy_hash(memory_kib: int, time_cost: int) -> str:
    return _hasher(memory_kib, time_cost).hash('dummy password for unknown users')


def hash_password(password: str) -> str:
    """Hash a password (blocking: call from a worker thread)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f'A password can have at most {MAX_PASSWORD_LENGTH} characters.')
    with _hash_slots:
        return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Check a password; return (ok, new_hash) where new_hash is set when the cost changed.

    With no hash (unknown user) a dummy hash is verified so the answer takes the same time.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return False, None
    config = get_config()
    ph = hasher()
    target = password_hash or _dummy_hash(config.argon2_memory_kib, config.argon2_time_cost)
    with _hash_slots:
        try:
            ph.verify(target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, None
        if password_hash is None:
            return False, None
        if ph.check_needs_rehash(password_hash):
            return True, ph.hash(password)
    return True, None


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common passwords (lower-case)."""
    lines = _COMMON_FILE.read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith('#'))


def password_problem(password: str, confirm: str, *, username: str, portal_name: str, min_length: int) -> str | None:
    """The reason a new password is refused, or None when it is acceptable."""
    if password != confirm:
        return 'The two passwords do not match.'
    if len(password) < min_length:
        return f'The password must have at least {min_length} characters.'
    if len(password) > MAX_PASSWORD_LENGTH:
        return f'The password can have at most {MAX_PASSWORD_LENGTH} characters.'
    lowered = password.lower()
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        return 'This password is one of the most common passwords. Choose another.'
    for part in _username_parts(username):
        if part in lowered:
            return 'The password must not contain your username or email.'
    if portal_name and portal_name.lower() in lowered:
        return 'The password must not contain the portal name.'
    return None


def check_new_password(password: str, confirm: str, *, username: str, portal_name: str, min_length: int) -> None:
    """Raise InvalidInput with the reason when a new password is refused."""
    problem = password_problem(password, confirm, username=username, portal_name=portal_name, min_length=min_length)
    if problem:
        raise InvalidInput(problem)


def strength(password: str, user_inputs: list[str] | None = None) -> tuple[int, str]:
    """A 0-4 strength score and a short hint, for the strength meter."""
    if not password:
        return 0, ''
    from zxcvbn import zxcvbn
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=user_inputs or [])  # zxcvbn refuses longer input
    feedback = result.get('feedback') or {}
    hint = feedback.get('warning') or ' '.join(feedback.get('suggestions') or [])
    return int(result['score']), hint


def _username_parts(username: str) -> list[str]:
    username = (username or '').lower()
    parts = [username]
    if '@' in username:
        parts.append(username.split('@', 1)[0])
    return [p for p in parts if len(p) >= 3]
