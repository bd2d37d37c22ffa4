"""The route-by-role table: every page and file route refuses anonymous users and wrong roles.

Routes are read from the running app at test time, so pages added later are covered without editing this file.
`/admin/*`: admins only. `/staff/*`: staff and admins. Contacts reach neither. `/files/*`: never anonymous, and a
contact holding nothing gets nothing. `/branding/*`: anonymous refused except the public allowlist below.
"""
from __future__ import annotations

import re

from nicegui import Client, app
from nicegui.testing import User
from starlette.routing import Route

from tests.admin_portal import HOME, landed_on, sign_in_as

PREFIXES = ('/admin', '/staff', '/files', '/branding')
PUBLIC = {'/branding/logo'}  # the co-brand logo is on the sign-in page
REFUSED = {301, 302, 303, 307, 308, 401, 403, 404}


def protected_routes() -> list[tuple[str, str, bool]]:
    """(path with ids filled in, HTTP method, is a NiceGUI page) for every protected route registered now."""
    pages = set(Client.page_routes.values())
    found: dict[str, tuple[str, str, bool]] = {}
    for route in app.routes:
        path = getattr(route, 'path', '')
        if not isinstance(route, Route) or not path.startswith(PREFIXES) or path in PUBLIC:
            continue
        if path != '/admin' and path != '/staff' and not re.match(r'^/(admin|staff|files|branding)/', path):
            continue
        concrete = re.sub(r'\{[^}]+\}', '1', path)
        method = 'GET' if 'GET' in (route.methods or {'GET'}) else sorted(route.methods)[0]
        found[f'{method} {path}'] = (concrete, method, path in pages)
    return sorted(found.values())


def allowed(role: str, path: str) -> bool:
    if path.startswith('/admin'):
        return role == 'admin'
    if path.startswith('/staff'):
        return role in ('staff', 'admin')
    return False  # /files with a made-up id, /branding except the public logo


async def refusals(user: User, role: str) -> list[str]:
    """Open every protected route as `role`; return the ones that were not refused as they should be."""
    problems = []
    for path, method, is_page in protected_routes():
        if allowed(role, path):
            continue
        if is_page:
            await user.open(path)
            target = '/login' if role == 'anonymous' else HOME[role]
            if not await landed_on(user, target):
                problems.append(f'{path}: stayed on {user.back_history[-1]} instead of going to {target}')
        else:
            response = await user.http_client.request(method, path, follow_redirects=False)
            if response.status_code not in REFUSED:
                problems.append(f'{method} {path}: answered {response.status_code}')
    return problems


async def test_the_table_covers_the_known_routes(user: User) -> None:
    paths = {path for path, _, _ in protected_routes()}
    assert {'/admin', '/admin/settings', '/admin/accounts', '/admin/audit', '/admin/outbox', '/staff'} <= paths
    assert all(path not in PUBLIC for path in paths)


async def test_anonymous_users_are_refused_everywhere(user: User) -> None:
    assert await refusals(user, 'anonymous') == []


async def test_contacts_reach_no_admin_staff_or_file_route(user: User) -> None:
    await sign_in_as(user, 'contact', 'doc@outside.test')
    assert await refusals(user, 'contact') == []


async def test_staff_reach_no_admin_route(user: User) -> None:
    await sign_in_as(user, 'staff', 'nurse@clinic.test')
    assert await refusals(user, 'staff') == []


async def test_admins_reach_every_admin_page(user: User) -> None:
    await sign_in_as(user, 'admin', 'boss@clinic.test')
    for path, _, is_page in protected_routes():
        if is_page and path.startswith('/admin') and path == re.sub(r'/1(/|$)', r'\1', path):
            await user.open(path)
            assert await landed_on(user, path, settle=0.5), f'{path} sent an admin to {user.back_history[-1]}'


async def test_the_logo_is_public(user: User) -> None:
    response = await user.http_client.get('/branding/logo')
    assert response.status_code == 404  # no logo yet: nothing, but no sign-in demanded either
