"""One way to write a page: `@portal_page(path, roles=...)`, and `@file_route(path, roles=...)` for private files.

Both deny by default: the role set is a required argument, and public routes say `roles=PUBLIC`. The decorator
reads the session and settings off the event loop, refuses (and audits) the wrong role, wraps the standard frame,
and hands the builder a `Page` with the actor. `ROUTES` lists every registered route for the route × role test.
"""
from __future__ import annotations

import inspect
from datetime import datetime
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from nicegui import app, context, run, ui

from models.shapes import Actor
from services import db, metrics
from services.errors import PortalError
from services.files import FileContent
from services.settings import PortalSettings

from . import access, actions, nicegui_speedups
from .frame import frame
from .private_files import file_response, no_store

nicegui_speedups.install()  # cheaper per-element work in NiceGUI (issue 15)

# NiceGUI cancels a page whose builder takes longer than its response timeout (3 s by default);
# our builders wait for the database off the event loop, so give a loaded server more room.
PAGE_BUILD_SECONDS = 20.0


@dataclass(frozen=True)
class Route:
    """A registered page or file route and who may open it."""

    path: str
    roles: frozenset[str]
    kind: str  # 'page' | 'file' | 'http'
    terms_gate: bool = True
    others_go_home: bool = False
    methods: tuple[str, ...] = ('GET',)  # plain HTTP endpoints only
    endpoint: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    def register(self) -> None:
        """Add the route to the app (NiceGUI's test runner clears routes between tests, so this runs per start)."""
        if self.kind == 'page':
            ui.page(self.path, response_timeout=PAGE_BUILD_SECONDS)(self.endpoint)
        else:
            app.api_route(self.path, methods=list(self.methods), include_in_schema=False)(self.endpoint)


def public_endpoint(path: str, *, methods: tuple[str, ...] = ('GET',)) \
        -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a plain public HTTP handler `fn(request, **query) -> Response` (no page, no session needed).

    `methods=('POST',)` for a JSON endpoint the portal's own scripts call; such a handler checks who calls itself.
    """
    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        _declare(path, access.PUBLIC, 'http', fn, methods=methods)
        return fn
    return decorator


ROUTES: dict[str, Route] = {}


@dataclass
class Page:
    """What a page builder is given: who is looking, the settings, and the route it was opened as."""

    actor: Actor | None
    settings: PortalSettings
    route: Route
    path: str
    cross_site: bool = False  # opened by a link on another site (the browser's Sec-Fetch-Site says so)
    data: Any = None  # what `portal_page(prefetch=...)` read with the session check

    @property
    def signed_in(self) -> Actor:
        """The actor of a page that requires sign-in (never None there)."""
        assert self.actor is not None
        return self.actor

    async def connected(self) -> None:
        """Wait until the browser has connected: a page changes nothing on a plain GET (prefetchers, scanners),
        only once the person's browser runs it."""
        await context.client.connected()

    async def show_when_seen(self, show: Callable[[Actor], Awaitable[None]], into: ui.element) -> None:
        """Run `show(actor)`, which changes something (marks read, audits a view), only once the person's browser
        runs the page; a page opened from a link on another site first asks for a click (shown in `into`)."""
        if self.cross_site:
            async def on_click(act: actions.Act) -> None:
                await show(act.actor)

            with into:
                ui.label('You followed a link to a secure message.').classes('text-lg')
                actions.button('Show the message', on_click, icon='description').mark('show-message')
            return
        await self.connected()
        await show(self.signed_in)

    def title(self, text: str) -> None:
        """Name the browser tab (e.g. after the document's name)."""
        ui.page_title(f'{text} · {self.settings.portal_name}' if text else self.settings.portal_name)


def portal_page(path: str, *, roles: frozenset[str], title: str = '', terms_gate: bool = True,
                others_go_home: bool = False, prefetch: Callable[..., Any] | None = None,
                ) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., Any]]:
    """Register `builder(page, **route_params)` at `path` for `roles` (access.PUBLIC for anyone).

    `terms_gate=False` lets a contact who has not yet accepted the terms of use open the page;
    `others_go_home=True` sends other signed-in roles to their own start page without a refusal (the '/' link);
    `prefetch=read` runs the service read `read(session, actor=actor)` in the session check's transaction (one
    thread hop for the whole open) when the visitor may see the page; the builder finds it in `page.data`.
    """
    _check_roles(path, roles)

    def decorator(builder: Callable[..., Awaitable[None]]) -> Callable[..., Any]:
        async def open_page(request: Request, **params: Any) -> None:
            visit = await access.visit(request, (route.roles, route.terms_gate, prefetch) if prefetch else None)
            target = await _refusal(route, visit, request)
            if target is not None:
                ui.navigate.to(target)
                return
            actions.bind_page(route.roles)
            page = Page(visit.actor, visit.settings, route, request.url.path,
                        cross_site=request.headers.get('sec-fetch-site') in ('cross-site', 'same-site'),
                        data=visit.data)
            page.title(title)
            with metrics.page_build(route.path), frame(visit.actor, visit.settings, visit.unworked):
                actions.show_flash()
                if visit.enrol_by is not None:
                    enrol_notice(visit.actor, visit.enrol_by)
                await builder(page, **params)

        _copy_signature(builder, open_page)
        route = _declare(path, roles, 'page', open_page, terms_gate=terms_gate, others_go_home=others_go_home)
        return builder
    return decorator


