"""Password hashing (argon2id, off the event loop, bounded) and the rules a new password must meet.

argon2 is slow on purpose (~0.1 s and ~19 MiB per hash). Pages run every service that hashes or verifies a
password through `offload` (`hashing(fn)` marks such a service for the action helper): a dedicated pool with one
thread per core and a bounded queue, so a burst of sign-ins never occupies the threads that open pages for
everyone else, and the memory argon2 leaves in each thread's allocator arena stays bounded by the core count.
Beyond the queue's bound the answer is a clear "busy, try again" (`PortalBusy`) instead of a growing wait.
The argon2 computation itself runs in a second set of threads, one per core at the lowest priority.
"""
from __future__ import annotations

import asyncio
import functools
import gzip
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import collector
from .config import get_config
from .errors import InvalidInput, PortalError

if TYPE_CHECKING:
    from .settings import PortalSettings

MAX_PASSWORD_LENGTH = 128
ZXCVBN_MAX_LENGTH = 72
_COMMON_FILE = Path(__file__).resolve().parent.parent / 'assets' / 'common-passwords.txt.gz'
T = TypeVar('T')
# argon2 takes ~19 MiB and ~0.1 s per hash: at most one per core at once, whoever calls
THREADS = max(1, os.cpu_count() or 1)
QUEUE_BOUND = 64  # waiting password checks beyond the running ones (~3 s of work on 2 cores), then "busy"
BUSY = 'The portal is busy, try again in a moment.'


class PortalBusy(PortalError):
    """Too many password checks are waiting; nothing was done."""

    def __init__(self, message: str = BUSY) -> None:
        super().__init__(message)


class _HashingPool:
    """A fixed pool of `threads` threads that accepts at most `threads + queue` calls at once."""

    def __init__(self, threads: int, queue: int) -> None:
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix='password')
        self._admitted = threading.BoundedSemaphore(threads + queue)

    def submit(self, fn: Callable[..., T], /, **kwargs: Any) -> Future[T]:
        if not self._admitted.acquire(blocking=False):
            raise PortalBusy()
        try:
            future = self._executor.submit(_then_release_memory, fn, kwargs)
        except BaseException:
            self._admitted.release()
            raise
        future.add_done_callback(lambda _: self._admitted.release())
        return future


def _yield_to_pages() -> None:
    """Run this argon2 thread at the lowest priority (Linux: setpriority(2) on a thread id affects that thread
    only), so a burst of sign-ins uses the cores the event loop leaves idle instead of delaying page opens
    (nice 19 weighs 15 against the loop's 1024: still progress on a busy machine, never ahead of a page).
    Only the argon2 computation runs here, with Python's lock released: a thread this low must not hold the
    lock the event loop needs (the service around it, with its database work, runs in the password pool)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


# after the first password check argon2's 19 MiB blocks would come from the password threads' arenas and stay there;
# a fixed threshold keeps them out of the arenas: the memory after a burst of sign-ins returns to the system
collector.map_blocks_from(4 * 1024 * 1024)


def _then_release_memory(fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
    """Run `fn`, then hand what it and its argon2 computation freed back to the system (malloc_trim(3)): glibc
    otherwise keeps it in the threads' arenas for good."""
    try:
        return fn(**kwargs)
    finally:
        collector.release_freed_memory()


POOL = _HashingPool(THREADS, QUEUE_BOUND)
_ARGON2 = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix='argon2', initializer=_yield_to_pages)


def _argon2(fn: Callable[..., T], *args: Any) -> T:
    """Run one argon2 computation in a lowest-priority thread (at most one per core, whoever calls) and wait."""
    return _ARGON2.submit(fn, *args).result()


async def offload(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a service that hashes or verifies a password in the dedicated pool and await it (no other thread
    waits meanwhile); PortalBusy when too many are waiting."""
    return await asyncio.wrap_future(POOL.submit(fn, **kwargs))


def hashing(fn: Callable[..., T]) -> Callable[..., T]:
    """Mark a service that hashes or verifies a password: the action helper runs it through `offload`."""
    @functools.wraps(fn)
    def marked(*args: Any, **kwargs: Any) -> T:
        return fn(*args, **kwargs)
    marked.hashes_passwords = True
    return marked


def is_hashing(fn: Callable[..., Any]) -> bool:
    """True for a service marked with `hashing`."""
    return bool(getattr(fn, 'hashes_passwords', False))


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
    return _argon2(_hasher(memory_kib, time_cost).hash, 'dummy password for unknown users')


def hash_password(password: str) -> str:
    """Hash a password (blocking: call from a worker thread)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f'A password can have at most {MAX_PASSWORD_LENGTH} characters.')
    if not _encodable(password):
        raise InvalidInput(BAD_CHARACTER)
    return _argon2(hasher().hash, password)


