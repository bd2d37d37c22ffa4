"""Refused requests (a page, file or action the asker may not use), audited without flooding the log."""
from __future__ import annotations

import threading
import time

from sqlmodel import Session

from models.shapes import Actor

from . import audit

WINDOW_SECONDS = 60.0
PER_ROUTE = 1      # one event per asker and route a minute
PER_ASKER = 20     # and at most this many per asker a minute, whatever the routes (a scan)
_MAX_KEYS = 10_000

_lock = threading.Lock()
_seen: dict[tuple[str, str], list[float]] = {}


def record_denied(session: Session, *, actor: Actor | None, route: str, reason: str,
                  ip_address: str | None = None) -> bool:
    """Write one `access_denied` audit event unless this asker was just recorded; True when written."""
    asker = f'account:{actor.account_id}' if actor and actor.account_id else f'ip:{ip_address or "?"}'
    if not _admit(asker, route[:200]):
        return False
    audit.record(session, action='access_denied', actor=actor, object_type='route', object_id=route[:200],
                 detail={'reason': reason}, ip_address=ip_address)
    return True


def _admit(asker: str, route: str) -> bool:
    now = time.monotonic()
    with _lock:
        if len(_seen) > _MAX_KEYS:
            _seen.clear()
        recent = [t for t in _seen.get((asker, route), []) if now - t < WINDOW_SECONDS]
        overall = [t for t in _seen.get((asker, ''), []) if now - t < WINDOW_SECONDS]
        if len(recent) >= PER_ROUTE or len(overall) >= PER_ASKER:
            return False
        _seen[(asker, route)] = recent + [now]
        _seen[(asker, '')] = overall + [now]
        return True


def reset() -> None:
    """Forget what was recorded (tests)."""
    with _lock:
        _seen.clear()
