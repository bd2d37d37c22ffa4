"""Helpers for page tests with NiceGUI's User fixture."""
from __future__ import annotations

from nicegui.testing import User

from services import db
from tests.factories import PASSWORD

# should_see's default (3 tries, 0.1 s apart) is too short for pages that hash a password or query
# the database on a busy 2-core machine; 50 tries wait up to 5 s and pass as soon as the element shows.
RETRIES = 50


async def sign_in(user: User, username: str, password: str = PASSWORD, *, expect: str | None = None) -> None:
    """Sign in through the real sign-in page."""
    await user.open('/login')
    user.find(marker='username').type(username)
    user.find(marker='password').type(password)
    user.find(marker='sign-in').click()
    if expect:
        await user.should_see(expect, retries=RETRIES)


def seed(fn, **kwargs):
    """Run `fn(session=..., **kwargs)` in a committed transaction on the portal's database."""
    return db.run(fn, **kwargs)
