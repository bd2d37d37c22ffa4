"""First start: the one-time setup link creates the first admin (`/setup`)."""
from __future__ import annotations

from nicegui import ui

from services import auth, passwords

from .. import access, actions
from ..frame import heading
from ..portal import Page, portal_page


@portal_page('/setup', roles=access.PUBLIC, title='Set up the portal')
async def setup_page(page: Page, token: str | None = None) -> None:
    """Create the first admin account; the link works once."""
    valid = await access.call(auth.setup_token_valid, token=token)
    with ui.card().classes('w-full max-w-md mx-auto p-6 gap-3'):
        heading('Set up the portal').classes('text-2xl font-bold')
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
        error = actions.Message('error')

        async def submit(act: actions.Act) -> None:
            result = await act.call(passwords.hashing(auth.complete_setup), token=token or '', email=email.value,
                                    password=password.value, confirm=confirm.value, ip_address=access.client_ip())
            act.done(navigate=access.start_session(result.token, '/admin'))

        actions.button('Create administrator', submit, message=error) \
            .classes('w-full').mark('create-admin')