async def _refusal(route: Route, visit: access.Visit, request: Request) -> str | None:
    """Where to send a visitor who may not see this page, or None to build it."""
    actor = visit.actor
    if route.roles == access.PUBLIC:
        return None
    back_to = request.url.path + (f'?{request.url.query}' if request.url.query else '')
    if actor is None and visit.second_step:
        return access.second_step_path(visit.second_step, back_to)  # the password alone opens nothing
    if actor is None:
        return access.login_path(back_to)
    if actor.role not in route.roles and route.others_go_home:
        return access.home_of(actor)
    if actor.role not in route.roles:
        await access.refuse(actor, route.path, f'{actor.role} may not open this page')
        actions.flash('You do not have access to that page.', 'warning')
        return access.home_of(actor)
    if visit.terms_pending and route.terms_gate:
        return '/terms'  # the admin requires terms of use: accepted once, at first sign-in
    return None


def enrol_notice(actor: Actor | None, enrol_by: datetime) -> None:
    """The grace period's notice: a second step is required and not set up yet (nothing is blocked until then)."""
    settings_path = '/settings' if actor is not None and actor.role == 'contact' else '/staff/settings'
    with ui.row().classes('w-full items-center gap-2 p-3 rounded bg-amber-1 text-grey-10').mark('enrol-notice'):
        ui.icon('lock_clock')
        ui.label(f'The clinic requires a second step at sign-in. Set it up by {enrol_by:%d %b %Y}; after that '
                 'date you will have to set it up before anything else opens.').classes('grow')
        ui.link('Set up two-step sign-in', f'{settings_path}#two-step').mark('enrol-link')


def file_route(path: str, *, roles: frozenset[str], inline: tuple[str, ...] = ('application/pdf', 'image/png',
               'image/jpeg')) -> Callable[[Callable[..., FileContent]], Callable[..., FileContent]]:
    """Register `read(actor, **route_params) -> FileContent` (a service call run off the loop) at `path`.

    Anonymous callers get 401, other roles 403 (audited), missing or foreign files 404; never cached.
    Files whose type is in `inline` open in the browser unless `?download=1`.
    """
    _check_roles(path, roles)

    def decorator(read: Callable[..., FileContent]) -> Callable[..., FileContent]:
        async def serve(request: Request, download: bool = False, **params: Any) -> Response:
            ip = request.client.host if request.client else None
            actor = (await access.visit(request)).actor
            if not access.allows(route.roles, actor):
                if actor is not None:
                    await access.refuse(actor, route.path, f'{actor.role} may not open this file', ip)
                return no_store('Sign in to see this file.' if actor is None else 'You may not open this file.',
                                401 if actor is None else 403)
            try:
                content = await run.io_bound(read, actor, **params)
            except PortalError as error:
                return no_store(str(error) if str(error) else 'This file is not available.', 404)
            if content is None:
                return no_store('This file is not available.', 404)
            return file_response(content, inline=not download and content.mime_type in inline)

        _copy_signature(read, serve, extra=[inspect.Parameter('download', inspect.Parameter.KEYWORD_ONLY,
                                                              default=False, annotation=bool)])
        route = _declare(path, roles, 'file', serve, terms_gate=False)
        return read
    return decorator


def _check_roles(path: str, roles: frozenset[str]) -> None:
    if not isinstance(roles, frozenset) or not roles or not (roles == access.PUBLIC or roles <= set(access.ROLES)):
        raise TypeError(f'{path}: declare who may open it: roles=PUBLIC, CONTACT, STAFF, ADMIN or SIGNED_IN')


def _declare(path: str, roles: frozenset[str], kind: str, endpoint: Callable[..., Any], **options: Any) -> Route:
    _check_roles(path, roles)
    previous = ROUTES.get(path)
    if previous is not None and previous.endpoint.__module__ != endpoint.__module__:
        raise ValueError(f'{path} is declared twice ({previous.endpoint.__module__}, {endpoint.__module__})')
    route = Route(path, roles, kind, endpoint=endpoint, **options)
    ROUTES[path] = route
    return route


def _copy_signature(source: Callable[..., Any], target: Callable[..., Any],
                    extra: list[inspect.Parameter] | None = None) -> None:
    """Give `target` the route parameters of `source` (all but its first), so FastAPI parses them."""
    params = list(inspect.signature(source).parameters.values())[1:]
    request = inspect.Parameter('request', inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
    keyword = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params + (extra or [])]
    target.__signature__ = inspect.Signature([request] + keyword)  # type: ignore[attr-defined]
    target.__name__ = getattr(source, '__name__', 'route')
    target.__module__ = source.__module__


def run_read(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """A service read in its own transaction (for `file_route` readers: `return run_read(svc, actor=a, ...)`)."""
    return db.run(fn, **kwargs)
