"""NiceGUI's two always-on middlewares, as plain ASGI middlewares (pages/asgi_middlewares.py), answer exactly as
NiceGUI's own BaseHTTPMiddleware versions."""
from __future__ import annotations

from nicegui import core
from nicegui.middlewares import RedirectWithPrefixMiddleware, SetCacheControlMiddleware
from nicegui.version import __version__
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route
from starlette.testclient import TestClient

import nicegui.ui_run
from pages import asgi_middlewares

PATHS = ['/go', '/go-away', '/plain', f'/_nicegui/{__version__}/static/app.js',
         f'/_nicegui/{__version__}/dynamic_resources/x.js', '/_nicegui/0.0.1/static/old.js']


def _app(redirect: type, cache: type) -> TestClient:
    routes = [Route('/go', lambda request: RedirectResponse('/there', status_code=303)),
              Route('/go-away', lambda request: RedirectResponse('https://elsewhere.test/x', status_code=302)),
              Route('/{path:path}', lambda request: PlainTextResponse('file'))]
    app = Starlette(routes=routes, middleware=[Middleware(cache), Middleware(redirect)])
    return TestClient(app, follow_redirects=False)


def _answers(client: TestClient) -> list[tuple[int, str | None, str | None, str]]:
    answers = []
    for path in PATHS:
        for headers in ({}, {'X-Forwarded-Prefix': '/portal'}):
            response = client.get(path, headers=headers)
            answers.append((response.status_code, response.headers.get('location'),
                            response.headers.get('cache-control'), response.text))
    return answers


def test_the_plain_middlewares_answer_as_nicegui_own(monkeypatch) -> None:
    monkeypatch.setattr(core.app.config, 'cache_control_directives', 'public, max-age=31536000, immutable',
                        raising=False)  # (ui.run sets it)
    ours = _answers(_app(asgi_middlewares.RedirectWithPrefix, asgi_middlewares.CacheNiceGuiFiles))
    theirs = _answers(_app(RedirectWithPrefixMiddleware, SetCacheControlMiddleware))
    assert ours == theirs
    assert ('/portal/there' in [location for _, location, _, _ in ours]
            and core.app.config.cache_control_directives in [cache for _, _, cache, _ in ours])


def test_ui_run_adds_the_plain_ones() -> None:
    asgi_middlewares.install()
    assert nicegui.ui_run.RedirectWithPrefixMiddleware is asgi_middlewares.RedirectWithPrefix
    assert nicegui.ui_run.SetCacheControlMiddleware is asgi_middlewares.CacheNiceGuiFiles


def _tracking_app(tracking: type, seen: list[tuple[str, bool, bool]]) -> TestClient:
    from nicegui import storage
    from starlette.background import BackgroundTask
    from starlette.middleware.sessions import SessionMiddleware

    def after(request) -> None:  # runs after the answer has started
        seen.append(('after', request.state.responded, request.session['id'] in core.app.storage._users))

    def page(request) -> PlainTextResponse:
        tracked = storage.request_contextvar.get()
        seen.append((tracked.session['id'], tracked.state.responded,
                     core.app.storage._active_request_sessions[tracked.session['id']] == 1))
        return PlainTextResponse('page', background=BackgroundTask(after, request))

    app = Starlette(routes=[Route('/page', page)],
                    middleware=[Middleware(SessionMiddleware, secret_key='test secret'), Middleware(tracking)])
    return TestClient(app)


def test_the_plain_request_tracking_answers_as_nicegui_own(monkeypatch, tmp_path) -> None:
    from nicegui.storage import RequestTrackingMiddleware, Storage
    monkeypatch.setattr(Storage, 'path', tmp_path)
    answers = {}
    for name, tracking in (('ours', asgi_middlewares.RequestTracking), ('theirs', RequestTrackingMiddleware)):
        seen: list[tuple[str, bool, bool]] = []
        with _tracking_app(tracking, seen) as client:
            first = client.get('/page')
            client.get('/page')  # the same browser: the session cookie carries the id
        session_id = seen[0][0]
        assert seen[1:] == [('after', True, True), (session_id, False, True), ('after', True, True)]
        assert session_id in core.app.storage._users and 'set-cookie' in first.headers and first.text == 'page'
        assert session_id not in core.app.storage._active_request_sessions
        answers[name] = [(responded, counted) for _, responded, counted in seen]
    assert answers['ours'] == answers['theirs']


def test_ui_run_adds_the_plain_request_tracking() -> None:
    from nicegui import storage
    asgi_middlewares.install()
    assert storage.RequestTrackingMiddleware is asgi_middlewares.RequestTracking
