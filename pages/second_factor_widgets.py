"""Pieces of two-step sign-in the sign-in pages and both settings pages share: the authenticator-app setup (QR
code, the secret to type in, the first code), the recovery codes shown once, and the settings section."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from services import second_factor
from services.second_factor import FactorStatus, TotpSetup

from . import actions
from .frame import heading

CODE_PROPS = 'outlined autocomplete=one-time-code inputmode=numeric spellcheck=false maxlength=10'


def code_input(label: str = '6-digit code', mark: str = 'totp-code') -> ui.input:
    """A field for a one-time code (phones offer the code from a text message or app)."""
    return ui.input(label).props(CODE_PROPS).classes('w-full').mark(mark)


def show_totp_setup(setup: TotpSetup, confirm: Callable[[actions.Act, str], Awaitable[Any]], *,
                    roles: frozenset[str] | None = None) -> None:
    """The QR code and the secret for the authenticator app, then the first code that confirms it."""
    with ui.column().classes('w-full gap-2').mark('totp-setup'):
        ui.label('1. Scan this QR code with your authenticator app (for example Google Authenticator, Microsoft '
                 'Authenticator or 1Password).').classes('text-grey-9')
        image = ui.image(setup.qr_data_url).classes('w-48 h-48 border rounded bg-white').mark('totp-qr')
        image.props['alt'] = 'QR code for your authenticator app'
        ui.label('Cannot scan it? Type this key into the app instead:').classes('text-sm text-grey-8')
        ui.label(setup.secret).classes('font-mono text-base break-all select-all').mark('totp-secret')
        ui.label('2. Enter the 6-digit code the app now shows.').classes('text-grey-9')
        code = code_input('Code from the app', 'totp-confirm-code')

        async def handler(act: actions.Act) -> None:
            await confirm(act, code.value or '')

        actions.button('Confirm and turn on', handler, roles=roles, enter=[code]).mark('confirm-totp')


def show_recovery_codes(codes: list[str]) -> None:
    """The ten recovery codes, once, with download and print."""
    with ui.column().classes('w-full gap-2 border rounded p-3 bg-white').mark('recovery-codes'):
        heading('Your recovery codes', 3).classes('text-base font-bold')
        ui.label('Keep these somewhere safe (print them or save the file). Each one lets you sign in once if you '
                 'lose your phone. They are shown only now.').classes('text-sm text-grey-9')
        with ui.element('ol').classes('grid grid-cols-2 gap-x-6 gap-y-1 font-mono list-decimal pl-6'):
            for code in codes:
                with ui.element('li'):
                    ui.label(code).mark('recovery-code')
        text = 'Recovery codes (each works once)\n\n' + '\n'.join(codes) + '\n'
        with ui.row().classes('gap-2'):
            ui.button('Download', icon='download',
                      on_click=lambda: ui.download(text.encode(), 'recovery-codes.txt', 'text/plain')) \
                .props('outline').mark('download-codes')
            ui.button('Print', icon='print', on_click=lambda: ui.run_javascript('window.print()')) \
                .props('outline').mark('print-codes')


def two_step_section(state: FactorStatus, *, path: str) -> None:
    """`#two-step` on the settings pages: the authenticator app, the recovery codes, a link to the passkeys."""
    if not state.offered:
        return
    with ui.card().classes('w-full max-w-2xl p-6 gap-3').mark('two-step') as card:
        card.props['id'] = 'two-step'
        heading('Two-step sign-in', 2).classes('text-lg font-bold')
        ui.label('After your password, the portal asks for a code from an app on your phone (or a passkey). '
                 'Someone who learns your password still cannot sign in.').classes('text-sm text-grey-8')
        if state.required and not state.totp:
            ui.label('The clinic requires a second step at sign-in.'
                     + (f' Set it up by {state.enrol_by:%d %b %Y}.' if state.enrol_by else '')) \
                .classes('text-sm font-bold').mark('two-step-required')
        _authenticator_rows(state, path)
        ui.link('Passkeys', '/passkeys').mark('passkeys-link')


def _authenticator_rows(state: FactorStatus, path: str) -> None:
    status_text = 'set up' if state.totp else 'not set up'
    ui.label(f'Authenticator app: {status_text}').classes('font-bold').mark('totp-status')
    message = actions.Message('two-step-message')
    setup_area: ui.column  # below the buttons (the handlers run later)

    async def confirm(act: actions.Act, code: str) -> None:
        codes = await act.call(second_factor.confirm_totp, code=code)
        setup_area.clear()
        with setup_area:
            ui.label('The authenticator app is turned on.').classes('text-positive font-bold').mark('totp-on')
            if codes:
                show_recovery_codes(codes)

    async def start(act: actions.Act) -> None:
        setup = await act.call(second_factor.start_totp)
        setup_area.clear()
        with setup_area:
            show_totp_setup(setup, confirm)

    async def remove(act: actions.Act) -> None:
        await act.call(second_factor.remove_totp)
        act.done('The authenticator app was removed.', navigate=path)

    async def regenerate(act: actions.Act) -> None:
        codes = await act.call(second_factor.regenerate_recovery_codes)
        setup_area.clear()
        with setup_area:
            show_recovery_codes(codes)

    with ui.row().classes('gap-2'):
        if state.totp_allowed:
            actions.button('Replace authenticator app' if state.totp else 'Set up authenticator app', start,
                           message=message).mark('start-totp')
        if state.totp:
            actions.button('Remove authenticator app', remove, message=message).props('outline').mark('remove-totp')
    if state.totp:
        ui.label(f'Recovery codes left: {state.recovery_left} of {second_factor.RECOVERY_CODES}') \
            .mark('recovery-left')
        actions.button('New recovery codes', regenerate, message=message).props('outline').mark('regenerate-codes')
    setup_area = ui.column().classes('w-full gap-2')


def passkey_slot() -> ui.column:
    """Where the coordinator puts the "Use a passkey" button (first on the second-step pages)."""
    return ui.column().classes('w-full gap-2').mark('passkey-slot')

