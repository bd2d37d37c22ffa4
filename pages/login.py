"""Sign-in for everyone (`/login`) and the landing pages each role reaches after it."""
from __future__ import annotations

from nicegui import run, ui

from services import auth

from . import guard, page
from .frame import frame


def register() -> None:
    page('/login')(login_page)


async def login_page(next: str | None = None) -> None:  # noqa: A002  (query parameter name)
    """Username and password; one generic message for every failure."""
    actor = await guard.current_actor()
    if actor is not None:
        ui.navigate.to(guard.safe_next(next) or guard.home_of(actor))
        return
    with frame('Sign in'):
        with ui.card().classes('w-full max-w-md mx-auto p-6 gap-3'):
            ui.label('Sign in').classes('text-2xl font-bold')
            username = ui.input('Username (your email)').props('autocomplete=username outlined autofocus') \
                .classes('w-full').mark('username')
            password = ui.input('Password', password=True, password_toggle_button=True) \
                .props('autocomplete=current-password outlined').classes('w-full').mark('password')
            error = ui.label().classes('text-negative').mark('error')
            error.set_visibility(False)

            async def submit() -> None:
                if not username.value.strip() or not password.value:
                    error.text = 'Enter your username and password.'
                    error.set_visibility(True)
                    return
                button.disable()
                try:
                    result = await run.io_bound(auth.sign_in, username=username.value, password=password.value,
                                                ip_address=guard.client_ip())
                finally:
                    button.enable()
                if result is None:
                    password.value = ''
                    error.text = auth.SIGN_IN_FAILED
                    error.set_visibility(True)
                    return
                guard.start_session(result.token)
                ui.navigate.to(guard.safe_next(next) or guard.home_of(result.actor))

            password.on('keydown.enter', submit)
            username.on('keydown.enter', submit)
            button = ui.button('Sign in', on_click=submit).classes('w-full').props('size=lg').mark('sign-in')
            with ui.row().classes('w-full justify-between text-sm'):
                ui.link('Forgot password?', '/forgot-password')
                ui.link('I have an activation code', '/activate')
