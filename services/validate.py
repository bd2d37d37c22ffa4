"""Small validators shared by the services; each raises InvalidInput with a clear sentence."""
from __future__ import annotations

import re

from .errors import InvalidInput

_EMAIL = re.compile(r'^[A-Za-z0-9.!#$%&\'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$')
_PHONE = re.compile(r'^\+?[0-9 ()./-]{7,25}$')
_USERNAME = re.compile(r'^[a-z0-9._@+-]{3,64}$')
USERNAME_MAX = 254  # models.Account.username


def storable(value: str) -> bool:
    """True when a database can store the text as it is (no NUL, no lone surrogate) on SQLite and PostgreSQL."""
    if '\x00' in value:
        return False
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def plausible_username(value: str) -> bool:
    """Whether a typed sign-in name could be a stored username (length and characters): else it cannot exist."""
    return 0 < len(value) <= USERNAME_MAX and storable(value)


def email(value: str | None, *, label: str = 'Email') -> str:
    """A trimmed, lower-cased email address."""
    value = (value or '').strip().lower()
    if not value:
        raise InvalidInput(f'{label} is required.')
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidInput(f'{label} is not a valid email address.')
    return value


def phone(value: str | None, *, label: str = 'Phone', required: bool = False) -> str | None:
    """A trimmed phone number, or None when optional and empty."""
    value = (value or '').strip()
    if not value:
        if required:
            raise InvalidInput(f'{label} is required.')
        return None
    if not _PHONE.match(value) or sum(c.isdigit() for c in value) < 7:
        raise InvalidInput(f'{label} is not a valid phone number.')
    return value


def text(value: str | None, *, label: str, max_length: int, required: bool = True) -> str:
    """Trimmed text within a length limit."""
    value = (value or '').strip()
    if required and not value:
        raise InvalidInput(f'{label} is required.')
    if len(value) > max_length:
        raise InvalidInput(f'{label} can have at most {max_length:,} characters.')
    if not storable(value):
        raise InvalidInput(f'{label} contains a character that cannot be used.')
    return value


def username(value: str | None) -> str:
    """A free-form username (when email is not required as the username)."""
    value = (value or '').strip().lower()
    if not _USERNAME.match(value):
        raise InvalidInput('A username has 3 to 64 characters: letters, digits and . _ @ + - only.')
    return value
