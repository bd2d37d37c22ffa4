"""Pages opened without a session cookie (sign-in, forgot password, activation and registration links) are built one
at a time, so a burst of them (everyone signing in at nine, or a bot) queues behind itself instead of in
front of signed-in people's pages on the one event loop (issue 15: "sign-ins that never stall others").

An ASGI middleware, so the wait comes before NiceGUI creates the page's client: the turn is held from there
through building and rendering the page, and given back as the answer starts. Signed-in visitors (a session cookie)
and everything that is not a page (files, scripts, the API, websockets) never wait here. It is a fairness rule, not
a protection: a visitor who sends any session cookie goes the signed-in way and is checked there as usual.
"""
from __future__ import annotations

import asyncio
import re
import weakref
from functools import lru_cache
from typing import Any

from starlette.requests import HTTPConnection

from .access import SESSION_COOKIE
from .portal import ROUTES

AT_ONCE = 1  # tried 2: another contact's p99 during 20 sign-ins was 30-50 ms higher; 1 still builds ~90 a second
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _pattern(path: str) -> str:
    return re.sub(r'\\\{[^}]+\\\}', '[^/]+', re.escape(path))


def _page_paths() -> re.Pattern[str]:
    return _compiled(tuple(sorted(route.path for route in ROUTES.values() if route.kind == 'page')))


@lru_cache(maxsize=4)
def _compiled(paths: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile('|'.join(_pattern(path) for path in paths))


def waits_for_a_turn(scope: dict[str, Any]) -> bool:
    """True for a GET of a portal page without the portal's session cookie."""
    if scope['type'] != 'http' or scope.get('method') != 'GET':
        return False
    if HTTPConnection(scope).cookies.get(SESSION_COOKIE):  # read as access.visit reads it
        return False
    return _page_paths().fullmatch(scope.get('path', '')) is not None


class AnonymousPageTurns:
    """ASGI middleware: at most AT_ONCE pages for visitors without a session cookie are built at once."""

    def __init__(self, asgi_app: Any) -> None:
        self.app = asgi_app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not waits_for_a_turn(scope):
            await self.app(scope, receive, send)
            return
        turns = _turns.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(AT_ONCE))
        await turns.acquire()
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                turns.release()

        async def send_then_give_back(message: dict[str, Any]) -> None:
            if message['type'] == 'http.response.start':
                give_back()  # the page is built and rendered; sending it needs no turn
            await send(message)

        try:
            await self.app(scope, receive, send_then_give_back)
        finally:
            give_back()
