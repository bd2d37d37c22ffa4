"""Sign-in for everyone (`/login`); each role then lands on its own start page."""
from __future__ import annotations

from fastapi import Request, Response
from nicegui import ui

from services import auth, passwords

from .. import access, actions
from ..account_widgets import Credentials
from ..frame import heading
from ..passkey_widgets import sign_in_button
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
        heading('Sign in').classes('text-2xl font-bold')
        fields = Credentials(autofocus=True)
        error = actions.Message('error')

        async def sign_in(act: actions.Act) -> None:
            fields.check(act)
            result = await act.run(passwords.hashing(auth.sign_in), username=fields.username.value,
                                   password=fields.password.value, ip_address=access.client_ip())
            if result is None:
                fields.refused(act, auth.SIGN_IN_FAILED)
            act.done(navigate=access.start_session(result.token, access.safe_next(next) or access.home_of(result.actor)))

        actions.button('Sign in', sign_in, message=error, enter=[fields.username, fields.password]) \
            .classes('w-full').props('size=lg').mark('sign-in')
        if page.settings.second_factor_passkey:
            sign_in_button(next).classes('w-full')  # passwordless: a passkey is both factors
        with ui.row().classes('w-full justify-between text-sm'):
            ui.link('Forgot password?', '/forgot-password')
            ui.link('I have an activation code', '/activate')
