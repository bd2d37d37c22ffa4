"""Who is asking: the session behind this browser, the roles pages declare, and where each role lands.

Every page (pages/portal.py) and every action (pages/actions.py) asks here; nothing else reads the session.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlencode, urlsplit

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from nicegui import context, run, ui

from models.shapes import Actor
from services import access_log, auth, contact_accounts, cookie_tickets, db, second_factor, worklist
from services.config import get_config
from services.settings import PortalSettings, get_settings

T = TypeVar('T')
SESSION_COOKIE = 'smp_session'  # the portal's own cookie: a fresh random token at every sign-in

PUBLIC = frozenset({'public'})  # anyone, signed in or not: a page must say so to be public
CONTACT = frozenset({'contact'})
STAFF = frozenset({'staff', 'admin'})
ADMIN = frozenset({'admin'})
SIGNED_IN = CONTACT | STAFF
ROLES = ('contact', 'staff', 'admin')


# a page's first read, done with the session check: (roles that see the page, terms gate, read(session, actor=))
Prefetch = tuple[frozenset[str], bool, Callable[..., Any]]


@dataclass(frozen=True)
class Visit:
    """What one page open or action needs to know, read in one trip off the event loop."""

    actor: Actor | None
    settings: PortalSettings
    terms_pending: bool = False
    unworked: int = 0  # staff: replies waiting in the SMP worklist (the header's badge)
    second_step: str | None = None  # a pending session (not signed in): 'verify' or 'enrol' is due
    enrol_by: datetime | None = None  # signed in, must set up a second factor by then (the grace period)
    data: Any = None  # the page's own first read (`portal_page(prefetch=...)`), when the visitor may see the page


def allows(roles: frozenset[str], actor: Actor | None) -> bool:
    """True when `actor` may use something declared for `roles`."""
    return roles == PUBLIC or (actor is not None and actor.role in roles)


def client_ip() -> str | None:
    """The connecting client's address (as seen by this process)."""
    request = _page_request()
    return request.client.host if request is not None and request.client else None


async def visit(request: Request | None = None, prefetch: Prefetch | None = None) -> Visit:
    """The signed-in account (or None), the settings and the terms state, in one thread hop.

    The session token comes from the portal's HttpOnly cookie of the HTTP request (for websocket events, the
    request that loaded the page). `prefetch` (roles, terms gate, read) adds the page's own first read to the same
    transaction when the account may see the page: `read(session, actor=actor)` becomes `Visit.data`.
    """
    request = request or _page_request()
    token = request.cookies.get(SESSION_COOKIE) if request is not None else None
    ip = request.client.host if request is not None and request.client else None
    result = await run.io_bound(_read_visit, token, ip, prefetch)
    if result is None:  # NiceGUI answers None when the app is stopping
        raise asyncio.CancelledError()
    return result


def session_token() -> str | None:
    """The session token of the browser this page belongs to."""
    request = _page_request()
    return request.cookies.get(SESSION_COOKIE) if request is not None else None


def _page_request() -> Request | None:
    try:
        return context.client.request
    except Exception:
        return None


def _read_visit(token: str | None, ip_address: str | None, prefetch: Prefetch | None = None) -> Visit:
    """The session, settings, terms state and staff badge (and the page's first read) in one transaction."""
    with db.transaction() as session:
        actor = auth.resolve_session(token, ip_address=ip_address, session=session) if token else None
        settings = get_settings(session)
        pending = actor is not None and actor.role == 'contact' and \
            contact_accounts.terms_pending(session, account_id=actor.account_id)
        unworked = worklist.unworked_count(session, actor=actor) if actor is not None and actor.is_staff else 0
        step = second_factor.pending(session, token=token) if token and actor is None else None
        enrol_by = second_factor.enrol_notice(session, actor, settings) if actor is not None else None
        data = None
        if prefetch is not None and actor is not None:
            roles, terms_gate, read = prefetch
            if actor.role in roles and not (pending and terms_gate):
                data = read(session, actor=actor)
    return Visit(actor, settings, bool(pending), unworked, step.step if step else None, enrol_by, data)


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


SECOND_STEP = '/login/second-step'
ENROL = '/login/second-step/setup'


def second_step_path(step: str, back_to: str | None = None) -> str:
    """Where a pending session goes instead of `back_to`: the second step, or setting one up ('enrol')."""
    target = safe_next(back_to)
    base = ENROL if step == second_factor.ENROL else SECOND_STEP
    return f'{base}?next={quote(target, safe="")}' if target and target != '/' else base


def start_session(token: str, then: str) -> str:
    """Where to navigate after a sign-in: `/session/start` sets the new token as this browser's cookie and goes
    on to `then` (the token travels as a one-time ticket, never in the URL itself)."""
    query = urlencode({'ticket': cookie_tickets.issue(token), 'next': safe_next(then) or '/'})
    return f'/session/start?{query}'


def cookie_response(request: Request, ticket: str | None, then: str | None) -> Response:
    """Redeem a sign-in ticket: set the session cookie and go on, or go to the sign-in page."""
    token = cookie_tickets.redeem(ticket)
    response = RedirectResponse(safe_next(then) or '/' if token else '/login', status_code=303)
    response.headers['Cache-Control'] = 'no-store'
    if token:
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite='lax', path='/',
                            secure=get_config().cookie_https_only)
    return response


async def sign_out() -> None:
    """End the session everywhere and go to the sign-in page (the cookie left behind is worth nothing)."""
    await end_session()
    ui.navigate.to('/login')


async def end_session() -> None:
    """End this browser's session on the server."""
    await run.io_bound(auth.end_session, session_token(), ip_address=client_ip())


def safe_next(path: str | None) -> str | None:
    """A path on this portal to return to after sign-in, or None (no open redirects).

    Checked as given and once more decoded, so neither browsers' URL clean-up (tabs, newlines and backslashes
    dropped or turned into slashes) nor a later decode can make it leave the portal.
    """
    if not path or len(path) > 500:
        return None
    for form in (path, unquote(path)):
        if not form.startswith('/') or form.startswith('//') or '\\' in form or '@' in form.split('?')[0]:
            return None
        if any(ord(ch) < 0x21 or ord(ch) == 0x7f for ch in form):
            return None
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return None
    return path


async def call(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a service function in its own transaction, off the event loop (reads; changes go through actions)."""
    return await run.io_bound(db.run, fn, **kwargs)


async def off_loop(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a service that keeps its own transactions off the event loop."""
    return await run.io_bound(fn, **kwargs)
