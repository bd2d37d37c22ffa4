"""`/passkeys` (User fixture): the list with names and dates, rename and remove through actions, bad names refused
next to the control; the sign-in page offers a passkey; the JSON endpoints answer only the portal's own script."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import AuditEvent, Passkey, PasskeyCeremony
from services import db, passkeys
from tests import factories
from tests.admin_portal import click, see
from tests.portal import seed, sign_in

EMAIL = 'casey@outside.test'


def _world(session) -> int:
    account = factories.account(session, role='contact', email=EMAIL)
    row = Passkey(account_id=account.id, credential_id='Y3JlZGVudGlhbA', public_key=b'key', user_handle='aGFuZGxl',
                  name='Work laptop', transports='internal')
    session.add(row)
    session.flush()
    return row.id


def _names() -> list[str]:
    return db.run(lambda session: [p.name for p in session.exec(select(Passkey)).all()])


async def test_list_rename_and_remove_a_passkey(user: User) -> None:
    seed(_world)
    await sign_in(user, EMAIL)
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
    await see(user, 'Passkey "Home desktop" removed.')
    await see(user, 'You have no passkeys yet.')
    assert _names() == []
    actions = db.run(lambda session: [e.action for e in session.exec(select(AuditEvent)).all()])
    assert {'passkey_renamed', 'passkey_removed'} <= set(actions)


async def test_adding_without_a_name_is_refused_and_starts_nothing(user: User) -> None:
    seed(_world)
    await sign_in(user, EMAIL)
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
