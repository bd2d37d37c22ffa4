"""`/settings` for contacts: add an activation code, change the password, email notifications;
`/terms`: the terms of use a contact accepts at first sign-in when the admin requires it."""
from __future__ import annotations

from nicegui import app, run, ui

from services import contact_accounts
from services.errors import PortalError
from services.settings import get_settings

from . import guard, page
from .account_widgets import error_label, password_fields, show
from .frame import frame_legacy as frame


def register() -> None:
    page('/settings')(settings_page)
    page('/terms')(terms_page)


async def settings_page() -> None:
    """Three sections, each saved on its own."""
    actor = await guard.require('contact')
    if actor is None:
        return
    prefs = await guard.call(contact_accounts.preferences, actor=actor)
    settings = get_settings()
    with frame('Settings', actor):
        ui.label('Settings').classes('text-2xl font-bold')
        with ui.card().classes('w-full max-w-xl p-6 gap-3'):
            ui.label('Add an activation code').classes('text-lg font-bold')
            ui.label('Got another invitation? Add its code to see those documents in this account too.') \
                .classes('text-grey-8')
            code = ui.input('Activation code', placeholder='XXXX-XXXX-XXXX-XXXX') \
                .props('outlined autocomplete=off spellcheck=false').classes('w-full').mark('settings-code')
            code_ok = error_label('code-success', classes='text-positive')
            code_error = error_label('code-error')

            async def add_code() -> None:
                current = await guard.require('contact')
                if current is None:
                    return
                code_ok.set_visibility(False)
                code_error.set_visibility(False)
                try:
                    message = await run.io_bound(contact_accounts.link_code, actor=current, code=code.value or '',
                                                 ip_address=guard.client_ip())
                except PortalError as problem:
                    show(code_error, str(problem))
                    return
                code.value = ''
                show(code_ok, message)

            code.on('keydown.enter', add_code)
            ui.button('ADD CODE', on_click=add_code).mark('add-code')

        with ui.card().classes('w-full max-w-xl p-6 gap-3'):
            ui.label('Change password').classes('text-lg font-bold')
            current_password = ui.input('Current password', password=True, password_toggle_button=True) \
                .props('outlined autocomplete=current-password').classes('w-full').mark('current-password')
            new, confirm, _meter = password_fields(settings, lambda: prefs.username, label='New password')
            password_error = error_label('password-error')

            async def change() -> None:
                current = await guard.require('contact')
                if current is None:
                    return
                try:
                    await run.io_bound(contact_accounts.change_password, actor=current, current=current_password.value,
                                       new=new.value, confirm=confirm.value)
                except PortalError as problem:
                    show(password_error, str(problem))
                    return
                app.storage.user.pop(guard.SESSION_KEY, None)  # every session ended with the change
                ui.notify('Your password was changed. Sign in with the new password.', type='positive')
                ui.navigate.to('/login')

            ui.button('CHANGE PASSWORD', on_click=change).mark('change-password')

        with ui.card().classes('w-full max-w-xl p-6 gap-3'):
            ui.label('Email notifications').classes('text-lg font-bold')
            ui.label('When a new document arrives, email me:').classes('text-grey-8')

            async def save_mode(event) -> None:
                current = await guard.require('contact')
                if current is None:
                    return
                try:
                    await guard.call(contact_accounts.set_notify_mode, actor=current, mode=event.value)
                except PortalError as problem:
                    ui.notify(str(problem), type='negative')
                    return
                ui.notify('Saved.', type='positive')

            ui.radio(contact_accounts.NOTIFY_MODES, value=prefs.notify_mode, on_change=save_mode).mark('notify-mode')


async def terms_page() -> None:
    """The terms of use; the guard sends contacts here until they accept."""
    actor = await guard.current_actor()
    if actor is None:
        ui.navigate.to('/login')
        return
    text = await guard.call(contact_accounts.terms_text)
    with frame('Terms of use', actor):
        with ui.card().classes('w-full max-w-2xl mx-auto p-6 gap-3'):
            ui.label('Terms of use').classes('text-2xl font-bold')
            ui.label('Please read and accept the terms of use before you continue.').classes('text-grey-8')
            ui.label(text).classes('whitespace-pre-wrap border rounded p-3 bg-white max-h-96 overflow-auto') \
                .mark('terms-text')

            async def accept() -> None:
                current = await guard.current_actor()
                if current is None:
                    ui.navigate.to('/login')
                    return
                await guard.call(contact_accounts.accept_terms, actor=current)
                ui.navigate.to(guard.home_of(current))

            with ui.row():
                ui.button('I ACCEPT', on_click=accept).mark('accept-terms')
                ui.button('Sign out', on_click=guard.sign_out).props('flat')
