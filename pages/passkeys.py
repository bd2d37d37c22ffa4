"""`/passkeys`: your passkeys (add, rename, remove); and the JSON endpoints the passkey script talks to.

The endpoints answer only the portal's own script: a POST with the `X-SMP-Passkey: 1` header (a cross-site page
cannot send it without a preflight the portal never grants) from the portal's own origin (SMP_BASE_URL), for the
ceremony the page of that browser tab began. Enrolment also needs the session cookie that began it.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from nicegui import run, ui

from services import db, passkeys
from services.errors import Forbidden, NotAvailable, PortalError

from . import access, actions
from .frame import heading
from .passkey_widgets import enrol, use_script
from .portal import Page, portal_page, public_endpoint

BODY_MAX = passkeys.MAX_RESPONSE_CHARS + 1024


def _refused(code: str, status: int) -> JSONResponse:
    return JSONResponse({'ok': False, 'code': code}, status_code=status, headers={'Cache-Control': 'no-store'})


async def _payload(request: Request) -> dict[str, Any] | JSONResponse:
    """The JSON body of a call from the portal's own passkey script, or the refusal to answer."""
    if request.headers.get('x-smp-passkey') != '1' or \
            not request.headers.get('content-type', '').startswith('application/json'):
        return _refused('error', 403)
    body = await request.body()
    if len(body) > BODY_MAX:
        return _refused('error', 413)
    try:
        payload = json.loads(body)
    except ValueError:
        return _refused('error', 400)
    if not isinstance(payload, dict) or not isinstance(payload.get('client'), str):
        return _refused('error', 400)
    return payload


def _same_origin(origin: str | None) -> bool:
    return bool(origin) and origin.lower() == passkeys.relying_party().origin.lower()


def _options(origin: str | None, binding: str, token: str | None) -> dict[str, Any] | JSONResponse:
    if not _same_origin(origin):
        return _refused('error', 403)
    try:
        return db.run(passkeys.options_for, binding=binding, session_token=token)
    except Forbidden:
        return _refused('signin', 403)
    except NotAvailable:
        return _refused('expired', 404)


def _verify(origin: str | None, binding: str, token: str | None, credential: Any, ip: str | None) -> JSONResponse:
    if not _same_origin(origin):
        return _refused('error', 403)
    try:
        result = passkeys.verify_response(binding=binding, session_token=token, credential=credential, ip_address=ip)
    except Forbidden:
        return _refused('signin', 403)
    except PortalError:
        return _refused('failed', 400)
    return JSONResponse({'ok': result.ok, 'code': result.code}, headers={'Cache-Control': 'no-store'})


@public_endpoint('/passkeys/options', methods=('POST',))
async def passkey_options(request: Request) -> Response:
    """The WebAuthn options for the ceremony this browser tab's page began (JSON)."""
    payload = await _payload(request)
    if isinstance(payload, JSONResponse):
        return payload
    answer = await run.io_bound(_options, request.headers.get('origin'), payload['client'],
                                request.cookies.get(access.SESSION_COOKIE))
    return answer if isinstance(answer, Response) else JSONResponse(answer, headers={'Cache-Control': 'no-store'})


@public_endpoint('/passkeys/verify', methods=('POST',))
async def passkey_verify(request: Request) -> Response:
    """Check the authenticator's answer for this tab's ceremony; `{"ok": true}` or `{"ok": false, "code": ...}`."""
    payload = await _payload(request)
    if isinstance(payload, JSONResponse):
        return payload
    return await run.io_bound(_verify, request.headers.get('origin'), payload['client'],
                              request.cookies.get(access.SESSION_COOKIE), payload.get('credential'),
                              request.client.host if request.client else None)


# ----------------------------------------------------------------------------- the page

