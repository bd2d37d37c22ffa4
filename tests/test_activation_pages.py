"""The activation screen, as a contact walks it (NiceGUI User fixture)."""
from __future__ import annotations

import asyncio

from nicegui.testing import User
from sqlmodel import select

from models import Account, AccountContact, ActivationCode, Contact, Throttle
from services import activation, db
from tests import factories
from tests.activation_helpers import fill_password, invite, open_with_code
from tests.portal import seed



def accounts() -> list[Account]:
    with db.transaction() as session:
        return list(session.exec(select(Account)).all())


async def test_link_with_a_valid_code_lands_on_myself_with_no_click(user: User) -> None:
    _, code = invite()
    await user.open(f'/activate?code={activation.normalize_code(code)}')
    await user.should_see('Who is this activation code for?', retries=50)
    assert user.find(marker='who').elements.pop().value == 'myself'
    await user.should_not_see(marker='code')


async def test_pasted_code_and_next(user: User) -> None:
    _, code = invite()
    await user.open('/activate')
    user.find(marker='code').type(code)
    user.find(marker='next').click()
    await user.should_see('Who is this activation code for?', retries=50)


async def test_code_in_lower_case_without_dashes(user: User) -> None:
    _, code = invite()
    await user.open('/activate')
    user.find(marker='code').type(code.replace('-', '').lower())
    user.find(marker='next').click()
    await user.should_see('Who is this activation code for?', retries=50)


async def test_referrer_policy_on_the_activation_page(user: User) -> None:
    response = await user.http_client.get('/activate?code=AAAABBBBCCCCDDDD')
    assert response.headers['referrer-policy'] == 'no-referrer'


async def walk_to_account_step(user: User, code: str, email: str = 'dr.jones@outside.test') -> None:
    await open_with_code(user, code)
    user.find(marker='who-next').click()
    await user.should_see(marker='email-next', retries=50)
    user.find(marker='email').type(email)
    user.find(marker='email-next').click()


async def test_myself_creates_the_account_and_opens_the_portal(user: User) -> None:
    contact_id, code = invite()
    await walk_to_account_step(user, code)
    await fill_password(user)
    await user.should_see(marker='messages-title', retries=50)
    [account] = accounts()
    assert account.username == 'dr.jones@outside.test' and account.delegate_name is None
    with db.transaction() as session:
        assert session.exec(select(AccountContact.contact_id)).all() == [contact_id]
        assert session.exec(select(ActivationCode.used_at)).one() is not None


async def assert_refused(user: User, code: str, message: str) -> None:
    await user.open(f'/activate?code={code}')
    await user.should_see(message, retries=50)
    await user.should_not_see(marker='who-next')


async def test_expired_used_and_unknown_codes_each_say_so_and_change_nothing(user: User, clock) -> None:
    _, used = invite('used@outside.test')
    seed(lambda session: factories.contact_account(session, session.exec(select(Contact)).first()))

    def use(session):
        row = session.exec(select(ActivationCode)).one()
        row.used_at = clock()
        session.add(row)
    seed(use)
    _, expired = invite('late@outside.test')
    clock.advance(days=31)
    before = (accounts(), _codes())
    await assert_refused(user, activation.normalize_code(expired), activation.EXPIRED_CODE)
    await assert_refused(user, activation.normalize_code(used), activation.USED_CODE)
    await assert_refused(user, 'K7QFM2XD9RTW4HPA', activation.UNKNOWN_CODE)
    for message in (activation.EXPIRED_CODE, activation.USED_CODE, activation.UNKNOWN_CODE):
        assert '@' not in message
    assert (accounts(), _codes()) == before


async def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, 'condition not met in time'
        await asyncio.sleep(0.05)


def _failures() -> int:
    with db.transaction() as session:
        return sum(session.exec(select(Throttle.failures).where(Throttle.scope == 'activation_ip')).all())


