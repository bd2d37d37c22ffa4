"""The second step of a sign-in (`/login/second-step`) and setting one up when the clinic requires it before
anything else opens (`/login/second-step/setup`).

Both accept only a *pending* session (the password was right, the second step is due): for everyone else they
move on (to sign-in, or to where a signed-in person was going). Every other page and file route treats a pending
session as not signed in (pages/portal.py). A passkey button goes first on both pages (`passkey_slot`).
"""
from __future__ import annotations

from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from nicegui import ui

from services import cookie_tickets, second_factor
from services.config import get_config

from .. import access, actions
from ..frame import heading
from ..portal import Page, portal_page, public_endpoint
from ..passkey_widgets import enrol, passkey_button, use_script
from ..second_factor_widgets import code_input, passkey_slot, show_recovery_codes, show_totp_setup


def finish_path(token: str, then: str, trust_token: str | None = None) -> str:
    """Where to go once the second step is done: the new session's cookie hop (and, when asked for, the trusted
    browser's), then `then`. Used by every way of finishing the step (a code, a recovery code, a passkey)."""
    start = access.start_session(token, then)
    if not trust_token:
        return start
    return f'/login/trust?ticket={quote(cookie_tickets.issue(trust_token), safe="")}&next={quote(start, safe="")}'


@public_endpoint('/login/trust')
def trust_cookie(request: Request, ticket: str | None = None, next: str | None = None) -> Response:  # noqa: A002
    """Set the "trust this browser" cookie from its one-time ticket, then go on (to the session's cookie hop)."""
    value = cookie_tickets.redeem(ticket)
    response = RedirectResponse(access.safe_next(next) or '/login', status_code=303)
    response.headers['Cache-Control'] = 'no-store'
    if value:
        response.set_cookie(second_factor.TRUST_COOKIE, value, httponly=True, samesite='lax', path='/',
                            max_age=second_factor.TRUST_DAYS * 24 * 3600, secure=get_config().cookie_https_only)
    return response


async def _pending(page: Page, next_: str | None, step: str) -> second_factor.Pending | None:
    """The pending session of this browser when it is at `step`; else navigate where it belongs and None."""
    if page.actor is not None:
        ui.navigate.to(access.safe_next(next_) or access.home_of(page.actor))
        return None
    pending = await access.call(second_factor.pending, token=access.session_token())
    if pending is None:
        ui.navigate.to(access.login_path(next_))
        return None
    if pending.step != step:
        ui.navigate.to(access.second_step_path(pending.step, next_))
        return None
    return pending


@portal_page('/login/second-step', roles=access.PUBLIC, title='Two-step sign-in')
async def second_step_page(page: Page, next: str | None = None) -> None:  # noqa: A002  (query parameter name)
    """A passkey (for someone who has one), else the authenticator code, else a recovery code."""
    pending = await _pending(page, next, second_factor.VERIFY)
    if pending is None:
        return
    then = access.safe_next(next) or access.home_of(pending.actor)
    request = ui.context.client.request
    trusted = request.cookies.get(second_factor.TRUST_COOKIE) if request is not None else None
    with ui.card().classes('w-full max-w-md mx-auto p-6 gap-3').mark('second-step'):
        heading('Two-step sign-in').classes('text-2xl font-bold')
        if pending.actor.account_id is not None and 'passkey' in pending.factors:
            with passkey_slot():
                async def passkey_passed(act: actions.Act) -> None:
                    token = await act.run(second_factor.complete_second_step, token=access.session_token() or '',
                                          method='passkey', ip_address=access.client_ip())
                    act.done(navigate=finish_path(token, then))

                passkey_button(pending.actor.account_id, passkey_passed).classes('w-full').props('size=lg')
                ui.label('Or:').classes('text-grey-8 text-sm')
        code_box = ui.column().classes('w-full gap-3').mark('code-box')
        recovery_box = ui.column().classes('w-full gap-3').mark('recovery-box')
        recovery_box.set_visibility(False)
        trust = None
        with code_box:
            ui.label('Enter the 6-digit code from your authenticator app.').classes('text-grey-9')
            code = code_input()
            code.props('autofocus')
            if page.settings.second_factor_trust_browser:
                trust = ui.checkbox(f'Trust this browser for {second_factor.TRUST_DAYS} days').mark('trust-browser')

            async def verify(act: actions.Act) -> None:
                await _check(act, code.value or '', recovery=False)

            actions.button('Verify', verify, enter=[code], message=actions.Message('error')) \
                .classes('w-full').props('size=lg').mark('verify-code')
            ui.button('Use a recovery code instead', on_click=lambda: _swap(True)).props('flat no-caps') \
                .mark('use-recovery')
        with recovery_box:
            ui.label('Enter one of the recovery codes you saved when you set up two-step sign-in. Each code works '
                     'once.').classes('text-grey-9')
            recovery = ui.input('Recovery code', placeholder='xxxx-xxxx-xxxx') \
                .props('outlined autocomplete=off spellcheck=false').classes('w-full').mark('recovery-code-input')

            async def use_recovery(act: actions.Act) -> None:
                await _check(act, recovery.value or '', recovery=True)

            actions.button('Use recovery code', use_recovery, enter=[recovery], message=actions.Message('error')) \
                .classes('w-full').mark('verify-recovery')
            ui.button('Use the authenticator app instead', on_click=lambda: _swap(False)).props('flat no-caps') \
                .mark('use-code')
        ui.button('Cancel and sign out', on_click=access.sign_out).props('flat no-caps').mark('cancel-sign-in')

    def _swap(to_recovery: bool) -> None:
        code_box.set_visibility(not to_recovery)
        recovery_box.set_visibility(to_recovery)

    async def _check(act: actions.Act, typed: str, *, recovery: bool) -> None:
        if not typed.strip():
            act.fail('Enter the recovery code.' if recovery else 'Enter the 6-digit code.')
        result = await act.run(second_factor.verify_code, token=access.session_token(), code=typed,
                               ip_address=access.client_ip(), recovery=recovery,
                               trust_browser=bool(trust is not None and trust.value))
        if result.token is None:
            if result.error == second_factor.STEP_ENDED:
                act.done(result.error, navigate=access.login_path(next))
                return
            act.fail(result.error or second_factor.WRONG_CODE)
        act.done(navigate=finish_path(result.token, then, result.trust_token))

    if trusted and page.settings.second_factor_trust_browser:
        await page.connected()  # a trusted browser finishes the step by itself, once the person's browser runs it
        result = await access.off_loop(second_factor.use_trusted_browser, token=access.session_token(),
                                       trust_token=trusted, ip_address=access.client_ip())
        if result is not None and result.token:
            ui.navigate.to(finish_path(result.token, then))


