"""One-time tickets that carry a new session token from a sign-in (made over the websocket) to the HTTP
response that sets the session cookie.

A websocket cannot set an HttpOnly cookie, so after a successful sign-in the page navigates to
`/session/start?ticket=…`; that request redeems the ticket once, within a minute, and sets the cookie. The ticket
is random and single use; the token itself never appears in a URL. Tickets live in this process only (a browser
stays on one process: the deployment notes require sticky sessions).
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time

TICKET_SECONDS = 60.0
_MAX = 10_000

_lock = threading.Lock()
_tickets: dict[str, tuple[str, float]] = {}


def issue(token: str) -> str:
    """A fresh ticket that `redeem` exchanges once for `token`."""
    ticket = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _lock:
        if len(_tickets) >= _MAX:
            for key in [k for k, (_, expires) in _tickets.items() if expires < now]:
                del _tickets[key]
        _tickets[_digest(ticket)] = (token, now + TICKET_SECONDS)
    return ticket


def redeem(ticket: str | None) -> str | None:
    """The session token for a ticket issued in the last minute and not redeemed before; else None."""
    if not ticket or len(ticket) > 100:
        return None
    with _lock:
        found = _tickets.pop(_digest(ticket), None)
    if found is None or found[1] < time.monotonic():
        return None
    return found[0]


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()
