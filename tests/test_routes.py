"""The route × role table: every declared page and file route, for signed-out, contact, staff, admin and disabled.

Routes come from the registry `@portal_page` / `@file_route` build (pages.portal.ROUTES), and every route the
app serves outside NiceGUI's own must be in it, so a page added later is covered without editing this file.
"""
from __future__ import annotations

import re

import pyotp
import pytest
from nicegui import app
from nicegui.testing import User
from sqlmodel import select
from starlette.routing import Route as StarletteRoute

import api
from models import Account, AuditEvent, TotpFactor
from pages import access
from pages.portal import ROUTES, Route
from services import db, secretbox
from tests import factories
from tests.admin_portal import HOME, landed_on, sign_in_as
from tests.portal import seed, sign_in

# 'pending': the password was right, the second step is due; 'enrolling': a second factor must be set up first
ROLES = ('signed-out', 'contact', 'staff', 'admin', 'disabled', 'pending', 'enrolling')
EMAIL = {'contact': 'doc@outside.test', 'staff': 'nurse@clinic.test', 'admin': 'boss@clinic.test',
         'disabled': 'gone@clinic.test', 'pending': 'twostep@clinic.test', 'enrolling': 'mustenrol@clinic.test'}
SECOND_STEP = {'pending': '/login/second-step', 'enrolling': '/login/second-step/setup'}
# allowed pages that move on by design when opened with a made-up id or while signed in
MOVES_ON = {'/login', '/registration/start', '/setup', '/activate', '/forgot-password', '/registration/{token}',
            '/login/second-step', '/login/second-step/setup'}
NICEGUI_OWN = ('/_nicegui',)


def concrete(path: str) -> str:
    return re.sub(r'\{[^}]+\}', '1', path)


def expected_landing(route: Route, role: str) -> str | None:
    """Where `role` lands on opening the page: its own path when allowed, else the sign-in page or its home."""
    actor_role = None if role in ('signed-out', 'disabled', 'pending', 'enrolling') else role
    if route.roles == access.PUBLIC or (actor_role is not None and actor_role in route.roles):
        return concrete(route.path)
    if role in SECOND_STEP:  # a password alone opens nothing: every page goes to the second step
        return SECOND_STEP[role]
    if actor_role is None:
        return '/login'
    return HOME[actor_role]


async def become(user: User, role: str) -> None:
    if role == 'signed-out':
        return
    if role in SECOND_STEP:
        await _sign_in_pending(user, role)
        return
    await sign_in_as(user, 'staff' if role == 'disabled' else role, EMAIL[role])
    if role == 'disabled':
        def disable(session) -> None:
            account = session.exec(select(Account).where(Account.email == EMAIL['disabled'])).one()
            account.is_active = False
            session.add(account)
        db.run(disable)


async def _sign_in_pending(user: User, role: str) -> None:
    """An admin whose password was right and whose second step is due (or who must set one up first)."""
    def make(session) -> None:
        account = factories.account(session, role='admin', email=EMAIL[role])
        if role == 'pending':
            session.add(TotpFactor(account_id=account.id, secret_sealed=secretbox.encrypt(pyotp.random_base32()),
                                   confirmed=True))
        else:
            account.second_factor_forced = True
            session.add(account)
    seed(make)
    await sign_in(user, EMAIL[role])
    assert await landed_on(user, SECOND_STEP[role]), user.back_history


def served_paths(routes) -> set[str]:
    """Every path served, including those of included routers (FastAPI keeps an included router as one node)."""
    found = set()
    for route in routes:
        if getattr(route, 'original_router', None) is not None:
            found |= served_paths(route.original_router.routes)
        elif isinstance(route, StarletteRoute):
            found.add(route.path)
    return found


def test_every_served_route_is_declared(user: User) -> None:
    served = served_paths(app.routes)
    assert '/api/v1/replies/{reply_id}' in served
    # the EHR API declares its routes in its own router (api/); tests/test_api_scopes.py walks each of them
    undeclared = sorted(p for p in served if not p.startswith(NICEGUI_OWN) and p not in ROUTES
                        and p not in api.declared_paths() and p != '/favicon.ico')
    assert undeclared == []
    assert {'/', '/message/{share_id}', '/login', '/staff', '/admin', '/files/message/{share_id}'} <= set(ROUTES)


def test_a_page_without_roles_cannot_be_declared() -> None:
    from pages.portal import file_route, portal_page
    with pytest.raises(TypeError):
        portal_page('/nobody', roles=frozenset())
    with pytest.raises(TypeError):
        file_route('/files/nobody', roles=frozenset({'everyone'}))


@pytest.mark.parametrize('role', ROLES)
async def test_every_page_admits_exactly_its_roles(user: User, role: str) -> None:
    await become(user, role)
    problems = []
    for route in sorted((r for r in ROUTES.values() if r.kind == 'page'), key=lambda r: r.path):
        if route.path in MOVES_ON:
            continue
        target = expected_landing(route, role)
        await user.open(concrete(route.path))
        if not await landed_on(user, target, settle=0.2):
            problems.append(f'{route.path}: {role} ended on {user.back_history[-1]}, expected {target}')
    assert problems == []


@pytest.mark.parametrize('role', ROLES)
async def test_every_file_route_admits_exactly_its_roles(user: User, role: str) -> None:
    await become(user, role)
    problems = []
    for route in sorted((r for r in ROUTES.values() if r.kind == 'file'), key=lambda r: r.path):
        response = await user.http_client.get(concrete(route.path), follow_redirects=False)
        allowed = route.roles == access.PUBLIC or role in route.roles
        expected = {404} if allowed else {401} if role in ('signed-out', 'disabled', *SECOND_STEP) else {403}
        if response.status_code not in expected:
            problems.append(f'{route.path}: {role} got {response.status_code}, expected {expected}')
        if response.headers.get('cache-control') != 'no-store' and route.roles != access.PUBLIC:
            problems.append(f'{route.path}: {role} got a cacheable answer')
    assert problems == []


async def test_a_refused_page_is_audited_once_and_explained(user: User) -> None:
    await become(user, 'contact')
    for _ in range(3):
        await user.open('/admin/settings')
        assert await landed_on(user, '/')
    await user.should_see('You do not have access to that page.')
    events = db.run(lambda session: session.exec(
        select(AuditEvent).where(AuditEvent.action == 'access_denied')).all())
    assert [(e.object_id, e.actor) for e in events] == [('/admin/settings', EMAIL['contact'])]


async def test_a_refused_file_is_audited(user: User) -> None:
    await become(user, 'contact')
    response = await user.http_client.get('/staff/files/document/1')
    assert response.status_code == 403
    events = db.run(lambda session: session.exec(
        select(AuditEvent).where(AuditEvent.action == 'access_denied')).all())
    assert [e.object_id for e in events] == ['/staff/files/document/{document_id}']


async def test_staff_opening_admin_pages_is_audited_without_flooding(user: User) -> None:
    await become(user, 'staff')
    admin_pages = sorted(r.path for r in ROUTES.values() if r.kind == 'page' and r.path.startswith('/admin'))
    for path in admin_pages * 2:  # twice: the second round is within the minute and adds nothing
        await user.open(concrete(path))
        assert await landed_on(user, '/staff')
    events = db.run(lambda session: session.exec(
        select(AuditEvent).where(AuditEvent.action == 'access_denied')).all())
    assert sorted(e.object_id for e in events) == admin_pages
    assert {e.actor for e in events} == {EMAIL['staff']}