@portal_page('/passkeys', roles=access.SIGNED_IN, title='Passkeys')
async def passkeys_page(page: Page) -> None:
    """Your passkeys with name, added and last used; add one (named), rename or remove each."""
    use_script()
    zone = _zone(page.settings.time_zone)
    heading('Passkeys').classes('text-2xl font-bold')
    ui.label('A passkey signs you in with your fingerprint, face, screen lock or a security key, instead of typing '
             'your password. It stays on your device; the portal keeps only a public key.').classes('text-grey-8')
    message = actions.Message('passkeys-message')

    @ui.refreshable
    async def listing() -> None:
        rows = await actions.read(passkeys.list_passkeys)
        if rows is None:
            return
        with ui.card().classes('w-full max-w-2xl p-6 gap-3').mark('passkey-list'):
            heading('Your passkeys', 2).classes('text-lg font-bold')
            if not rows:
                ui.label('You have no passkeys yet.').classes('text-grey-8').mark('no-passkeys')
            for row in rows:
                _passkey_row(row, zone, message, listing)

    await listing()
    with ui.card().classes('w-full max-w-2xl p-6 gap-3'):
        heading('Add a passkey', 2).classes('text-lg font-bold')
        ui.label('Name it after the device or key, so you can tell your passkeys apart. Your browser then asks you '
                 'to confirm with your fingerprint, face, screen lock or security key.').classes('text-grey-8')
        name = ui.input('Passkey name', placeholder='e.g. Work laptop').props('outlined maxlength=100') \
            .classes('w-full').mark('passkey-name')

        async def add(act: actions.Act) -> None:
            await enrol(act, name.value or '')
            added = name.value.strip()
            name.value = ''
            listing.refresh()
            act.done(f'Passkey "{added}" added.')

        actions.button('Add a passkey', add, icon='add', message=message, enter=[name]).mark('add-passkey')


def _passkey_row(row: passkeys.PasskeyInfo, zone: ZoneInfo, message: actions.Message,
                 listing: Any) -> None:
    with ui.column().classes('w-full gap-1 border-t pt-3').mark('passkey-row'):
        ui.label(row.name).classes('font-bold').mark('passkey-row-name')
        ui.label(f'Added {_when(row.created_at, zone)} · Last used '
                 f'{_when(row.last_used_at, zone) if row.last_used_at else "never"}').classes('text-sm text-grey-8')
        with ui.row().classes('w-full items-center gap-2'):
            new_name = ui.input('New name', value=row.name).props('outlined dense maxlength=100').classes('grow') \
                .mark('passkey-new-name')

            async def rename(act: actions.Act, passkey_id: int = row.id) -> None:
                await act.call(passkeys.rename_passkey, passkey_id=passkey_id, name=new_name.value or '')
                listing.refresh()
                act.done('Passkey renamed.')

            rename_button = actions.button('Rename', rename, message=message, enter=[new_name]).props('flat') \
                .mark('rename-passkey')
            rename_button.props['aria-label'] = f'Rename {row.name}'
            remove_button = ui.button('Remove', icon='delete').props('flat color=negative').mark('remove-passkey')
            remove_button.props['aria-label'] = f'Remove {row.name}'
    remove_button.on_click(_confirm_removal(row, message, listing).open)


def _confirm_removal(row: passkeys.PasskeyInfo, message: actions.Message, listing: Any) -> ui.dialog:
    """'Remove this passkey?': removing one is a click away from locking yourself out of it."""
    with ui.dialog() as dialog, ui.card().classes('max-w-md gap-3').mark('remove-passkey-dialog'):
        ui.label(f'Remove the passkey "{row.name}"? You can no longer sign in with it; the device may still list it '
                 'until you delete it there too.')

        async def remove(act: actions.Act, passkey_id: int = row.id) -> None:
            removed = await act.call(passkeys.remove_passkey, passkey_id=passkey_id)
            dialog.close()
            listing.refresh()
            act.done(f'Passkey "{removed}" removed.')

        with ui.row().classes('gap-2'):
            actions.button('Remove passkey', remove, message=message).props('color=negative') \
                .mark('confirm-remove-passkey')
            ui.button('Keep it', on_click=dialog.close).props('flat')
    return dialog


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo('UTC')


def _when(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime('%Y-%m-%d %H:%M')
