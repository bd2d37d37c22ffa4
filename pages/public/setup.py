"""First start: the one-time setup link creates the first admin (`/setup`)."""
from __future__ import annotations

from nicegui import run, ui

from services import auth
from services.errors import PortalError

from . import guard, page
from .frame import frame_legacy as frame


def register() -> None:
    page('/setup')(setup_page)


async def setup_page(token: str | None = None) -> None:
    """Create the first admin account; the link works once."""
    valid = await guard.call(auth.setup_token_valid, token=token)
    with frame('Set up the portal'):
        with ui.card().classes('w-full max-w-md mx-auto p-6 gap-3'):
            ui.label('Set up the portal').classes('text-2xl font-bold')
            if not valid:
                ui.label('This setup link is not valid any more. If no administrator exists yet, restart the portal: '
                         'it prints a new link.').mark('setup-invalid')
                ui.link('Go to sign in', '/login')
                return
            ui.label('Create the first administrator account. You will use the email to sign in.')
            email = ui.input('Email').props('outlined autocomplete=username').classes('w-full').mark('email')
            password = ui.input('Password', password=True).props('outlined autocomplete=new-password') \
                .classes('w-full').mark('password')
            confirm = ui.input('Repeat password', password=True).props('outlined autocomplete=new-password') \
                .classes('w-full').mark('confirm')
            error = ui.label().classes('text-negative').mark('error')

            async def submit() -> None:
                try:
                    result = await run.io_bound(auth.complete_setup, token=token or '', email=email.value,
                                                password=password.value, confirm=confirm.value,
                                                ip_address=guard.client_ip())
                except PortalError as problem:
                    error.text = str(problem)
                    return
                guard.start_session(result.token)
                ui.navigate.to('/admin')

            ui.button('Create administrator', on_click=submit).classes('w-full').mark('create-admin')