def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Check a password; return (ok, new_hash) where new_hash is set when the cost changed.

    With no hash (unknown user) a dummy hash is verified so the answer takes the same time.
    """
    if len(password) > MAX_PASSWORD_LENGTH or not _encodable(password):
        password = ''  # cannot match: still verify (the dummy or the stored hash) so the answer takes as long
        password_hash = None
    config = get_config()
    ph = hasher()
    target = password_hash or _dummy_hash(config.argon2_memory_kib, config.argon2_time_cost)
    try:
        _argon2(ph.verify, target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if password_hash is None:
        return False, None
    if ph.check_needs_rehash(password_hash):
        return True, _argon2(ph.hash, password)
    return True, None


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped blocklist (lower-case): ~149,000 of the most common breached passwords (see the README)."""
    with gzip.open(_COMMON_FILE, 'rt', encoding='utf-8') as lines:
        return frozenset(line.rstrip('\n') for line in lines if line.strip() and not line.startswith('#'))


# why a new password is refused (shown to the person; never repeats the password)
MISMATCH = 'The two passwords do not match.'
COMMON = 'This password is one of the most common passwords. Choose another.'
DECORATED = ('This password is a common password with a few characters added (like password123 or Summer2024!). '
             'Choose another.')
PATTERN = ('This password is made of repeated or sequential characters (like aaaa, abcd, 1234 or qwerty). '
           'Choose another.')
BAD_CHARACTER = 'The password contains a character that cannot be used.'
USERNAME_IN = 'The password must not contain your username or email.'
PORTAL_IN = 'The password must not contain the portal name.'
_KEYBOARD_ROWS = ('1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm', 'qwertzuiop', 'azertyuiop', 'qsdfghjklm')
_LEET = str.maketrans({'@': 'a', '4': 'a', '8': 'b', '3': 'e', '6': 'g', '1': 'i', '!': 'i', '0': 'o',
                       '$': 's', '5': 's', '7': 't', '+': 't', '2': 'z'})


def password_problem(password: str, confirm: str, *, username: str, portal_name: str, min_length: int,
                     email: str = '') -> str | None:
    """The reason a new password is refused, or None when it is acceptable (NIST SP 800-63B, 3.1.1.2).

    The one rule for every new password: at least `min_length` characters (at most 128), not on the
    blocklist of common breached passwords, not a common password with a few characters added, not made of
    repeated or sequential characters, and without the username, the email or the portal name.
    """
    if password != confirm:
        return MISMATCH
    if len(password) < min_length:
        return f'The password must have at least {min_length} characters.'
    if len(password) > MAX_PASSWORD_LENGTH:
        return f'The password can have at most {MAX_PASSWORD_LENGTH} characters.'
    if '\x00' in password or not _encodable(password):
        return BAD_CHARACTER
    lowered = password.lower()
    common = common_passwords()
    if lowered in common or lowered.strip() in common:
        return COMMON
    if _decorated_common(lowered, common):
        return DECORATED
    if _patterned(lowered):
        return PATTERN
    squeezed = _squeeze(lowered)
    for word in _context_words(username, email):
        if word in lowered or _squeeze(word) in squeezed:
            return USERNAME_IN
    for word in _portal_words(portal_name):
        if word in squeezed:
            return PORTAL_IN
    return None


def check_new_password(password: str, confirm: str, *, username: str, portal_name: str, min_length: int,
                       email: str = '') -> None:
    """Raise InvalidInput with the reason when a new password is refused."""
    problem = password_problem(password, confirm, username=username, portal_name=portal_name,
                               min_length=min_length, email=email)
    if problem:
        raise InvalidInput(problem)


