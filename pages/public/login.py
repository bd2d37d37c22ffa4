"""Sign-in for everyone (`/login`); each role then lands on its own start page."""
from __future__ import annotations

from fastapi import Request, Response
from nicegui import ui

from services import auth

from .. import access, actions
from ..portal import Page, portal_page, public_endpoint


@public_endpoint('/session/start')
def session_start(request: Request, ticket: str | None = None, next: str | None = None) -> Response:  # noqa: A002
    """Set the session cookie from the one-time ticket a sign-in issued, then go on."""
    return access.cookie_response(request, ticket, next)


@portal_page('/login', roles=access.PUBLIC, title='Sign in')
async def login_page(page: Page, next: str | None = None) -> None:  # noqa: A002  (query parameter name)
    """Username and password; one generic message for every failure."""
    if page.actor is not None:
        ui.navigate.to(access.safe_next(next) or access.home_of(page.actor))
        return
    with ui.card().classes('w-full max-w-md mx-auto p-6 gap-3'):
        ui.label('Sign in').classes('text-2xl font-bold')
        username = ui.input('Username (your email)').props('autocomplete=username outlined autofocus') \
            .classes('w-full').mark('username')
        password = ui.input('Password', password=True, password_toggle_button=True) \
            .props('autocomplete=current-password outlined').classes('w-full').mark('password')
        error = actions.Message('error')

        async def sign_in(act: actions.Act) -> None:
            if not username.value.strip() or not password.value:
                act.fail('Enter your username and password.')
            result = await act.run(auth.sign_in, username=username.value, password=password.value,
                                   ip_address=access.client_ip())
            if result is None:
                password.value = ''
                act.fail(auth.SIGN_IN_FAILED)
            act.done(navigate=access.start_session(result.token, access.safe_next(next) or access.home_of(result.actor)))

        actions.button('Sign in', sign_in, message=error, enter=[username, password]) \
            .classes('w-full').props('size=lg').mark('sign-in')
        with ui.row().classes('w-full justify-between text-sm'):
            ui.link('Forgot password?', '/forgot-password')
            ui.link('I have an activation code', '/activate')
