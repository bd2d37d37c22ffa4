"""Liveness and readiness: is the process up, and can it serve (database, migrations, scheduler, outbox)."""
from __future__ import annotations

import logging
from typing import Any

from . import db

log = logging.getLogger(__name__)
_scheduler: Any = None  # the running scheduler, handed over by main.py when it starts one
_scheduler_expected = False
_last_problems: tuple[str, ...] = ()


def scheduler_started(scheduler: Any) -> None:
    """Remember the scheduler this process started (readiness checks that it keeps running)."""
    global _scheduler, _scheduler_expected
    _scheduler, _scheduler_expected = scheduler, True


def scheduler_stopped() -> None:
    """The process is stopping its scheduler on purpose."""
    global _scheduler
    _scheduler = None


def problems() -> list[str]:
    """What keeps this process from being ready (empty when ready): names only, never data or secrets."""
    found = []
    try:
        if db.current_revision() != db.head_revision():
            found.append('migrations not current')
    except Exception:
        found.append('database unreachable')
    if _scheduler_expected and not getattr(_scheduler, 'running', False):
        found.append('scheduler not running')
    if _outbox_paused():
        found.append('outbox paused')
    return found


def _outbox_paused() -> bool:
    from . import outbox
    paused = getattr(outbox, 'paused', None)  # provided by the outbox's mail-server-outage handling
    if paused is None:
        return False
    try:
        return bool(paused())
    except Exception:
        log.warning('readiness: the outbox state could not be read')
        return True


def ready() -> bool:
    """True when the process can serve; a change in what is wrong is logged once."""
    global _last_problems
    found = tuple(problems())
    if found != _last_problems:
        if found:
            log.warning('not ready: %s', ', '.join(found))
        else:
            log.info('ready')
        _last_problems = found
    return not found
