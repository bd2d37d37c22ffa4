"""`/passkeys` (User fixture): the list with names and dates, rename and remove through actions, bad names refused
next to the control; the sign-in page offers a passkey; the JSON endpoints answer only the portal's own script."""
from __future__ import annotations

from nicegui import context, ui
from nicegui.testing import User
from sqlmodel import select

from models import Account, AuditEvent, Passkey, PasskeyCeremony
from pages import access, actions, passkey_widgets
from services import auth, db, passkeys
from tests import factories
from tests.soft_authenticator import SoftAuthenticator
from tests.admin_portal import click, see
from tests.portal import seed, sign_in

EMAIL = 'casey@outside.test'


async def _signed_in_with_passkey(user: User) -> int:
    """Sign in with the password first (once a passkey exists, the password alone asks for the second step)."""
    seed(lambda session: factories.account(session, role='contact', email=EMAIL))
    await sign_in(user, EMAIL)
    return seed(_add_passkey)


def _add_passkey(session) -> int:
    account = session.exec(select(Account).where(Account.email == EMAIL)).one()
    row = Passkey(account_id=account.id, credential_id='Y3JlZGVudGlhbA', public_key=b'key', user_handle='aGFuZGxl',
                  name='Work laptop', transports='internal')
    session.add(row)
    session.flush()
    return row.id


def _names() -> list[str]:
    return db.run(lambda session: [p.name for p in session.exec(select(Passkey)).all()])


async def test_list_rename_and_remove_a_passkey(user: User) -> None:
    await _signed_in_with_passkey(user)
    await user.open('/passkeys')
    await see(user, 'Work laptop', marker='passkey-row-name')
    await user.should_see('Last used never')
    user.find(marker='passkey-new-name').elements.pop().value = ''
    await click(user, 'rename-passkey')
    await see(user, 'Passkey name is required.')
    assert _names() == ['Work laptop']
    user.find(marker='passkey-new-name').elements.pop().value = 'Home desktop'
    await click(user, 'rename-passkey')
    await see(user, 'Passkey renamed.')
    await see(user, 'Home desktop', marker='passkey-row-name')
    assert _names() == ['Home desktop']
    await click(user, 'remove-passkey')
    await see(user, 'Remove the passkey "Home desktop"?')
    await click(user, 'confirm-remove-passkey')
    await see(user, 'Passkey "Home desktop" removed.')
    await see(user, 'You have no passkeys yet.')
    assert _names() == []
    actions = db.run(lambda session: [e.action for e in session.exec(select(AuditEvent)).all()])
    assert {'passkey_renamed', 'passkey_removed'} <= set(actions)


async def test_adding_without_a_name_is_refused_and_starts_nothing(user: User) -> None:
    await _signed_in_with_passkey(user)
    await user.open('/passkeys')
    await see(user, 'Add a passkey')
    await click(user, 'add-passkey')
    await see(user, 'Passkey name is required.')
    assert db.run(lambda session: session.exec(select(PasskeyCeremony)).all()) == []


async def test_the_sign_in_page_offers_a_passkey(user: User) -> None:
    await user.open('/login')
    await user.should_see('Sign in with a passkey', retries=50)


async def test_the_endpoints_answer_only_the_portals_script(user: User) -> None:
    client = user.http_client
    script = await client.get('/assets/passkeys.js')
    assert script.status_code == 200 and 'javascript' in script.headers['content-type']
    assert 'window.smpPasskeys' in script.text
    origin = passkeys.relying_party().origin
    good = {'X-SMP-Passkey': '1', 'Origin': origin}
    for path in ('/passkeys/options', '/passkeys/verify'):
        # another site's page cannot send the header without a preflight, and its origin is not the portal's
        assert (await client.post(path, json={'client': 'tab'}, headers={'Origin': origin})).status_code == 403
        assert (await client.post(path, json={'client': 'tab'},
                                  headers={'X-SMP-Passkey': '1', 'Origin': 'https://evil.test'})).status_code == 403
        assert (await client.post(path, content=b'{not json', headers={**good, 'Content-Type': 'application/json'})
                ).status_code == 400
        assert (await client.post(path, json=['tab'], headers=good)).status_code == 400
        assert (await client.post(path, json={'client': 'x' * 200_000}, headers=good)).status_code == 413
    # no ceremony open for this tab: nothing to answer
    options = await client.post('/passkeys/options', json={'client': 'tab'}, headers=good)
    assert options.status_code == 404 and options.json() == {'ok': False, 'code': 'expired'}
    verify = await client.post('/passkeys/verify', json={'client': 'tab', 'credential': {}}, headers=good)
    assert verify.status_code == 200 and verify.json() == {'ok': False, 'code': 'expired'}
    assert (await client.get('/passkeys/options')).status_code == 405


def _enrolled(email: str) -> tuple[int, SoftAuthenticator]:
    """An account with a passkey of a software authenticator (enrolled through the services)."""
    key = SoftAuthenticator()
    account_id, token = seed(lambda session: _account_and_session(session, email))
    actor = db.run(lambda session: auth.account_actor(session, session.get(Account, account_id)))
    db.run(passkeys.begin_registration, actor=actor, name='Key', binding='enrol', session_token=token)
    options = db.run(passkeys.options_for, binding='enrol', session_token=token)
    origin = passkeys.relying_party().origin
    assert passkeys.verify_response(binding='enrol', session_token=token, credential=key.create(options, origin),
                                    ip_address=None).ok
    return account_id, key


def _account_and_session(session, email: str) -> tuple[int, str]:
    account = factories.account(session, role='staff', email=email)
    return account.id, auth.create_session(session, account_id=account.id, ip_address=None)


async def test_the_second_step_button_calls_back_only_for_that_persons_passkey(user: User, monkeypatch) -> None:
    """The widget the second-step page uses: the browser's half is played by a software authenticator."""
    doc_id, doc_key = _enrolled('doc@clinic.test')
    _nurse_id, nurse_key = _enrolled('nurse@clinic.test')
    holder = {'key': nurse_key}
    passed: list[int] = []

    async def browser_half() -> str:
        binding = context.client.id
        options = db.run(passkeys.options_for, binding=binding, session_token=None)
        answer = holder['key'].get(options, passkeys.relying_party().origin,
                                   credential_id=next(iter(holder['key'].keys)))
        return 'ok' if passkeys.verify_response(binding=binding, session_token=None, credential=answer,
                                                ip_address=None).ok else 'failed'
    monkeypatch.setattr(passkey_widgets, '_authenticate_in_browser', browser_half)

    @ui.page('/second-step-widget')
    def second_step_page() -> None:
        actions.bind_page(access.PUBLIC)

        async def finish(act: actions.Act) -> None:
            passed.append(doc_id)
            act.done('Second step passed.')
        passkey_widgets.passkey_button(doc_id, finish)

    await user.open('/second-step-widget')
    await click(user, 'passkey-second-step')
    await see(user, passkeys.FAILED)  # the nurse's passkey is no second step for the doctor
    assert passed == []
    holder['key'] = doc_key
    await click(user, 'passkey-second-step')
    await see(user, 'Second step passed.')
    assert passed == [doc_id]
