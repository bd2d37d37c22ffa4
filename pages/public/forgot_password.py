"""`/forgot-password`: an emailed one-time code, then a new password; every session of the account ends."""
from __future__ import annotations

from nicegui import ui

from services import contact_accounts, passwords

from .. import access, actions
from ..account_widgets import PASSWORD_CHANGED, help_desk, password_fields
from ..frame import heading
from ..portal import Page, portal_page


@portal_page('/forgot-password', roles=access.PUBLIC, title='Forgot password')
async def forgot_password_page(page: Page) -> None:
    """Step 1 asks for the email; step 2 takes the code and the new password (same answer for unknown emails)."""
    with ui.card().classes('w-full max-w-md mx-auto p-6 gap-3'):
        heading('Reset your password').classes('text-2xl font-bold')
        ui.label('Enter the email of your portal account. We email you a code to set a new password.') \
            .classes('text-grey-8')
        email = ui.input('Email').props('outlined autocomplete=email type=email autofocus').classes('w-full') \
            .mark('email')
        sent = actions.Message('reset-sent')
        error = actions.Message('reset-error')

        async def request_code(act: actions.Act) -> None:
            sent.clear()
            answer = await act.call(contact_accounts.request_password_reset, email=email.value,
                                    ip_address=access.client_ip())
            sent.success(answer)
            send.text = 'SEND A NEW CODE'
            step_two.set_visibility(True)

        send = actions.button('SEND CODE', request_code, message=error).classes('w-full').props('size=lg') \
            .mark('send-code')
        with ui.column().classes('w-full gap-2') as step_two:
            code = ui.input('Reset code (6 digits)').props('outlined inputmode=numeric autocomplete=one-time-code') \
                .classes('w-full').mark('reset-code')
            password, confirm, _meter = password_fields(page.settings, lambda: email.value or '',
                                                        label='New password')

            async def set_password(act: actions.Act) -> None:
                await act.call(passwords.hashing(contact_accounts.reset_password), email=email.value, code=code.value,
                               password=password.value, confirm=confirm.value, ip_address=access.client_ip())
                act.done(PASSWORD_CHANGED, navigate='/login')

            actions.button('SET NEW PASSWORD', set_password, message=error).classes('w-full').props('size=lg') \
                .mark('reset')
        step_two.set_visibility(False)
        ui.link('Back to sign in', '/login').classes('text-sm')
        help_desk(page.settings.help_desk_phone)
