"""Admin pages: settings, accounts, audit log, email, outbox, templates, questionnaire.

Helpers the admin pages share (candidates for pages/actions.py and pages/access.py): `Action`, the portal's
action whose refused submit leaves no idempotency key behind; `Outcome`, a message line that says what did not
happen ("Not saved. …") before the reason; and `read`, a read triggered by an event (paging, a row click, a filter)
that first checks the session is still an admin's.
"""
from __future__ import annotations

import inspect
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from services.errors import PortalError

from .. import access, actions

T = TypeVar('T')


class Action(actions.Action):
    """`actions.Action` whose submit, once refused with a PortalError, is followed by a fresh idempotency key.

    A refused submit changed nothing (its transaction rolled back), so the corrected one is a new submit. The
    framework keeps the key until a success, which relies on the rollback taking the key's receipt with it; on
    SQLite it does not: `idempotency.claim` is the transaction's first statement, pysqlite opens no transaction
    before a SAVEPOINT, and the RELEASE commits the receipt alone, so the corrected submit came back REPLAYED and
    silently did nothing. TODO(issue 11): drop this class once the claim rolls back with its transaction.
    """

    def __init__(self, handler: actions.Handler, **options: Any) -> None:
        async def refused_submits_leave_no_key(act: actions.Act) -> None:
            try:
                await handler(act)
            except PortalError:
                self.key = secrets.token_urlsafe(24)
                raise  # shown next to the control by actions.Action

        refused_submits_leave_no_key.__qualname__ = getattr(handler, '__qualname__', 'action')
        super().__init__(refused_submits_leave_no_key, **options)


class Outcome(actions.Message):
    """An action's message line whose errors start with `failed` (e.g. 'Not saved.'), as the pages always said."""

    def __init__(self, mark: str, failed: str) -> None:
        super().__init__(mark)
        self.failed = failed

    def error(self, text: str) -> None:
        super().error(f'{self.failed} {text}')


def columns(*fields: tuple[str, str], numbers: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Table columns from (field, label) pairs: text left-aligned, the `numbers` right-aligned (Quasar's default)."""
    return [{'name': name, 'label': label, 'field': name} | ({} if name in numbers else {'align': 'left'})
            for name, label in fields]


async def read(fn: Callable[..., T], /, **kwargs: Any) -> T | None:
    """`fn(session, [actor,] **kwargs)` off the loop for this browser's admin; None once the session ended.

    Reads change nothing, so they need no action (pages/actions.py); the service checks the actor again.
    """
    actor = await access.current_actor()
    if not access.allows(access.ADMIN, actor):
        return None
    if 'actor' in inspect.signature(fn).parameters:
        kwargs.setdefault('actor', actor)
    return await access.call(fn, **kwargs)
