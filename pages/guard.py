"""The gate at the top of every page builder and privileged handler (websocket events skip middleware)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from nicegui import app, context, run, ui

from models.shapes import Actor
from services import auth, contact_accounts, db

T = TypeVar('T')
SESSION_KEY = 'session_token'
STAFF = ('staff', 'admin')
ADMIN = ('admin',)


def client_ip() -> str | None:
    """The connecting client's address (as seen by this process)."""
    try:
        request = context.client.request
    except Exception:
        return None
    return request.client.host if request is not None and request.client else None


async def current_actor() -> Actor | None:
    """The signed-in account of this browser, or None (the session row decides, not the browser)."""
    token = app.storage.user.get(SESSION_KEY)
    if not token:
        return None
    actor = await run.io_bound(auth.resolve_session, token, ip_address=client_ip())
    if actor is None:
        app.storage.user.pop(SESSION_KEY, None)
    return actor


async def require(*roles: str) -> Actor | None:
    """The actor when signed in with one of `roles` (any role when empty); otherwise leave the page."""
    actor = await current_actor()
    if actor is None:
        ui.navigate.to('/login')
        return None
    if roles and actor.role not in roles:
        ui.notify('You do not have access to that page.', type='warning')
        ui.navigate.to(home_of(actor))
        return None
    if actor.role == 'contact' and await call(contact_accounts.terms_pending, account_id=actor.account_id):
        ui.navigate.to('/terms')  # the admin requires terms of use: accepted once, at first sign-in
        return None
    return actor


async def require_contact() -> Actor | None:
    """A signed-in contact; staff and admins are sent to their own start page instead."""
    actor = await require()
    if actor is not None and actor.is_staff:
        ui.navigate.to(home_of(actor))
        return None
    return actor


def home_of(actor: Actor) -> str:
    """Where an account lands after signing in."""
    return {'admin': '/admin', 'staff': '/staff'}.get(actor.role, '/')


def start_session(token: str) -> None:
    """Keep the new session token in this browser's storage (the only thing kept there)."""
    app.storage.user[SESSION_KEY] = token


async def sign_out() -> None:
    """End the session everywhere and go to the sign-in page."""
    token = app.storage.user.pop(SESSION_KEY, None)
    await run.io_bound(auth.end_session, token, ip_address=client_ip())
    ui.navigate.to('/login')


def safe_next(path: str | None) -> str | None:
    """A same-site path to return to after sign-in, or None (no open redirects)."""
    if not path or not path.startswith('/') or path.startswith('//') or '\\' in path or len(path) > 500:
        return None
    return path


async def call(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a service function in its own transaction, off the event loop."""
    return await run.io_bound(db.run, fn, **kwargs)
