"""Pages opened without a session cookie are built a few at a time (pages/page_turns.py): a burst of them queues
behind itself, never in front of a signed-in person's page; files, scripts and the API never wait."""
from __future__ import annotations

import asyncio
import importlib
import pkgutil
from typing import Any

import pages
from pages import access, page_turns

for _module in pkgutil.walk_packages(pages.__path__, prefix='pages.'):
    importlib.import_module(_module.name)  # each page module declares its routes


def _scope(path: str = '/login', cookie: str = '', method: str = 'GET', kind: str = 'http') -> dict[str, Any]:
    headers = [(b'cookie', cookie.encode())] if cookie else []
    return {'type': kind, 'method': method, 'path': path, 'headers': headers}


class _Pages:
    """A stand-in for the app behind the middleware: logs each page it builds, holds it until `finish` is set."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.finish = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.log.append(scope['path'] + ('' if not scope['headers'] else ' (signed in)'))
        if scope['path'] == '/login':
            await self.finish.wait()
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
        await send({'type': 'http.response.body', 'body': b'page'})


async def _nothing(message: dict[str, Any]) -> None:
    pass


def test_only_page_opens_without_a_session_cookie_wait() -> None:
    session = f'theme=dark; {access.SESSION_COOKIE}=a-token'
    assert page_turns.waits_for_a_turn(_scope('/login'))
    assert page_turns.waits_for_a_turn(_scope('/registration/abc123'))  # a page with a path parameter
    assert page_turns.waits_for_a_turn(_scope('/', cookie='theme=dark'))  # another cookie is no session
    assert not page_turns.waits_for_a_turn(_scope('/', cookie=session))
    for path in ('/assets/portal.js', '/api/v1/charts', '/_nicegui/client/abc', '/health/live', '/login/extra'):
        assert not page_turns.waits_for_a_turn(_scope(path)), path
    assert not page_turns.waits_for_a_turn(_scope('/login', method='POST'))
    assert not page_turns.waits_for_a_turn(_scope('/login', kind='websocket'))


async def test_a_burst_of_anonymous_pages_waits_and_signed_in_pages_go_first() -> None:
    behind = _Pages()
    middleware = page_turns.AnonymousPageTurns(behind)
    burst = [asyncio.create_task(middleware(_scope('/login'), None, _nothing)) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert behind.log == ['/login'] * page_turns.AT_ONCE  # the rest wait before the page is even started
    signed_in = _scope('/', cookie=f'{access.SESSION_COOKIE}=a-token')
    await asyncio.wait_for(middleware(signed_in, None, _nothing), 1)
    assert behind.log[-1] == '/ (signed in)'  # not queued behind the burst
    behind.finish.set()
    await asyncio.wait_for(asyncio.gather(*burst), 1)
    assert behind.log.count('/login') == 5


async def test_a_turn_is_given_back_when_the_answer_starts_and_after_a_failure() -> None:
    async def failing(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise ValueError('the page failed')

    middleware = page_turns.AnonymousPageTurns(failing)
    for _ in range(page_turns.AT_ONCE + 1):
        try:
            await asyncio.wait_for(middleware(_scope(), None, _nothing), 1)
        except ValueError:
            pass
    started = asyncio.Event()

    async def slow_sender(message: dict[str, Any]) -> None:
        if message['type'] == 'http.response.body':
            started.set()
            await asyncio.sleep(0.2)  # a slow network: the page is built, its turn is not needed any more

    sending = [asyncio.create_task(page_turns.AnonymousPageTurns(_Pages())(_scope('/'), None, slow_sender))
               for _ in range(page_turns.AT_ONCE)]
    await asyncio.wait_for(started.wait(), 1)
    turns = page_turns._turns[asyncio.get_running_loop()]
    assert not turns.locked()  # every turn is back while the answers are still being sent
    await asyncio.gather(*sending)
