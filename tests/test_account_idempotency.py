"""The same submit arriving twice makes its change once: activation, linking, passwords, setup (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlmodel import func, select

from models import Account, AccountContact, ActionReceipt, Contact, OutboxEmail, UserSession
from services import activation, auth, contact_accounts, db, idempotency
from services.contact_accounts import NewAccount
from services.errors import InvalidInput
from tests import factories

PASSWORD = 'violet harbour kettle 93'


def _invite(email: str = 'dr.jones@outside.test') -> tuple[int, str]:
    def make(session):
        contact = factories.contact(session, email=email)
        return contact.id, activation.issue_code(session, contact=contact, actor=None).code
    return db.run(make)


def _count(model, *where) -> int:
    with db.transaction() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_refused_change_does_not_keep_its_key(database: str) -> None:
    """The receipt is part of the change's transaction: a change that fails leaves the key free for the retry."""
    def refuse(session):
        raise InvalidInput('no')

    with pytest.raises(InvalidInput):
        db.run(idempotency.run_once, idempotency_key='retry-me', service=refuse)
    assert not db.run(idempotency.was_used, key='retry-me')
    assert db.run(idempotency.run_once, idempotency_key='retry-me', service=lambda session: 'made') == 'made'
    assert db.run(idempotency.run_once, idempotency_key='retry-me', service=lambda session: 'again') \
        is idempotency.REPLAYED


def test_create_account_twice_with_one_key_makes_one_account(database: str) -> None:
    _, code = _invite()
    new = NewAccount(email='dr.jones@outside.test', password=PASSWORD, confirm=PASSWORD)
    first = contact_accounts.create_account(code=code, new=new, ip_address=None, idempotency_key='create-1')
    assert isinstance(first, auth.SignedIn)
    again = contact_accounts.create_account(code=code, new=new, ip_address=None, idempotency_key='create-1')
    assert again is idempotency.REPLAYED  # not "email taken" nor "code used": the same submit, already made
    assert _count(Account) == 1


def test_a_bad_code_does_not_spend_the_key_of_the_good_one(database: str) -> None:
    contact_id, _ = _invite()
    second_id, second_code = _invite('jones.second@outside.test')
    actor = db.run(lambda session: factories.actor_for(session, factories.contact_account(
        session, session.get(Contact, contact_id))))
    with pytest.raises(InvalidInput):
        contact_accounts.link_code(actor=actor, code='AAAA-BBBB-CCCC-DDDD', ip_address=None, idempotency_key='link-1')
    message = contact_accounts.link_code(actor=actor, code=second_code, ip_address=None, idempotency_key='link-1')
    assert 'added to your account' in message
    assert contact_accounts.link_code(actor=actor, code=second_code, ip_address=None, idempotency_key='link-1') \
        is idempotency.REPLAYED
    assert _count(AccountContact, AccountContact.contact_id == second_id) == 1
    assert _count(ActionReceipt, ActionReceipt.key == 'link-1') == 1


def test_sign_in_and_link_twice_links_once_and_opens_one_session(database: str) -> None:
    existing = db.run(lambda session: factories.contact_account(
        session, factories.contact(session, email='dr.jones@outside.test')).id)
    _, code = _invite('jones.second@outside.test')
    signed_in = contact_accounts.sign_in_and_link(username='dr.jones@outside.test', password=factories.PASSWORD,
                                                  code=code, ip_address=None, idempotency_key='link-2')
    assert signed_in.actor.account_id == existing
    assert contact_accounts.sign_in_and_link(username='dr.jones@outside.test', password=factories.PASSWORD,
                                             code=code, ip_address=None, idempotency_key='link-2') \
        is idempotency.REPLAYED
    assert _count(UserSession) == 1


def test_reset_request_and_reset_twice_send_one_email_each(database: str) -> None:
    db.run(lambda session: factories.contact_account(session, factories.contact(session, email='dr.jones@outside.test')))
    for _ in range(2):
        contact_accounts.request_password_reset(email='dr.jones@outside.test', ip_address=None,
                                                idempotency_key='reset-request')
    with db.transaction() as session:
        [sent] = session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'password_reset')).all()
    digits = factories.code_in(sent, 'reset_code')
    for _ in range(2):  # the second time the code is spent: still no error, nothing changed
        contact_accounts.reset_password(email='dr.jones@outside.test', code=digits, password=PASSWORD,
                                        confirm=PASSWORD, ip_address=None, idempotency_key='reset-1')
    assert _count(OutboxEmail, OutboxEmail.kind == 'password_changed') == 1


def test_setup_twice_with_one_key_makes_one_admin(database: str) -> None:
    token = db.run(auth.issue_setup_token)
    made = auth.complete_setup(token=token, email='boss@clinic.test', password=PASSWORD, confirm=PASSWORD,
                               ip_address=None, idempotency_key='setup-1')
    assert isinstance(made, auth.SignedIn)
    assert auth.complete_setup(token=token, email='boss@clinic.test', password=PASSWORD, confirm=PASSWORD,
                               ip_address=None, idempotency_key='setup-1') is idempotency.REPLAYED
    assert _count(Account, Account.role == 'admin') == 1
