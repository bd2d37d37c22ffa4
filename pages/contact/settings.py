"""`/settings` for contacts: add an activation code, change the password, email notifications;
`/terms`: the terms of use a contact accepts at first sign-in when the admin requires it."""
from __future__ import annotations

from nicegui import ui

from services import contact_accounts, passwords, second_factor

from .. import access, actions
from ..account_widgets import PASSWORD_CHANGED, password_fields
from ..frame import heading
from ..portal import Page, portal_page
from ..second_factor_widgets import two_step_section


@portal_page('/settings', roles=access.CONTACT, title='Settings')
async def settings_page(page: Page) -> None:
    """Three sections, each saved on its own."""
    prefs = await access.call(contact_accounts.preferences, actor=page.signed_in)
    two_step = await access.call(second_factor.status, actor=page.signed_in)
    heading('Settings').classes('text-2xl font-bold')
    _add_code_section()
    _password_section(page, prefs.username)
    two_step_section(two_step, path='/settings')
    _notifications_section(prefs.notify_mode)


def _add_code_section() -> None:
    with ui.card().classes('w-full max-w-xl p-6 gap-3'):
        heading('Add an activation code', 2).classes('text-lg font-bold')
        ui.label('Got another invitation? Add its code to see those documents in this account too.') \
            .classes('text-grey-8')
        code = ui.input('Activation code', placeholder='XXXX-XXXX-XXXX-XXXX') \
            .props('outlined autocomplete=off spellcheck=false').classes('w-full').mark('settings-code')
        added = actions.Message('code-success')
        error = actions.Message('code-error')

        async def add_code(act: actions.Act) -> None:
            added.clear()
            message = await act.call(contact_accounts.link_code, code=code.value or '', ip_address=access.client_ip())
            code.value = ''
            added.success(message)

        actions.button('ADD CODE', add_code, message=error, enter=[code]).mark('add-code')


def _password_section(page: Page, username: str) -> None:
    with ui.card().classes('w-full max-w-xl p-6 gap-3'):
        heading('Change password', 2).classes('text-lg font-bold')
        current = ui.input('Current password', password=True, password_toggle_button=True) \
            .props('outlined autocomplete=current-password').classes('w-full').mark('current-password')
        new, confirm, _meter = password_fields(page.settings, lambda: username, label='New password')
        error = actions.Message('password-error')

        async def change(act: actions.Act) -> None:
            await act.call(passwords.hashing(contact_accounts.change_password), current=current.value, new=new.value,
                           confirm=confirm.value)
            act.done(PASSWORD_CHANGED, navigate='/login')

        actions.button('CHANGE PASSWORD', change, message=error).mark('change-password')


def _notifications_section(mode: str) -> None:
    with ui.card().classes('w-full max-w-xl p-6 gap-3'):
        ui.label('Email notifications').classes('text-lg font-bold')
        ui.label('When a new document arrives, email me:').classes('text-grey-8')
        choice = ui.radio(contact_accounts.NOTIFY_MODES, value=mode).mark('notify-mode')

        async def save_mode(act: actions.Act) -> None:
            await act.call(contact_accounts.set_notify_mode, mode=act.event.value)
            act.done('Saved.')

        choice.on_value_change(actions.Action(save_mode, triggers=[choice], message=actions.Message('notify-message'),
                                              queue=True))


@portal_page('/terms', roles=access.CONTACT, title='Terms of use', terms_gate=False)
async def terms_page(page: Page) -> None:
    """The terms of use; every other contact page sends a contact here until they accept."""
    text = await access.call(contact_accounts.terms_text)
    with ui.card().classes('w-full max-w-2xl mx-auto p-6 gap-3'):
        ui.label('Terms of use').classes('text-2xl font-bold')
        ui.label('Please read and accept the terms of use before you continue.').classes('text-grey-8')
        ui.label(text).classes('whitespace-pre-wrap border rounded p-3 bg-white max-h-96 overflow-auto') \
            .mark('terms-text')

        async def accept(act: actions.Act) -> None:
            await act.call(contact_accounts.accept_terms)
            act.done(navigate=access.home_of(act.actor))

        with ui.row():
            actions.button('I ACCEPT', accept).mark('accept-terms')
            ui.button('Sign out', on_click=access.sign_out).props('flat')
