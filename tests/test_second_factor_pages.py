"""Two-step sign-in pages (User fixture): a contact sets up the authenticator app on /settings and signs in with a
code; the last factor cannot be removed when required; a wrong code says so; the admin's policy saves."""
from __future__ import annotations

import time

import pyotp
from nicegui.testing import User

from pages.access import SESSION_COOKIE
from services import auth, db, second_factor, settings
from tests import factories
from tests.admin_portal import landed_on, see
from tests.portal import click, seed, sign_in, sign_out


def _contact(session) -> str:
    return factories.contact_account(session, factories.contact(session, email='casey@outside.test')).username


async def test_a_contact_sets_up_the_app_and_signs_in_with_a_code(user: User) -> None:
    username = seed(_contact)
    await sign_in(user, username)
    assert await landed_on(user, '/')
    await user.open('/settings')
    await see(user, 'Two-step sign-in')
    await user.should_see('Authenticator app: not set up')
    await click(user, 'start-totp')
    await see(user, marker='totp-secret')
    secret = user.find(marker='totp-secret').elements.pop().text.replace(' ', '')
    user.find(marker='totp-confirm-code').type('000000')
    await click(user, 'confirm-totp')
    await see(user, 'This code is not correct')
    user.find(marker='totp-confirm-code').clear().type(pyotp.TOTP(secret).now())
    await click(user, 'confirm-totp')
    await see(user, marker='recovery-codes')
    assert len(user.find(marker='recovery-code').elements) == 10

    sign_out(user)  # sign in again: the password alone now goes to the second step
    assert await landed_on(user, '/login')
    await sign_in(user, username)
    assert await landed_on(user, '/login/second-step')
    await user.should_see('Enter the 6-digit code from your authenticator app')
    user.find(marker='totp-code').type('123456')
    await click(user, 'verify-code')
    await see(user, 'not correct or was already used')
    user.find(marker='totp-code').clear().type(pyotp.TOTP(secret).at(time.time() + 30))
    await click(user, 'verify-code')
    assert await landed_on(user, '/')


async def test_the_last_factor_stays_when_the_policy_requires_it(user: User) -> None:
    def make(session):
        staff = factories.account(session, role='staff', email='nurse@clinic.test')
        actor = factories.actor_for(session, staff)
        setup = second_factor.start_totp(session, actor=actor)
        second_factor.confirm_totp(session, actor=actor, code=pyotp.TOTP(setup.secret.replace(' ', '')).now())
        return staff.id
    account_id = seed(make)
    token = db.run(auth.create_session, account_id=account_id, ip_address=None)  # full, as after the second step
    user.http_client.cookies.set(SESSION_COOKIE, token)
    await user.open('/staff/settings')
    await see(user, 'Authenticator app: set up')
    await user.should_see('Recovery codes left: 10 of 10')
    await click(user, 'remove-totp')
    await see(user, 'this is your only one')
    assert db.run(second_factor.enrolled_factors, account_id=account_id) == {'totp'}


async def test_the_admin_saves_the_policy_and_both_factors_off_is_refused(user: User) -> None:
    seed(lambda session: factories.account(session, role='admin', email='boss@clinic.test'))
    await sign_in(user, 'boss@clinic.test')
    assert await landed_on(user, '/admin')
    await user.open('/admin/settings')
    await see(user, 'Two-step sign-in')
    user.find(marker='second_factor_totp').elements.pop().value = False
    user.find(marker='second_factor_passkey').elements.pop().value = False
    await click(user, 'save-two_step')
    await see(user, 'Allow at least one kind of second step')
    user.find(marker='second_factor_passkey').elements.pop().value = True
    user.find(marker='second_factor_contacts').elements.pop().value = 'required'
    await click(user, 'save-two_step')
    await see(user, 'Saved.')
    settings.invalidate_cache()
    stored = settings.get_settings()
    assert stored.second_factor_contacts == 'required' and not stored.second_factor_totp