def _codes() -> list[tuple]:
    with db.transaction() as session:
        return [(r.id, r.used_at, r.revoked_at) for r in session.exec(select(ActivationCode)).all()]


async def test_repeated_bad_codes_are_rate_limited(user: User) -> None:
    _, code = invite()
    await user.open('/activate')
    for n in range(5):
        user.find(marker='code').clear().type(f'AAAA-BBBB-CCCC-{n:04d}')
        user.find(marker='next').click()
        await user.should_see(activation.UNKNOWN_CODE, retries=50)
        await wait_until(lambda: _failures() >= n + 1)
        await wait_until(lambda: next(iter(user.find(marker='next').elements)).enabled)  # the answer is shown
    user.find(marker='code').clear().type('AAAA-BBBB-CCCC-9999')
    user.find(marker='next').click()
    await user.should_see('Too many attempts, try again in 1 minute.', retries=50)
    await user.should_not_see(marker='who-next')
    # the pause is for that mistyped code's first group: another code from the same address goes on
    user.find(marker='code').clear().type(code)
    user.find(marker='next').click()
    await user.should_see(marker='who-next', retries=50)


async def test_someone_else_records_the_delegate(user: User) -> None:
    _, code = invite()
    await open_with_code(user, code)
    user.find(marker='who').elements.pop().value = 'someone else'  # as clicking the radio button does
    user.find(marker='who-next').click()
    await user.should_see('Enter your name and your relationship to the contact.')
    user.find(marker='delegate-name').type('Robin Office')
    user.find(marker='delegate-relationship').type('office assistant')
    user.find(marker='who-next').click()
    await user.should_see(marker='email-next', retries=50)
    user.find(marker='email').type('dr.jones@outside.test')
    user.find(marker='email-next').click()
    await fill_password(user)
    await user.should_see(marker='messages-title', retries=50)
    [account] = accounts()
    assert (account.delegate_name, account.delegate_relationship) == ('Robin Office', 'office assistant')
    assert account.display_name == 'Robin Office'


async def test_each_password_rejection_reason_is_shown(user: User) -> None:
    _, code = invite()
    await walk_to_account_step(user, code)
    cases = [
        ('violet harbour kettle 93', 'violet harbour kettle 94', 'The two passwords do not match.'),
        ('short pass', None, 'The password must have at least 12 characters.'),
        ('x' * 129, None, 'The password can have at most 128 characters.'),
        ('password1234', None, 'This password is one of the most common passwords. Choose another.'),
        ('my dr.jones password', None, 'The password must not contain your username or email.'),
        ('secure message portal 42', None, 'The password must not contain the portal name.'),
    ]
    await user.should_see(marker='create-account', retries=50)
    for password, confirm, message in cases:
        user.find(marker='password').clear().type(password)
        user.find(marker='confirm').clear().type(password if confirm is None else confirm)
        user.find(marker='create-account').click()
        await user.should_see(message, retries=50)
    assert accounts() == []


async def test_email_taken_offers_sign_in_and_add_the_code(user: User) -> None:
    seed(lambda session: factories.contact_account(session, factories.contact(session, email='dr.jones@outside.test')))
    contact_id, code = invite('dr.jones@outside.test')
    await open_with_code(user, code)
    user.find(marker='who-next').click()
    await user.should_see(marker='email-next', retries=50)
    user.find(marker='email').type('dr.jones@outside.test')
    user.find(marker='email-next').click()
    await user.should_see('This email has been taken', retries=50)
    user.find(marker='sign-in-instead').click()
    await user.should_see(marker='link-sign-in', retries=50)
    user.find(marker='link-password').type(factories.PASSWORD)
    user.find(marker='link-sign-in').click()
    await user.should_see(marker='messages-title', retries=50)
    assert len(accounts()) == 1
    with db.transaction() as session:
        assert contact_id in session.exec(select(AccountContact.contact_id)).all()
