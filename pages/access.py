"""Who is asking: the session behind this browser, the roles pages declare, and where each role lands.

Every page (pages/portal.py) and every action (pages/actions.py) asks here; nothing else reads the session.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from nicegui import app, context, run, ui

from models.shapes import Actor
from services import access_log, auth, contact_accounts, db
from services.settings import PortalSettings, get_settings

T = TypeVar('T')
SESSION_KEY = 'session_token'

PUBLIC = frozenset({'public'})  # anyone, signed in or not: a page must say so to be public
CONTACT = frozenset({'contact'})
STAFF = frozenset({'staff', 'admin'})
ADMIN = frozenset({'admin'})
SIGNED_IN = CONTACT | STAFF
ROLES = ('contact', 'staff', 'admin')


@dataclass(frozen=True)
class Visit:
    """What one page open or action needs to know, read in one trip off the event loop."""

    actor: Actor | None
    settings: PortalSettings
    terms_pending: bool = False


def allows(roles: frozenset[str], actor: Actor | None) -> bool:
    """True when `actor` may use something declared for `roles`."""
    return roles == PUBLIC or (actor is not None and actor.role in roles)


def client_ip() -> str | None:
    """The connecting client's address (as seen by this process)."""
    try:
        request = context.client.request
    except Exception:
        return None
    return request.client.host if request is not None and request.client else None


async def visit(ip_address: str | None = None) -> Visit:
    """The signed-in account (or None), the settings and the terms state, in one thread hop."""
    token = app.storage.user.get(SESSION_KEY)
    result = await run.io_bound(_read_visit, token, ip_address or client_ip())
    if result is None:  # NiceGUI answers None when the app is stopping
        raise asyncio.CancelledError()
    if result.actor is None and token:
        app.storage.user.pop(SESSION_KEY, None)  # ended, expired or disabled: forget it
    return result


def _read_visit(token: str | None, ip_address: str | None) -> Visit:
    actor = auth.resolve_session(token, ip_address=ip_address) if token else None
    settings = get_settings()
    pending = actor is not None and actor.role == 'contact' and \
        db.run(contact_accounts.terms_pending, account_id=actor.account_id)
    return Visit(actor, settings, bool(pending))


async def current_actor() -> Actor | None:
    """The signed-in account of this browser, or None (the session row decides, not the browser)."""
    return (await visit()).actor


async def refuse(actor: Actor | None, route: str, reason: str, ip_address: str | None = None) -> None:
    """Audit a refused access (rate-limited in the service)."""
    await run.io_bound(db.run, access_log.record_denied, actor=actor, route=route, reason=reason,
                       ip_address=ip_address or client_ip())


def home_of(actor: Actor) -> str:
    """Where an account lands after signing in."""
    return {'admin': '/admin', 'staff': '/staff'}.get(actor.role, '/')


def login_path(back_to: str | None = None) -> str:
    """The sign-in page, returning to `back_to` (a path on this portal) afterwards."""
    target = safe_next(back_to)
    return f'/login?next={quote(target, safe="")}' if target and target != '/' else '/login'


def start_session(token: str) -> None:
    """Keep the new session token in this browser's storage (the only thing kept there)."""
    app.storage.user[SESSION_KEY] = token


async def sign_out() -> None:
    """End the session everywhere and go to the sign-in page."""
    token = app.storage.user.pop(SESSION_KEY, None)
    await run.io_bound(auth.end_session, token, ip_address=client_ip())
    ui.navigate.to('/login')


def forget_session() -> None:
    """Drop this browser's token after the service ended every session (password change)."""
    app.storage.user.pop(SESSION_KEY, None)


def safe_next(path: str | None) -> str | None:
    """A same-site path to return to after sign-in, or None (no open redirects)."""
    if not path or not path.startswith('/') or path.startswith('//') or '\\' in path or len(path) > 500:
        return None
    return path


async def call(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a service function in its own transaction, off the event loop (reads; changes go through actions)."""
    return await run.io_bound(db.run, fn, **kwargs)


async def off_loop(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a service that keeps its own transactions off the event loop."""
    return await run.io_bound(fn, **kwargs)
