"""Passkey buttons: the browser's WebAuthn ceremony, begun and finished by an action on the server.

Each button is an `actions.button`. Its action makes the server-side challenge for this browser tab
(services.passkeys, bound to the page's connection id), runs `window.smpPasskeys.*()` from assets/passkeys.js (a
fixed call with no data: the script fetches the options from the portal and posts the answer back), and then asks
the server what was proved: the browser's word is never taken for it.

- `sign_in_button(next_path)`: passwordless sign-in on /login (any passkey the browser offers; user verification
  required); opens a full session like a password sign-in.
- `passkey_button(account_id, on_success)`: the second step of a sign-in that already passed its password.
- `enrol(act, name)`: add a passkey for the signed-in person (the /passkeys page).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import context, ui

from models.shapes import Actor
from services import passkeys

from . import access, actions, static_assets

CEREMONY_SECONDS = 200.0  # how long the page waits for the person and the authenticator (the browser's timeout is 180 s)
RESULTS = {
    'cancelled': 'The passkey request was cancelled or timed out. Try again when you are ready.',
    'unsupported': 'This browser cannot use passkeys here. Use another sign-in method, or another browser.',
    'expired': 'This request has expired. Try again.',
    'exists': 'This device already holds a passkey for your account.',
    'failed': passkeys.FAILED,
    'signin': 'Sign in again to add a passkey.',
}
OTHER = 'The passkey could not be used. Try again, or sign in another way.'


def use_script() -> None:
    """Load assets/passkeys.js into this page (once per page: the script guards itself)."""
    ui.add_head_html(static_assets.tag('passkeys.js'))


def _binding() -> str:
    return context.client.id


async def _register_in_browser() -> str:
    return await _outcome(ui.run_javascript('window.smpPasskeys.register()', timeout=CEREMONY_SECONDS))


async def _authenticate_in_browser() -> str:
    return await _outcome(ui.run_javascript('window.smpPasskeys.authenticate()', timeout=CEREMONY_SECONDS))


async def _outcome(waiting: Awaitable[object]) -> str:
    try:
        result = await waiting
    except TimeoutError:
        return 'cancelled'
    return result if isinstance(result, str) else 'error'


def _explain(act: actions.Act, outcome: str) -> None:
    act.fail(RESULTS.get(outcome, OTHER))


async def enrol(act: actions.Act, name: str, actor: Actor | None = None) -> None:
    """Enrol a passkey named `name` for the person signed in on this page (inside an action), or for `actor` whose
    session must set up a second factor first; fails with the reason."""
    await act.call(passkeys.begin_registration, name=name, binding=_binding(), session_token=access.session_token(),
                   actor=actor or act.actor)
    outcome = await _register_in_browser()
    if outcome != 'ok':
        _explain(act, outcome)


def sign_in_button(next_path: str | None = None) -> ui.button:
    """'Sign in with a passkey' (passwordless): on success the browser signs in and goes on to `next_path`
    (a path on this portal) or the person's start page."""
    use_script()

    async def sign_in(act: actions.Act) -> None:
        await act.call(passkeys.begin_authentication, binding=_binding())
        outcome = await _authenticate_in_browser()
        if outcome != 'ok':
            _explain(act, outcome)
        result = await act.run(passkeys.complete_sign_in, binding=_binding(), ip_address=access.client_ip())
        if result is None:
            act.fail(passkeys.FAILED)
        act.done(navigate=access.start_session(result.token, access.safe_next(next_path) or access.home_of(result.actor)))

    return actions.button('Sign in with a passkey', sign_in, icon='key').props('outline').mark('passkey-sign-in')


def passkey_button(account_id: int, on_success: Callable[[actions.Act], Awaitable[None]], *,
                   text: str = 'Use a passkey', message: actions.Message | None = None) -> ui.button:
    """The second step with a passkey of `account_id` (whose password was just accepted).

    On a verified passkey of that account the action awaits `on_success(act)`, which finishes the sign-in (rotate
    the session, `act.done(navigate=...)`); otherwise the reason shows in `message` (or a message under the button),
    and the failure counted toward the account's sign-in lockout.
    """
    use_script()

    async def second_step(act: actions.Act) -> None:
        await act.call(passkeys.begin_authentication, binding=_binding(), account_id=account_id)
        outcome = await _authenticate_in_browser()
        if outcome != 'ok':
            _explain(act, outcome)
        if not await act.run(passkeys.complete_second_step, binding=_binding(), account_id=account_id):
            act.fail(passkeys.FAILED)
        await on_success(act)

    return actions.button(text, second_step, icon='key', message=message).mark('passkey-second-step')
