"""`/staff/settings`: a staff member's (or admin's) own settings: alert emails, password, the time zone shown."""
from __future__ import annotations

from nicegui import ui

from services import contact_accounts, passwords, second_factor, staff_alerts

from .. import access, actions
from ..account_widgets import PASSWORD_CHANGED, password_fields
from ..portal import Page, portal_page
from ..second_factor_widgets import two_step_section


@portal_page('/staff/settings', roles=access.STAFF, title='My settings')
async def staff_settings_page(page: Page) -> None:
    """Alert choices, then the password; each saved on its own."""
    choices = await access.call(staff_alerts.get_choices, actor=page.signed_in)
    ui.label('My settings').classes('text-2xl font-bold').mark('staff-settings')
    ui.label(f'Times in the clinic workspace are shown in {page.settings.time_zone} (the portal\'s time zone, '
             'set by the administrator).').classes('text-sm text-grey-8').mark('time-zone')
    two_step = await access.call(second_factor.status, actor=page.signed_in)
    _alerts_section(choices)
    _password_section(page, page.signed_in.username or '')
    two_step_section(two_step, path='/staff/settings')


def _alerts_section(choices: staff_alerts.AlertChoices) -> None:
    with ui.card().classes('w-full max-w-2xl p-6 gap-3').mark('alerts'):
        ui.label('Email alerts').classes('text-lg font-bold')
        ui.label('Alert emails never name a patient or a contact: they say what happened and link to it.') \
            .classes('text-sm text-grey-8')
        selects = {}
        for event, label in staff_alerts.EVENT_LABELS.items():
            default = staff_alerts.MODE_LABELS[choices.defaults[event]]
            selects[event] = ui.select(staff_alerts.MODE_LABELS, value=choices.modes[event],
                                       label=f'{label} (clinic default: {default})') \
                .classes('w-full').mark(f'alert-{event}')
        with ui.row().classes('gap-4'):
            days = ui.number('Unread after (days)', value=choices.unread_days, min=1, max=365, precision=0,
                             format='%d').classes('w-48').mark('alert-unread-days')
            minutes = ui.number('Digest every (minutes)', value=choices.digest_minutes, min=5, max=7 * 24 * 60,
                                precision=0, format='%d').classes('w-48').mark('alert-digest-minutes')
        message = actions.Message('alerts-message')

        async def save(act: actions.Act) -> None:
            await act.call(staff_alerts.save_choices, modes={e: s.value for e, s in selects.items()},
                           unread_days=days.value if days.value is not None else '',
                           digest_minutes=minutes.value if minutes.value is not None else '')
            act.done('Alert choices saved.')

        actions.button('Save alert choices', save, message=message).mark('save-alerts')


def _password_section(page: Page, username: str) -> None:
    with ui.card().classes('w-full max-w-2xl p-6 gap-3'):
        ui.label('Change password').classes('text-lg font-bold')
        current = ui.input('Current password', password=True, password_toggle_button=True) \
            .props('outlined autocomplete=current-password').classes('w-full').mark('current-password')
        new, confirm, _meter = password_fields(page.settings, lambda: username, label='New password')
        error = actions.Message('password-error')

        async def change(act: actions.Act) -> None:
            await act.call(passwords.hashing(contact_accounts.change_password), current=current.value, new=new.value,
                           confirm=confirm.value)
            act.done(PASSWORD_CHANGED, navigate='/login')

        actions.button('Change password', change, message=error).mark('change-password')
