"""Admin pages: settings, accounts, audit log, email, outbox, templates, questionnaire.

Helpers the admin pages share: `columns` for tables, and `read`, a read triggered by an event (paging, a row
click, a filter) that first checks the session is still an admin's.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from .. import access

T = TypeVar('T')


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
