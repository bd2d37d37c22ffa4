"""NiceGUI's HTTP middlewares as plain ASGI middlewares (issue 15: CPU and latency per request).

NiceGUI adds `RedirectWithPrefixMiddleware` and `SetCacheControlMiddleware` always, and `RequestTrackingMiddleware`
with a storage secret (for `app.storage.user`), all written on Starlette's `BaseHTTPMiddleware`, which runs the rest
of the app in a separate task and pipes every answer through a memory stream: on each page open the first two were
about 8% of the server's CPU (py-spy) and the request tracking about 3% (A/B), with several extra turns of the event
loop, each a wait behind everyone else's work when the server is busy. These do the same without the task and the
stream. `install()` puts them in NiceGUI's place before `ui.run` adds them; tests/test_asgi_middlewares.py compares
them with NiceGUI's originals.
"""
from __future__ import annotations

import uuid
from typing import Any

import nicegui.storage
import nicegui.ui_run
from nicegui import core
from nicegui.version import __version__
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request

_STATIC = f'/_nicegui/{__version__}/'
_DYNAMIC = f'/_nicegui/{__version__}/dynamic_resources/'


class RedirectWithPrefix:
    """A redirect's `Location` gets the proxy's `X-Forwarded-Prefix` (as NiceGUI's RedirectWithPrefixMiddleware)."""

    def __init__(self, asgi_app: Any) -> None:
        self.app = asgi_app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        prefix = Headers(scope=scope).get('x-forwarded-prefix', '') if scope['type'] == 'http' else ''
        if not prefix:
            await self.app(scope, receive, send)
            return

        async def send_with_prefix(message: dict[str, Any]) -> None:
            if message['type'] == 'http.response.start':
                headers = MutableHeaders(scope=message)
                location = headers.get('location')
                if location is not None and location.startswith('/'):
                    headers['location'] = prefix + location
            await send(message)

        await self.app(scope, receive, send_with_prefix)


class CacheNiceGuiFiles:
    """NiceGUI's own versioned files get its cache directives (as NiceGUI's SetCacheControlMiddleware)."""

    def __init__(self, asgi_app: Any) -> None:
        self.app = asgi_app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get('path', '')
        if scope['type'] != 'http' or not path.startswith(_STATIC) or path.startswith(_DYNAMIC):
            await self.app(scope, receive, send)
            return

        async def send_with_cache_control(message: dict[str, Any]) -> None:
            if message['type'] == 'http.response.start':
                MutableHeaders(scope=message)['cache-control'] = core.app.config.cache_control_directives
            await send(message)

        await self.app(scope, receive, send_with_cache_control)


class RequestTracking:
    """The request behind `app.storage.user` (as NiceGUI's RequestTrackingMiddleware): the session's id, its user
    storage, and whether the answer has started (after that the browser's session cookie can no longer change)."""

    def __init__(self, asgi_app: Any) -> None:
        self.app = asgi_app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        nicegui.storage.request_contextvar.set(request)
        if 'id' not in request.session:
            request.session['id'] = str(uuid.uuid4())
        request.state.responded = False
        session_id = request.session['id']
        storage = core.app.storage
        storage._active_request_sessions[session_id] += 1  # pylint: disable=protected-access
        try:
            if session_id not in storage._users:  # pylint: disable=protected-access
                await storage._create_user_storage(session_id)  # pylint: disable=protected-access

            async def send_tracked(message: dict[str, Any]) -> None:
                if message['type'] == 'http.response.start':
                    request.state.responded = True  # (where NiceGUI's call_next returns the response)
                await send(message)

            await self.app(scope, receive, send_tracked)
        finally:
            storage._active_request_sessions[session_id] -= 1  # pylint: disable=protected-access
            if storage._active_request_sessions[session_id] <= 0:  # pylint: disable=protected-access
                del storage._active_request_sessions[session_id]  # pylint: disable=protected-access


def install() -> None:
    """Have `ui.run` add these instead of NiceGUI's BaseHTTPMiddleware versions (idempotent)."""
    nicegui.storage.RequestTrackingMiddleware = RequestTracking  # type: ignore[misc, assignment]
    nicegui.ui_run.RedirectWithPrefixMiddleware = RedirectWithPrefix  # type: ignore[misc, assignment]
    nicegui.ui_run.SetCacheControlMiddleware = CacheNiceGuiFiles  # type: ignore[misc, assignment]
