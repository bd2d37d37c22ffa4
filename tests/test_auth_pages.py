"""Sign-in, sign-out, setup and guards, through the pages."""
from __future__ import annotations

from nicegui.testing import User

from services import auth, db
from tests import factories
from tests.portal import RETRIES, seed, sign_in, sign_out


async def test_sign_in_lands_on_role_home(user: User) -> None:
    seed(lambda session: factories.account(session, role='staff', email='nurse@clinic.test'))
    await sign_in(user, 'Nurse@Clinic.test')
    await user.should_see(marker='staff-home', retries=RETRIES)


async def test_wrong_password_and_unknown_user_get_the_same_message(user: User) -> None:
    seed(lambda session: factories.account(session, role='staff', email='nurse@clinic.test'))
    await sign_in(user, 'nurse@clinic.test', 'wrong password here')
    await user.should_see(auth.SIGN_IN_FAILED, retries=RETRIES)
    await sign_in(user, 'nobody@clinic.test', 'wrong password here')
    await user.should_see(auth.SIGN_IN_FAILED, retries=RETRIES)


async def test_pages_refuse_anonymous_users(user: User) -> None:
    await user.open('/staff')
    await user.should_see(marker='sign-in', retries=RETRIES)
    await user.open('/admin/outbox')
    await user.should_see(marker='sign-in', retries=RETRIES)


async def test_sign_out_ends_the_session(user: User) -> None:
    seed(lambda session: factories.account(session, role='staff', email='nurse@clinic.test'))
    await sign_in(user, 'nurse@clinic.test', expect='Clinic workspace')
    sign_out(user)
    await user.should_see(marker='sign-in', retries=RETRIES)
    await user.open('/staff')
    await user.should_see(marker='sign-in', retries=RETRIES)
    with db.transaction() as session:
        from sqlmodel import select

        from models import UserSession
        assert session.exec(select(UserSession)).all() == []


async def test_setup_link_works_once(user: User) -> None:
    token = seed(auth.issue_setup_token)
    await user.open(f'/setup?token={token}')
    user.find(marker='email').type('boss@clinic.test')
    user.find(marker='password').type('a long enough passphrase 42')
    user.find(marker='confirm').type('a long enough passphrase 42')
    user.find(marker='create-admin').click()
    await user.should_see(marker='admin-home', retries=RETRIES)
    await user.open(f'/setup?token={token}')
    await user.should_see(marker='setup-invalid', retries=RETRIES)


async def test_setup_refuses_bad_input_and_stores_nothing(user: User) -> None:
    token = seed(auth.issue_setup_token)
    await user.open(f'/setup?token={token}')
    user.find(marker='email').type('not an email')
    user.find(marker='password').type('a long enough passphrase 42')
    user.find(marker='confirm').type('a long enough passphrase 42')
    user.find(marker='create-admin').click()
    await user.should_see('Email is not a valid email address.', retries=RETRIES)
    user.find(marker='email').clear().type('boss@clinic.test')
    user.find(marker='password').clear().type('short')
    user.find(marker='confirm').clear().type('short')
    user.find(marker='create-admin').click()
    await user.should_see('The password must have at least 12 characters.', retries=RETRIES)
    assert seed(auth.setup_needed)
