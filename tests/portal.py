"""Helpers for page tests with NiceGUI's User fixture."""
from __future__ import annotations

from nicegui.testing import User

from services import db
from tests.factories import PASSWORD

# should_see's default (3 tries, 0.1 s apart) is too short for pages that hash a password or query
# the database on a busy 2-core machine; 50 tries wait up to 5 s and pass as soon as the element shows.
RETRIES = 50


async def sign_in(user: User, username: str, password: str = PASSWORD, *, expect: str | None = None) -> None:
    """Sign in through the real sign-in page and wait until it answered: the browser has left the sign-in page
    (the session cookie is set on the way) or the page shows why not."""
    import asyncio
    await user.open('/login')
    user.find(marker='username').type(username)
    user.find(marker='password').type(password)
    user.find(marker='sign-in').click()
    for _ in range(100):
        if user.back_history[-1].split('?')[0] != '/login' or _refusal_shown(user):
            break
        await asyncio.sleep(0.05)
    if expect:
        await user.should_see(expect, retries=RETRIES)


def _refusal_shown(user: User) -> bool:
    try:
        return any(message.text for message in user.find(marker='error').elements)
    except AssertionError:  # not shown (yet)
        return False


async def click(user: User, marker: str, timeout: float = 10.0) -> None:
    """Click the button marked `marker` once it takes clicks: an action disables its button while it runs and
    for a moment after a success (a click meanwhile is ignored as a double click, as in a browser)."""
    import asyncio
    deadline = asyncio.get_running_loop().time() + timeout
    while not next(iter(user.find(marker=marker).elements)).enabled:
        assert asyncio.get_running_loop().time() < deadline, f'{marker} stayed disabled'
        await asyncio.sleep(0.05)
    user.find(marker=marker).click()


def seed(fn, **kwargs):
    """Run `fn(session=..., **kwargs)` in a committed transaction on the portal's database."""
    return db.run(fn, **kwargs)


async def table_rows(user: User, marker: str, *, at_least: int = 1, timeout: float = 5.0) -> list[dict]:
    """The rows of the table marked `marker`, once it has `at_least` rows (page builders may still be loading)."""
    import asyncio
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        table = user.find(marker=marker).elements.pop()
        if len(table.rows) >= at_least or asyncio.get_running_loop().time() > deadline:
            return list(table.rows)
        await asyncio.sleep(0.05)


def portal_header(user: User):
    """The page's header: one element (pages/frame.py PortalHeader) that the browser draws from its props."""
    return next(iter(user.find(marker='portal-header').elements))


def sign_out(user: User) -> None:
    """Press the header's Sign out. The button is drawn inside the header's Vue component, where the simulated user
    cannot click; the button sends the header element's 'sign_out' event, and so does this."""
    header = portal_header(user)
    assert header.props.get('signed_in') and \
        any(listener.type == 'sign_out' for listener in header._event_listeners.values()), \
        'the header shows no Sign out (no one is signed in)'
    user.find(marker='portal-header').trigger('sign_out')
