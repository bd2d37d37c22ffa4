"""Helpers for the admin page tests: sign in as a role and wait patiently on a loaded machine."""
from __future__ import annotations

import asyncio

from nicegui.testing import User

from tests import factories
from tests.portal import seed, sign_in

HOME = {'admin': '/admin', 'staff': '/staff', 'contact': '/'}


async def see(user: User, target: str | None = None, *, marker: str | None = None, seconds: float = 5.0) -> None:
    """Like should_see, but keeps trying for a few seconds (sign-in hashes a password in a thread)."""
    for _ in range(int(seconds / 0.2)):
        try:
            await user.should_see(target, marker=marker, retries=1)
            return
        except AssertionError:
            await asyncio.sleep(0.2)
    await user.should_see(target, marker=marker)


async def landed_on(user: User, path: str, seconds: float = 5.0, settle: float = 0.05) -> bool:
    """Wait until the simulated browser has opened `path` (after redirects by the page check) and stays there."""
    for _ in range(int(seconds / 0.05)):
        if user.back_history and user.back_history[-1].split('?')[0] == path:
            await asyncio.sleep(settle)  # a pending redirect would move on meanwhile
            return user.back_history[-1].split('?')[0] == path
        await asyncio.sleep(0.05)
    return False


async def sign_in_as(user: User, role: str, email: str) -> None:
    """Create an account with `role` and sign in through the real sign-in page."""
    seed(lambda session: factories.account(session, role=role, email=email))
    await sign_in(user, email)
    assert await landed_on(user, HOME[role]), f'sign-in as {role} did not land on {HOME[role]}: {user.back_history}'


async def click(user: User, marker: str) -> None:
    """Click a button once it is enabled (an action keeps its button disabled while it runs and just after)."""
    assert await until(lambda: all(getattr(e, 'enabled', True) for e in user.find(marker=marker).elements)), \
        f'{marker} stayed disabled'
    user.find(marker=marker).click()


async def click_and_see(user: User, marker: str, text: str) -> None:
    """Click a button and wait for a new notification or label containing `text`."""
    user.notify.messages.clear()
    await click(user, marker)
    await see(user, text)


async def until(condition, seconds: float = 5.0) -> bool:
    """Wait until `condition()` is true (page handlers run in the background)."""
    for _ in range(int(seconds / 0.1)):
        if condition():
            return True
        await asyncio.sleep(0.1)
    return condition()