@portal_page('/login/second-step/setup', roles=access.PUBLIC, title='Set up two-step sign-in')
async def enrol_page(page: Page, next: str | None = None) -> None:  # noqa: A002  (query parameter name)
    """The clinic requires a second step and this person has none: nothing else opens until it is set up."""
    pending = await _pending(page, next, second_factor.ENROL)
    if pending is None:
        return
    then = access.safe_next(next) or access.home_of(pending.actor)
    with ui.card().classes('w-full max-w-xl mx-auto p-6 gap-3').mark('enrol'):
        heading('Set up two-step sign-in').classes('text-2xl font-bold')
        ui.label('The clinic requires a second step at sign-in: after your password, a code from an app on your '
                 'phone (or a passkey). Set it up now to continue.').classes('text-grey-9')
        slot = passkey_slot()
        area = ui.column().classes('w-full gap-3')
        message = actions.Message('enrol-message')

        def finished(done: second_factor.Enrolled) -> None:
            slot.set_visibility(False)
            area.clear()
            with area:
                ui.label('Two-step sign-in is on.').classes('text-positive font-bold').mark('enrol-done')
                if done.recovery_codes:
                    show_recovery_codes(done.recovery_codes)

                async def go_on(act: actions.Act) -> None:
                    act.done(navigate=access.start_session(done.token, then))  # the ticket is issued now

                actions.button('Continue', go_on).mark('enrol-continue')

        if page.settings.second_factor_passkey:
            use_script()
            with slot:
                name = ui.input('Passkey name', value='My passkey').props('outlined maxlength=100') \
                    .classes('w-full').mark('enrol-passkey-name')

                async def add_passkey(act: actions.Act) -> None:
                    await enrol(act, name.value or '', actor=pending.actor)
                    finished(await act.call(second_factor.finish_passkey_enrolment, token=access.session_token(),
                                            ip_address=access.client_ip()))

                actions.button('Add a passkey', add_passkey, icon='key', message=actions.Message('passkey-error')) \
                    .classes('w-full').props('size=lg').mark('enrol-passkey')
                ui.label('Or:').classes('text-grey-8 text-sm')

        async def confirm(act: actions.Act, code: str) -> None:
            finished(await act.call(second_factor.finish_enrolment, token=access.session_token(), code=code,
                                    ip_address=access.client_ip()))

        async def start(act: actions.Act) -> None:
            setup = await act.call(second_factor.begin_enrolment, token=access.session_token())
            area.clear()
            with area:
                show_totp_setup(setup, confirm)

        with area:
            if page.settings.second_factor_totp:
                actions.button('Set up an authenticator app', start, message=message).mark('start-enrolment')
        ui.button('Cancel and sign out', on_click=access.sign_out).props('flat no-caps').mark('cancel-sign-in')