def accept_new_password(password: str, confirm: str, *, username: str, email: str = '',
                        settings: PortalSettings | None = None) -> str:
    """The argon2id hash of a new password that meets the rule; InvalidInput with the reason otherwise.

    The one way a password is set (command line, first setup, activation, change, reset, admin-created
    accounts through their reset code): nothing else calls `hash_password`. Blocking (argon2): run it in a
    worker thread, outside a database transaction.
    """
    from .settings import get_settings
    settings = settings or get_settings()
    check_new_password(password, confirm, username=username, email=email, portal_name=settings.portal_name,
                       min_length=settings.password_min_length)
    return hash_password(password)


def _encodable(text: str) -> bool:
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def _squeeze(text: str) -> str:
    """Letters and digits only: 'Secure Message-Portal' and 'securemessageportal' compare alike."""
    return ''.join(ch for ch in text.lower() if ch.isalnum())


def _decorated_common(lowered: str, common: frozenset[str]) -> bool:
    """A common password with digits, symbols or spaces around it, or spelled with look-alike digits."""
    cores = {lowered.strip(' 0123456789!@#$%^&*()_+-=.,;:?~/\\|[]{}<>\'"`'), _squeeze(lowered)}
    for core in list(cores):
        cores.add(core.translate(_LEET).strip(' 0123456789'))
        cores.add(core.replace('1', 'l').translate(_LEET))
    return any(len(core) >= 4 and core in common for core in cores)


def _patterned(lowered: str) -> bool:
    """Made of repeated or sequential characters: what is left after removing such runs is tiny."""
    if len(set(lowered)) < 5:
        return True
    for size in range(1, len(lowered) // 2 + 1):  # one block repeated: abcabcabcabc, pass1pass1pass1
        if len(lowered) % size == 0 and lowered[:size] * (len(lowered) // size) == lowered:
            return True
    return len(_without_runs(lowered)) < 4


def _without_runs(text: str) -> str:
    """`text` without runs of 3+ characters that repeat (aaa), step through the alphabet or digits (abc, 987)
    or follow a keyboard row (qwer, asdf)."""
    keep = [True] * len(text)
    i = 0
    while i < len(text) - 2:
        j = i + 1
        step = ord(text[j]) - ord(text[i])
        if step in (-1, 0, 1) or _keyboard_step(text[i], text[j]):
            while j + 1 < len(text) and ((ord(text[j + 1]) - ord(text[j]) == step and step in (-1, 0, 1))
                                         or (step not in (-1, 0, 1) and _keyboard_step(text[j], text[j + 1]))):
                j += 1
            if j - i >= 2:
                for k in range(i, j + 1):
                    keep[k] = False
                i = j + 1
                continue
        i += 1
    return ''.join(ch for ch, kept in zip(text, keep, strict=True) if kept)


def _keyboard_step(a: str, b: str) -> bool:
    return any(a + b in row or b + a in row for row in _KEYBOARD_ROWS)


def _context_words(username: str, email: str) -> list[str]:
    """The username, the email, its local part, and the name-like pieces of both (4+ characters)."""
    words: list[str] = []
    for value in {(username or '').strip().lower(), (email or '').strip().lower()}:
        if not value:
            continue
        words.append(value)
        local, _, domain = value.partition('@')
        words.append(local)
        words += [piece for piece in re.split(r'[^a-z0-9]+', local) if len(piece) >= 4]
        if domain:
            labels = domain.split('.')
            words += [label for label in labels[:-1] if len(label) >= 4]
    return [w for w in dict.fromkeys(words) if len(w) >= 3]


def _portal_words(portal_name: str) -> list[str]:
    """The portal name (squeezed) and each word of it with 4+ letters."""
    name = (portal_name or '').lower()
    words = [_squeeze(name)] + [w for w in re.split(r'[^a-z0-9]+', name) if len(w) >= 4]
    return [w for w in dict.fromkeys(words) if len(w) >= 4]


def strength(password: str, user_inputs: list[str] | None = None) -> tuple[int, str]:
    """A 0-4 strength score and a short hint, for the strength meter."""
    if not password:
        return 0, ''
    from zxcvbn import zxcvbn
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=user_inputs or [])  # zxcvbn refuses longer input
    feedback = result.get('feedback') or {}
    hint = feedback.get('warning') or ' '.join(feedback.get('suggestions') or [])
    return int(result['score']), hint
