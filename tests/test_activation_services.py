"""Activation codes, email verification and the contact's account services, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import Account, AccountContact, ActivationCode, AuditEvent, Contact, OutboxEmail, UserSession, VerificationCode
from services import activation, auth, contact_accounts, db, outbox, verification
from services.contact_accounts import NewAccount
from services.errors import InvalidInput, RateLimited
from tests import factories

NEW_PASSWORD = 'violet harbour kettle 93'


def _invite(email: str = 'dr.jones@outside.test') -> tuple[int, str]:
    def make(session):
        contact = factories.contact(session, email=email)
        return contact.id, activation.issue_code(session, contact=contact, actor=None).code
    return db.run(make)


def _actions() -> list[str]:
    with db.transaction() as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def _new(email: str = 'dr.jones@outside.test', **fields) -> NewAccount:
    return NewAccount(email=email, password=NEW_PASSWORD, confirm=NEW_PASSWORD, **fields)


def test_code_is_accepted_in_lower_case_without_dashes(database: str) -> None:
    contact_id, code = _invite()
    valid = activation.check_code(code=code.replace('-', '').lower(), ip_address='10.0.0.1')
    assert valid.contact_id == contact_id
    valid = activation.check_code(code=' ' + code.replace('-', ' ') + ' ', ip_address='10.0.0.1')
    assert valid.contact_id == contact_id


def test_create_account_consumes_the_code_links_and_signs_in(database: str) -> None:
    contact_id, code = _invite()
    signed_in = contact_accounts.create_account(code=code, new=_new('Dr.Jones@Outside.test'), ip_address='10.0.0.1')
    assert signed_in.actor.contact_ids == (contact_id,)
    assert auth.resolve_session(signed_in.token).username == 'dr.jones@outside.test'
    with db.transaction() as session:
        row = session.exec(select(ActivationCode)).one()
        assert row.used_at is not None and row.used_by_account_id == signed_in.actor.account_id
        assert [e.kind for e in session.exec(select(OutboxEmail).order_by(OutboxEmail.id))] == \
            ['invitation', 'account_confirmation']
    with pytest.raises(InvalidInput, match='already been used'):
        activation.check_code(code=code, ip_address='10.0.0.1')
    actions = _actions()
    for action in ('activation_code_redeemed', 'account_created', 'contact_linked', 'activation_code_failed'):
        assert action in actions


def test_expired_code_is_refused(database: str, clock) -> None:
    _, code = _invite()
    clock.advance(days=31)
    with pytest.raises(InvalidInput, match='expired'):
        contact_accounts.create_account(code=code, new=_new(), ip_address='10.0.0.1')
    with db.transaction() as session:
        assert session.exec(select(Account)).all() == []


def test_any_unused_code_works_until_one_is_used(database: str) -> None:
    def two(session):
        contact = factories.contact(session)
        return [activation.issue_code(session, contact=contact, actor=None).code for _ in range(2)], contact.email
    (first, second), email = db.run(two)
    activation.check_code(code=first, ip_address='10.0.0.1')
    contact_accounts.create_account(code=second, new=_new(email), ip_address='10.0.0.1')
    with pytest.raises(InvalidInput, match='already been used'):
        activation.check_code(code=first, ip_address='10.0.0.1')


def test_failed_codes_are_rate_limited_per_address_and_overall(database: str, clock) -> None:
    _, code = _invite()
    for _ in range(5):
        with pytest.raises(InvalidInput):
            activation.check_code(code='AAAA-BBBB-CCCC-DDDD', ip_address='10.0.0.9')
    # the mistyped code's first group is paused from that address (with backoff) ...
    with pytest.raises(RateLimited, match='Too many attempts, try again in 1 minute'):
        activation.check_code(code='AAAA-BBBB-CCCC-DDDD', ip_address='10.0.0.9')
    # ... while another contact's code from the same office address still works
    assert activation.check_code(code=code, ip_address='10.0.0.9')
    # a guesser whose codes vary is paused per address
    for n in range(25):
        with pytest.raises(InvalidInput):
            activation.check_code(code=f'{activation.ALPHABET[n]}BBB-BBBB-CCCC-DDDD', ip_address='10.0.0.9')
    with pytest.raises(RateLimited, match='Too many attempts, try again in 15 minutes'):
        activation.check_code(code=code, ip_address='10.0.0.9')
    assert activation.check_code(code=code, ip_address='10.0.0.10')  # another address is not paused
    clock.advance(minutes=16)
    assert activation.check_code(code=code, ip_address='10.0.0.9')
    for n in range(300):
        with pytest.raises((InvalidInput, RateLimited)):
            activation.check_code(code='AAAA-BBBB-CCCC-DDDD', ip_address=f'10.1.{n // 250}.{n % 250}')
    with pytest.raises(RateLimited):
        activation.check_code(code=code, ip_address='10.2.0.1')


def test_verification_code_to_another_email_updates_the_contact(database: str, clock) -> None:
    contact_id, code = _invite()
    assert contact_accounts.start_email_check(code=code, email='dr.jones@outside.test', ip_address=None) is True
    assert contact_accounts.start_email_check(code=code, email='Office@Outside.test', ip_address=None) is False
    with pytest.raises(InvalidInput, match='Verify your email'):
        contact_accounts.create_account(code=code, new=_new('office@outside.test'), ip_address=None)
    with db.transaction() as session:
        sent = session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'email_verification')).one()
        assert sent.to_address == 'office@outside.test'
        text = outbox.compose(sent)[2]
        digits = [w for w in text.split() if w.strip('.').isdigit() and len(w.strip('.')) == 6][0].strip('.')
        assert digits not in sent.body_text and digits not in sent.context_json  # kept encrypted
        assert digits not in session.exec(select(VerificationCode.code_hash)).one()
    with pytest.raises(InvalidInput, match='not correct'):
        contact_accounts.confirm_email(code=code, email='office@outside.test', verification_code='000000'
                                       if digits != '000000' else '111111', ip_address=None)
    contact_accounts.confirm_email(code=code, email='office@outside.test', verification_code=digits, ip_address=None)
    contact_accounts.create_account(code=code, new=_new('office@outside.test'), ip_address=None)
    with db.transaction() as session:
        assert session.get(Contact, contact_id).email == 'office@outside.test'
    assert 'contact_email_changed' in _actions()


def test_verification_code_expires_and_allows_five_tries(database: str, clock) -> None:
    def issue(session):
        return verification.issue(session, purpose='email_verify', email='a@b.test')
    code = db.run(issue)
    wrong = '123456' if code != '123456' else '654321'
    for _ in range(5):
        with pytest.raises(InvalidInput, match='not correct'):
            verification.confirm(purpose='email_verify', email='a@b.test', code=wrong)
    with pytest.raises(InvalidInput, match='too many times'):
        verification.confirm(purpose='email_verify', email='a@b.test', code=code)
    code = db.run(issue)
    clock.advance(minutes=11)
    with pytest.raises(InvalidInput, match='expired'):
        verification.confirm(purpose='email_verify', email='a@b.test', code=code)


def test_someone_else_records_the_delegate(database: str) -> None:
    _, code = _invite()
    new = _new(for_someone_else=True, delegate_name='Robin Office', delegate_relationship='office assistant')
    signed_in = contact_accounts.create_account(code=code, new=new, ip_address=None)
    with db.transaction() as session:
        account = session.get(Account, signed_in.actor.account_id)
        assert (account.delegate_name, account.delegate_relationship) == ('Robin Office', 'office assistant')


def test_email_taken_and_nothing_stored(database: str) -> None:
    db.run(lambda session: factories.account(session, role='contact', email='dr.jones@outside.test'))
    _, code = _invite()
    with pytest.raises(contact_accounts.EmailTaken):
        contact_accounts.create_account(code=code, new=_new(), ip_address=None)
    with db.transaction() as session:
        assert session.exec(select(ActivationCode.used_at)).one() is None
        assert session.exec(select(AccountContact)).all() == []


def test_link_code_adds_a_second_contact(database: str) -> None:
    _, first = _invite()
    signed_in = contact_accounts.create_account(code=first, new=_new(), ip_address=None)
    second_id, second = _invite('jones.other@outside.test')
    contact_accounts.link_code(actor=signed_in.actor, code=second, ip_address=None)
    with db.transaction() as session:
        account = session.get(Account, signed_in.actor.account_id)
        assert second_id in auth.account_actor(session, account).contact_ids


def test_change_password_needs_the_current_one_and_ends_sessions(database: str) -> None:
    _, code = _invite()
    signed_in = contact_accounts.create_account(code=code, new=_new(), ip_address=None)
    with pytest.raises(InvalidInput, match='current password'):
        contact_accounts.change_password(actor=signed_in.actor, current='wrong one', new='another good passphrase 7',
                                         confirm='another good passphrase 7')
    contact_accounts.change_password(actor=signed_in.actor, current=NEW_PASSWORD, new='another good passphrase 7',
                                     confirm='another good passphrase 7')
    assert auth.resolve_session(signed_in.token) is None
    with db.transaction() as session:
        assert session.exec(select(UserSession)).all() == []
        assert 'password_changed' in [e.kind for e in session.exec(select(OutboxEmail))]
    assert 'password_changed' in _actions()
    assert auth.sign_in(username='dr.jones@outside.test', password='another good passphrase 7', ip_address=None)


def test_reset_password_with_the_emailed_code(database: str) -> None:
    _, code = _invite()
    contact_accounts.create_account(code=code, new=_new(), ip_address=None)
    same = contact_accounts.request_password_reset(email='nobody@outside.test', ip_address=None)
    assert contact_accounts.request_password_reset(email='dr.jones@outside.test', ip_address=None) == same
    with db.transaction() as session:
        sent = session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'password_reset')).one()
    digits = factories.code_in(sent, 'reset_code')
    contact_accounts.reset_password(email='dr.jones@outside.test', code=digits, password='brand new passphrase 55',
                                    confirm='brand new passphrase 55', ip_address=None)
    with pytest.raises(InvalidInput):  # single use
        contact_accounts.reset_password(email='dr.jones@outside.test', code=digits, password='brand new passphrase 56',
                                        confirm='brand new passphrase 56', ip_address=None)
    assert auth.sign_in(username='dr.jones@outside.test', password='brand new passphrase 55', ip_address=None)
    assert 'password_reset' in _actions()


def test_terms_and_notification_preference(database: str) -> None:
    from services import settings
    _, code = _invite()
    signed_in = contact_accounts.create_account(code=code, new=_new(), ip_address=None)
    account_id = signed_in.actor.account_id
    assert not db.run(contact_accounts.terms_pending, account_id=account_id)
    db.run(settings.save_settings, changes={'terms_required': True}, account_id=None)
    assert db.run(contact_accounts.terms_pending, account_id=account_id)
    db.run(contact_accounts.accept_terms, actor=signed_in.actor)
    assert not db.run(contact_accounts.terms_pending, account_id=account_id)
    db.run(contact_accounts.set_notify_mode, actor=signed_in.actor, mode='daily')
    assert db.run(contact_accounts.preferences, actor=signed_in.actor).notify_mode == 'daily'
    with pytest.raises(InvalidInput):
        db.run(contact_accounts.set_notify_mode, actor=signed_in.actor, mode='hourly')


def test_verification_codes_to_one_address_are_limited(database: str) -> None:
    _, code = _invite()
    for _ in range(5):
        assert contact_accounts.start_email_check(code=code, email='office@outside.test', ip_address=None) is False
    with pytest.raises(RateLimited, match='try again in 60 minutes'):
        contact_accounts.start_email_check(code=code, email='office@outside.test', ip_address=None)


def test_username_rules_when_email_is_not_the_username(database: str) -> None:
    from services import settings
    _, code = _invite()
    with pytest.raises(InvalidInput, match='must be your email'):
        contact_accounts.create_account(code=code, new=_new(username='jonesy'), ip_address=None)
    db.run(settings.save_settings, changes={'email_is_username': False}, account_id=None)
    with pytest.raises(InvalidInput, match='3 to 64 characters'):
        contact_accounts.create_account(code=code, new=_new(username='a b'), ip_address=None)
    db.run(lambda session: factories.account(session, role='contact', email='taken@outside.test'))
    with pytest.raises(InvalidInput, match='username has been taken'):
        contact_accounts.create_account(code=code, new=_new(username='TAKEN@outside.test'), ip_address=None)
    signed_in = contact_accounts.create_account(code=code, new=_new(username='DrJones_1'), ip_address=None)
    assert signed_in.actor.username == 'drjones_1'


def test_staff_accounts_cannot_hold_activation_codes(database: str) -> None:
    from services.errors import Forbidden
    _, code = _invite()
    staff = db.run(lambda session: factories.actor_for(session, factories.account(session, role='staff')))
    with pytest.raises(Forbidden):
        contact_accounts.link_code(actor=staff, code=code, ip_address=None)


def test_failed_link_after_sign_in_leaves_no_session(database: str) -> None:
    db.run(lambda session: factories.contact_account(session, factories.contact(session, email='x@outside.test')))
    with pytest.raises(InvalidInput):
        contact_accounts.sign_in_and_link(username='x@outside.test', password=factories.PASSWORD,
                                          code='AAAA-BBBB-CCCC-DDDD', ip_address=None)
    with db.transaction() as session:
        assert session.exec(select(UserSession)).all() == []
