"""Email verification, linking more contacts to one account, forgot password, Settings and terms (User fixture)."""
from __future__ import annotations

import asyncio
import re

from nicegui.testing import User
from sqlmodel import select

from models import Account, AuditEvent, Contact, UserSession
from services import activation, auth, db, outbox, settings
from tests import factories
from tests.portal import click, seed, sign_in
from tests.smtp import text_body
from tests.activation_helpers import fill_password, invite, open_with_code

NEW_PASSWORD = 'copper lantern meadow 58'


def linked_contacts(email: str) -> list[int]:
    with db.transaction() as session:
        account = session.exec(select(Account).where(Account.email == email)).one()
        return list(auth.account_actor(session, account).contact_ids)


def existing_account(email: str = 'dr.jones@outside.test') -> int:
    def make(session):
        return factories.contact_account(session, factories.contact(session, email=email)).id
    return seed(make)


async def deliver(smtp_server, address: str, count: int = 1, timeout: float = 10.0) -> list:
    """Run the outbox (as the scheduler would) until `count` emails for `address` arrived."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(smtp_server.to(address)) < count:
        assert asyncio.get_running_loop().time() < deadline, f'no email for {address}'
        await asyncio.sleep(0.05)
        outbox.process_outbox()
    return smtp_server.to(address)


async def see_flash(user: User, text: str) -> None:
    """The notice queued before a navigation is shown on the page it led to."""
    await user.should_see(marker='flash', retries=50)
    await user.should_see(text, retries=50)


def audit_actions() -> list[str]:
    with db.transaction() as session:
        return list(session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all())


async def test_verification_code_sent_to_another_email_updates_the_contact(smtp_server, user: User) -> None:
    contact_id, code = invite('dr.jones@outside.test')
    await open_with_code(user, code)
    user.find(marker='who-next').click()
    await user.should_see(marker='email-next', retries=50)
    user.find(marker='email').type('Office.Jones@Outside.test')
    user.find(marker='email-next').click()
    await user.should_see(marker='verification-code', retries=50)
    [message] = await deliver(smtp_server, 'office.jones@outside.test')
    digits = re.search(r'\b(\d{6})\b', text_body(message)).group(1)
    user.find(marker='verification-code').type('000000' if digits != '000000' else '111111')
    user.find(marker='verify').click()
    await user.should_see('This code is not correct', retries=50)
    user.find(marker='verification-code').clear().type(digits)
    user.find(marker='verify').click()
    await fill_password(user)
    await user.should_see(marker='messages-title', retries=50)
    with db.transaction() as session:
        assert session.get(Contact, contact_id).email == 'office.jones@outside.test'
    assert linked_contacts('office.jones@outside.test') == [contact_id]
    await deliver(smtp_server, 'office.jones@outside.test', count=2)  # the account confirmation
    assert 'contact_email_changed' in audit_actions()


async def test_second_link_adds_the_contact_after_sign_in(user: User) -> None:
    existing_account()
    second_id, code = invite('jones.second@outside.test')
    await user.open(f'/activate?code={activation.normalize_code(code)}&existing=1')
    await user.should_see(marker='link-sign-in', retries=50)
    user.find(marker='link-username').type('dr.jones@outside.test')
    user.find(marker='link-password').type('wrong password here')
    user.find(marker='link-sign-in').click()
    await user.should_see(auth.SIGN_IN_FAILED, retries=50)
    user.find(marker='link-password').type(factories.PASSWORD)
    user.find(marker='link-sign-in').click()
    await user.should_see(marker='messages-title', retries=50)
    await see_flash(user, 'The activation code was added to your account.')
    assert second_id in linked_contacts('dr.jones@outside.test')
    assert 'contact_linked' in audit_actions()


async def test_sign_in_on_the_activation_screen_adds_the_contact(user: User) -> None:
    existing_account()
    second_id, code = invite('jones.second@outside.test')
    await open_with_code(user, code)
    user.find(marker='have-account').click()
    await user.should_see(marker='link-sign-in', retries=50)
    user.find(marker='link-username').type('dr.jones@outside.test')
    user.find(marker='link-password').type(factories.PASSWORD)
    user.find(marker='link-sign-in').click()
    await user.should_see(marker='messages-title', retries=50)
    assert second_id in linked_contacts('dr.jones@outside.test')
    assert len(linked_contacts('dr.jones@outside.test')) == 2


async def test_second_link_while_signed_in_adds_the_contact_with_one_click(user: User) -> None:
    existing_account()
    second_id, code = invite('jones.second@outside.test')
    await sign_in(user, 'dr.jones@outside.test')
    await user.should_see(marker='messages-title', retries=50)
    await user.open(f'/activate?code={activation.normalize_code(code)}&existing=1')
    await user.should_see(marker='add-to-account', retries=50)
    user.find(marker='add-to-account').click()
    await user.should_see(marker='messages-title', retries=50)
    await see_flash(user, 'The activation code was added to your account. Its documents are now in your list.')
    assert second_id in linked_contacts('dr.jones@outside.test')


async def test_settings_page_adds_an_activation_code(user: User) -> None:
    existing_account()
    second_id, code = invite('jones.second@outside.test')
    await sign_in(user, 'dr.jones@outside.test')
    await user.should_see(marker='messages-title', retries=50)
    await user.open('/settings')
    user.find(marker='settings-code').type('AAAA-BBBB-CCCC-DDDD')
    user.find(marker='add-code').click()
    await user.should_see(activation.UNKNOWN_CODE, retries=50)
    assert second_id not in linked_contacts('dr.jones@outside.test')
    user.find(marker='settings-code').clear().type(code.lower())
    user.find(marker='add-code').click()
    await user.should_see(marker='code-success', retries=50)
    assert 'text-positive' in user.find(marker='code-success').elements.pop().classes
    assert second_id in linked_contacts('dr.jones@outside.test')


async def test_forgot_password_end_to_end_ends_every_session(smtp_server, user: User) -> None:
    existing_account()
    other_browser = seed(lambda session: auth.create_session(
        session, account_id=session.exec(select(Account.id)).one(), ip_address=None))
    await user.open('/forgot-password')
    user.find(marker='email').type('nobody@outside.test')
    user.find(marker='send-code').click()
    await user.should_see(marker='reset-sent', retries=50)
    unknown_answer = user.find(marker='reset-sent').elements.pop().text
    user.find(marker='email').clear().type('Dr.Jones@outside.test')
    await click(user, 'send-code')  # once the last send settled
    await user.should_see(marker='reset-code', retries=50)
    assert user.find(marker='reset-sent').elements.pop().text == unknown_answer
    [message] = await deliver(smtp_server, 'dr.jones@outside.test')
    assert smtp_server.to('nobody@outside.test') == []
    digits = re.search(r'reset code is: (\d{6})', text_body(message)).group(1)
    user.find(marker='reset-code').type(digits)
    user.find(marker='password').type(NEW_PASSWORD)
    user.find(marker='confirm').type(NEW_PASSWORD)
    user.find(marker='reset').click()
    await user.should_see(marker='sign-in', retries=50)
    await see_flash(user, 'Your password was changed. Sign in with the new password.')
    assert auth.resolve_session(other_browser) is None
    with db.transaction() as session:
        assert session.exec(select(UserSession)).all() == []
    notice = (await deliver(smtp_server, 'dr.jones@outside.test', count=2))[1]
    assert 'password was changed' in notice['Subject']
    await sign_in(user, 'dr.jones@outside.test', NEW_PASSWORD)
    await user.should_see(marker='messages-title', retries=50)
    assert {'password_reset_requested', 'password_reset'} <= set(audit_actions())


async def test_settings_change_password_and_notification_preference(user: User) -> None:
    existing_account()
    await sign_in(user, 'dr.jones@outside.test')
    await user.should_see(marker='messages-title', retries=50)
    await user.open('/settings')
    user.find(marker='notify-mode').elements.pop().value = 'daily'
    await user.should_see('Saved.', retries=50)
    with db.transaction() as session:
        assert session.exec(select(Account.notify_mode)).one() == 'daily'
    user.find(marker='current-password').type('not my password at all')
    user.find(marker='password').type(NEW_PASSWORD)
    user.find(marker='confirm').type(NEW_PASSWORD)
    user.find(marker='change-password').click()
    await user.should_see('The current password is not correct.', retries=50)
    user.find(marker='current-password').clear().type(factories.PASSWORD)
    user.find(marker='change-password').click()
    await user.should_see(marker='sign-in', retries=50)
    await see_flash(user, 'Your password was changed. Sign in with the new password.')
    with db.transaction() as session:
        assert session.exec(select(UserSession)).all() == []
    assert 'password_changed' in audit_actions()
    await sign_in(user, 'dr.jones@outside.test', NEW_PASSWORD)
    await user.should_see(marker='messages-title', retries=50)


async def test_terms_must_be_accepted_at_first_sign_in(user: User) -> None:
    seed(settings.save_settings, changes={'terms_required': True, 'terms_text': 'Be kind to the portal.'},
         account_id=None)
    _, code = invite()
    await open_with_code(user, code)
    user.find(marker='who-next').click()
    await user.should_see(marker='email-next', retries=50)
    user.find(marker='email').type('dr.jones@outside.test')
    user.find(marker='email-next').click()
    await fill_password(user)
    await user.should_see('Be kind to the portal.', retries=50)
    await user.open('/settings')
    await user.should_see(marker='accept-terms', retries=50)
    user.find(marker='accept-terms').click()
    await user.should_see(marker='messages-title', retries=50)
    await user.open('/settings')
    await user.should_see(marker='add-code', retries=50)
    assert 'terms_accepted' in audit_actions()
