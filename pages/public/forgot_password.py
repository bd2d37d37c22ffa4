"""`/forgot-password`: an emailed one-time code, then a new password; every session of the account ends."""
from __future__ import annotations

from nicegui import app, run, ui

from services import contact_accounts
from services.errors import PortalError
from services.settings import get_settings

from . import guard, page
from .account_widgets import error_label, help_desk, password_fields, show
from .frame import frame_legacy as frame


def register() -> None:
    page('/forgot-password')(forgot_password_page)


async def forgot_password_page() -> None:
    """Step 1 asks for the email; step 2 takes the code and the new password (same answer for unknown emails)."""
    settings = get_settings()
    with frame('Forgot password'):
        with ui.card().classes('w-full max-w-md mx-auto p-6 gap-3'):
            ui.label('Reset your password').classes('text-2xl font-bold')
            ui.label('Enter the email of your portal account. We email you a code to set a new password.') \
                .classes('text-grey-8')
            email = ui.input('Email').props('outlined autocomplete=email type=email autofocus').classes('w-full') \
                .mark('email')
            answer = error_label('reset-sent', classes='text-positive')
            error = error_label('reset-error')
            send = ui.button('SEND CODE').classes('w-full').props('size=lg').mark('send-code')
            with ui.column().classes('w-full gap-2') as step_two:
                code = ui.input('Reset code (6 digits)').props('outlined inputmode=numeric autocomplete=one-time-code') \
                    .classes('w-full').mark('reset-code')
                password, confirm, _meter = password_fields(settings, lambda: email.value or '', label='New password')
                reset = ui.button('SET NEW PASSWORD').classes('w-full').props('size=lg').mark('reset')
            step_two.set_visibility(False)
            ui.link('Back to sign in', '/login').classes('text-sm')
            help_desk(settings.help_desk_phone)

    async def request_code() -> None:
        error.set_visibility(False)
        try:
            message = await run.io_bound(contact_accounts.request_password_reset, email=email.value,
                                         ip_address=guard.client_ip())
        except PortalError as problem:
            show(error, str(problem))
            return
        show(answer, message)
        send.text = 'SEND A NEW CODE'
        step_two.set_visibility(True)

    async def set_password() -> None:
        error.set_visibility(False)
        try:
            await run.io_bound(contact_accounts.reset_password, email=email.value, code=code.value,
                               password=password.value, confirm=confirm.value, ip_address=guard.client_ip())
        except PortalError as problem:
            show(error, str(problem))
            return
        app.storage.user.pop(guard.SESSION_KEY, None)  # the session row is gone already
        ui.notify('Your password was changed. Sign in with the new password.', type='positive')
        ui.navigate.to('/login')

    send.on_click(request_code)
    reset.on_click(set_password)
