"""Password checks run in their own bounded pool: never in NiceGUI's shared threads, and "busy" beyond a bound."""
from __future__ import annotations

import ast
import asyncio
import inspect
import os
import threading
from pathlib import Path

import pytest

from services import auth, contact_accounts, passwords
from services.errors import PortalError

PAGES = Path(__file__).resolve().parent.parent / 'pages'
# every service a page calls that hashes or verifies a password (argon2)
HASHING_SERVICES = {'auth.sign_in', 'auth.complete_setup', 'contact_accounts.create_account',
                    'contact_accounts.sign_in_and_link', 'contact_accounts.change_password',
                    'contact_accounts.reset_password'}


def test_a_marked_service_runs_in_the_password_pool_with_its_signature() -> None:
    marked = passwords.hashing(auth.sign_in)
    assert passwords.is_hashing(marked) and not passwords.is_hashing(auth.sign_in)
    assert inspect.signature(marked) == inspect.signature(auth.sign_in)
    assert 'idempotency_key' in inspect.signature(passwords.hashing(contact_accounts.change_password)).parameters
    def where() -> tuple[str, int]:
        return threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    service, argon2 = asyncio.run(passwords.offload(lambda: (where(), passwords._argon2(where))))
    assert service[0].startswith('password') and service[1] == os.getpriority(os.PRIO_PROCESS, 0)
    assert argon2[0].startswith('argon2') and argon2[1] == 19  # below the event loop's threads: page opens go first
    assert passwords.POOL.threads == passwords.THREADS >= 1


def test_beyond_the_bound_the_answer_is_busy_and_nothing_runs() -> None:
    pool = passwords._HashingPool(threads=1, queue=1)
    release = threading.Event()
    ran: list[int] = []

    def work(n: int) -> int:
        release.wait(5)
        ran.append(n)
        return n

    running, waiting = pool.submit(work, n=1), pool.submit(work, n=2)
    with pytest.raises(passwords.PortalBusy) as refused:
        pool.submit(work, n=3)
    assert isinstance(refused.value, PortalError) and str(refused.value) == 'The portal is busy, try again in a moment.'
    release.set()
    assert (running.result(5), waiting.result(5)) == (1, 2)
    assert pool.submit(work, n=4).result(5) == 4  # admitted again once the queue drained
    assert sorted(ran) == [1, 2, 4]


def _unmarked_calls(tree: ast.AST) -> list[str]:
    """`auth.sign_in` and friends passed to act.call / act.run / access.call / off_loop without `hashing(...)`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Attribute) \
                and ast.unparse(node.func) != 'passwords.hashing':
            target = node.args[0]
            if isinstance(target.value, ast.Name) and f'{target.value.id}.{target.attr}' in HASHING_SERVICES:
                found.append(f'{target.value.id}.{target.attr} (line {node.lineno})')
    return found


def test_pages_run_every_password_check_in_the_password_pool() -> None:
    problems = []
    for path in PAGES.rglob('*.py'):
        problems += [f'{path.name}: {call}' for call in _unmarked_calls(ast.parse(path.read_text()))]
    assert problems == [], 'wrap with passwords.hashing(...) so argon2 never holds a shared thread'
