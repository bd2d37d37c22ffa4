"""Passkeys in the service layer, on SQLite and PostgreSQL, with a software authenticator: enrolment, passwordless
sign-in and the second step, replays, sign counts, other people's passkeys, lockout, and managing your passkeys."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import Account, AuditEvent, Passkey, PasskeyCeremony
from services import auth, config, db, passkeys, settings, throttle
from services.errors import Forbidden, InvalidInput, NotAvailable
from tests import factories
from tests.soft_authenticator import SoftAuthenticator

ORIGIN = 'https://portal.clinic.test'
TAB = 'tab-1'


@pytest.fixture(autouse=True)
def base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('SMP_BASE_URL', ORIGIN + '/')
    config.reload_config()
    settings.invalidate_cache()


def _person(email: str = 'doc@outside.test', role: str = 'contact') -> tuple[int, str]:
    """An account and a session token of it."""
    def make(session):
        account = factories.account(session, role=role, email=email)
        return account.id, auth.create_session(session, account_id=account.id, ip_address=None)
    return db.run(make)


def _actor(account_id: int):
    return db.run(lambda session: auth.account_actor(session, session.get(Account, account_id)))


def _enrol(key: SoftAuthenticator, account_id: int, token: str, name: str = 'Work laptop', tab: str = TAB) -> dict:
    db.run(passkeys.begin_registration, actor=_actor(account_id), name=name, binding=tab, session_token=token)
    options = db.run(passkeys.options_for, binding=tab, session_token=token)
    result = passkeys.verify_response(binding=tab, session_token=token, credential=key.create(options, ORIGIN),
                                      ip_address='10.0.0.9')
    assert result.ok, result
    return options


def _actions(name: str) -> list[AuditEvent]:
    return db.run(lambda session: session.exec(select(AuditEvent).where(AuditEvent.action == name)
                                                .order_by(AuditEvent.id)).all())


def _assert(key: SoftAuthenticator, tab: str = TAB, account_id: int | None = None, **get) -> tuple[dict, dict]:
    db.run(passkeys.begin_authentication, binding=tab, account_id=account_id)
    options = db.run(passkeys.options_for, binding=tab, session_token=None)
    return options, key.get(options, get.pop('origin', ORIGIN), **get)


def test_relying_party_comes_from_the_base_url(database, monkeypatch) -> None:
    assert passkeys.relying_party() == passkeys.RelyingParty('portal.clinic.test', ORIGIN, 'Secure Message Portal')
    monkeypatch.setenv('SMP_BASE_URL', 'https://Portal.Clinic.org:8443/smp')
    config.reload_config()
    settings.invalidate_cache()
    rp = passkeys.relying_party()
    assert (rp.id, rp.origin) == ('portal.clinic.org', 'https://portal.clinic.org:8443')  # as a browser writes it
    monkeypatch.setenv('SMP_BASE_URL', 'https://portal.clinic.org:443')
    config.reload_config()
    settings.invalidate_cache()
    assert passkeys.relying_party().origin == 'https://portal.clinic.org'


def test_enrolment_stores_a_named_passkey_and_excludes_it_next_time(database) -> None:
    account_id, token = _person()
    options = _enrol(SoftAuthenticator(), account_id, token)
    public = options['publicKey']
    assert public['rp'] == {'id': 'portal.clinic.test', 'name': 'Secure Message Portal'}
    assert public['authenticatorSelection']['residentKey'] == 'preferred'
    assert public['authenticatorSelection']['userVerification'] == 'preferred'
    assert public['excludeCredentials'] == []
    assert public['user']['name'] == 'doc@outside.test'
    listed = db.run(passkeys.list_passkeys, actor=_actor(account_id))
    assert [(p.name, p.transports, p.last_used_at) for p in listed] == [('Work laptop', ('internal',), None)]
    assert db.run(passkeys.count_for, account_id=account_id) == 1
    assert [e.object_id for e in _actions('passkey_enrolled')] == [str(listed[0].id)]
    assert db.run(lambda session: session.exec(select(PasskeyCeremony)).all()) == []  # the challenge is spent
    # a second passkey: the first is excluded, and both carry the same user handle
    db.run(passkeys.begin_registration, actor=_actor(account_id), name='Phone', binding=TAB, session_token=token)
    again = db.run(passkeys.options_for, binding=TAB, session_token=token)['publicKey']
    stored = db.run(lambda session: session.exec(select(Passkey)).one())
    assert [c['id'] for c in again['excludeCredentials']] == [stored.credential_id]
    assert again['user']['id'] == public['user']['id'] == stored.user_handle


def test_enrolment_needs_the_session_that_began_it(database) -> None:
    account_id, token = _person()
    other_id, other_token = _person('nurse@clinic.test', 'staff')
    key = SoftAuthenticator()
    db.run(passkeys.begin_registration, actor=_actor(account_id), name='Laptop', binding=TAB, session_token=token)
    with pytest.raises(Forbidden):
        db.run(passkeys.options_for, binding=TAB, session_token=other_token)
    with pytest.raises(Forbidden):
        db.run(passkeys.options_for, binding=TAB, session_token=None)
    options = db.run(passkeys.options_for, binding=TAB, session_token=token)
    with pytest.raises(Forbidden):
        passkeys.verify_response(binding=TAB, session_token=other_token, credential=key.create(options, ORIGIN),
                                 ip_address=None)
    with pytest.raises(NotAvailable):  # another tab has no ceremony
        db.run(passkeys.options_for, binding='tab-2', session_token=token)
    with pytest.raises(Forbidden):  # a session of someone else cannot start one for this person
        db.run(passkeys.begin_registration, actor=_actor(account_id), name='x', binding=TAB, session_token=other_token)
    assert db.run(passkeys.count_for, account_id=account_id) == 0 and db.run(passkeys.count_for, account_id=other_id) == 0


@pytest.mark.parametrize('name', ['', '   ', 'x' * 101, 'bad\x00name'])
def test_a_bad_name_is_refused_and_nothing_starts(database, name) -> None:
    account_id, token = _person()
    with pytest.raises(InvalidInput):
        db.run(passkeys.begin_registration, actor=_actor(account_id), name=name, binding=TAB, session_token=token)
    assert db.run(lambda session: session.exec(select(PasskeyCeremony)).all()) == []


def test_a_response_from_another_origin_is_refused(database) -> None:
    account_id, token = _person()
    db.run(passkeys.begin_registration, actor=_actor(account_id), name='Laptop', binding=TAB, session_token=token)
    options = db.run(passkeys.options_for, binding=TAB, session_token=token)
    result = passkeys.verify_response(binding=TAB, session_token=token,
                                      credential=SoftAuthenticator().create(options, 'https://evil.test'),
                                      ip_address=None)
    assert not result.ok and db.run(passkeys.count_for, account_id=account_id) == 0
    assert _actions('passkey_failed')[0].detail_json.count('enrol') == 1


def test_passwordless_sign_in_opens_a_full_session_once(database) -> None:
    account_id, token = _person()
    key = SoftAuthenticator()
    _enrol(key, account_id, token)
    options, answer = _assert(key)
    assert options['publicKey']['allowCredentials'] == [] and options['publicKey']['userVerification'] == 'required'
    assert passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address='10.0.0.9').ok
    signed = passkeys.complete_sign_in(binding=TAB, ip_address='10.0.0.9')
    assert signed is not None and signed.actor.account_id == account_id
    assert auth.resolve_session(signed.token).username == 'doc@outside.test'
    assert passkeys.complete_sign_in(binding=TAB, ip_address='10.0.0.9') is None  # once
    sign_ins = _actions('sign_in')
    assert len(sign_ins) == 1 and '"method": "passkey"' in sign_ins[0].detail_json
    assert len(_actions('passkey_used')) == 1
    with db.transaction() as session:
        assert session.get(Account, account_id).last_sign_in_at is not None
        assert session.exec(select(Passkey)).one().last_used_at is not None


def test_a_replayed_assertion_is_refused(database) -> None:
    account_id, token = _person()
    key = SoftAuthenticator()
    _enrol(key, account_id, token)
    _options, answer = _assert(key)
    assert passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address=None).ok
    # the same answer again: its challenge was answered
    assert not passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address=None).ok
    # and against a fresh challenge: the signature covers the old one
    db.run(passkeys.begin_authentication, binding=TAB)
    assert not passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address=None).ok
    assert passkeys.complete_sign_in(binding=TAB, ip_address=None) is None


def test_a_sign_count_that_does_not_grow_is_refused(database) -> None:
    account_id, token = _person()
    key = SoftAuthenticator()
    _enrol(key, account_id, token)
    _options, answer = _assert(key)
    assert passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address=None).ok
    key.count -= 2  # a cloned authenticator answers with an older count
    _options, answer = _assert(key)
    assert not passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address=None).ok
    assert 'sign count' in _actions('passkey_failed')[-1].detail_json


def test_passwordless_needs_user_verification(database) -> None:
    account_id, token = _person()
    key = SoftAuthenticator()
    _enrol(key, account_id, token)
    key.verifies_user = False
    _options, answer = _assert(key)
    assert not passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address=None).ok
    assert passkeys.complete_sign_in(binding=TAB, ip_address=None) is None


def test_second_step_takes_only_that_persons_passkeys_and_counts_failures(database) -> None:
    doc_id, doc_token = _person()
    nurse_id, nurse_token = _person('nurse@clinic.test', 'staff')
    doc_key, nurse_key = SoftAuthenticator(), SoftAuthenticator()
    _enrol(doc_key, doc_id, doc_token)
    _enrol(nurse_key, nurse_id, nurse_token)
    options, answer = _assert(nurse_key, account_id=doc_id,
                              credential_id=next(iter(nurse_key.keys)))
    doc_credential = db.run(lambda session: session.exec(
        select(Passkey.credential_id).where(Passkey.account_id == doc_id)).one())
    assert [c['id'] for c in options['publicKey']['allowCredentials']] == [doc_credential]
    assert not passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address='10.0.0.9').ok
    assert not passkeys.complete_second_step(binding=TAB, account_id=doc_id)
    assert not passkeys.complete_second_step(binding=TAB, account_id=nurse_id)
    # the doctor's own passkey passes, once, and for the doctor only
    _options, answer = _assert(doc_key, account_id=doc_id)
    assert passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address='10.0.0.9').ok
    assert not passkeys.complete_second_step(binding=TAB, account_id=nurse_id)
    _options, answer = _assert(doc_key, account_id=doc_id)
    assert passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address='10.0.0.9').ok
    assert passkeys.complete_second_step(binding=TAB, account_id=doc_id)
    assert not passkeys.complete_second_step(binding=TAB, account_id=doc_id)
    failed = _actions('passkey_failed')
    assert [e.actor for e in failed] == ['doc@outside.test']


def test_failed_assertions_lock_the_account_like_wrong_passwords(database, clock) -> None:
    account_id, token = _person()
    key = SoftAuthenticator()
    _enrol(key, account_id, token)
    for _ in range(5):  # signinMaxFailures: 5
        _options, answer = _assert(key, account_id=account_id, origin='https://evil.test')
        assert not passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address=None).ok
    assert db.run(lambda session: throttle.locked_until(session, 'sign_in', 'doc@outside.test')) is not None
    # locked: even the right passkey is refused, and the password too (one lockout)
    _options, answer = _assert(key, account_id=account_id)
    assert not passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address=None).ok
    assert auth.sign_in(username='doc@outside.test', password=factories.PASSWORD, ip_address=None) is None
    assert 'locked' in _actions('passkey_failed')[-1].detail_json
    clock.advance(minutes=1, seconds=1)
    _options, answer = _assert(key)
    assert passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address=None).ok
    assert passkeys.complete_sign_in(binding=TAB, ip_address=None) is not None
    assert db.run(lambda session: throttle.locked_until(session, 'sign_in', 'doc@outside.test')) is None


def test_an_unknown_passkey_or_a_disabled_account_signs_nobody_in(database) -> None:
    account_id, token = _person()
    key = SoftAuthenticator()
    _enrol(key, account_id, token)
    stranger = SoftAuthenticator()
    stranger.keys[b'x' * 32] = next(iter(key.keys.values()))  # a credential id the portal never saw
    _options, answer = _assert(stranger, credential_id=b'x' * 32)
    assert not passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address=None).ok
    for junk in (None, 'text', {'id': 5}, {'id': 'x' * 5000}, {'id': next(iter(_b64_ids()))}):
        db.run(passkeys.begin_authentication, binding=TAB)
        assert not passkeys.verify_response(binding=TAB, session_token=None, credential=junk, ip_address=None).ok

    def disable(session):
        account = session.get(Account, account_id)
        account.is_active = False
        session.add(account)
    db.run(disable)
    _options, answer = _assert(key)
    assert not passkeys.verify_response(binding=TAB, session_token=None, credential=answer, ip_address=None).ok
    assert passkeys.complete_sign_in(binding=TAB, ip_address=None) is None


def _b64_ids() -> list[str]:
    return db.run(lambda session: list(session.exec(select(Passkey.credential_id)).all()))


def test_rename_list_and_remove_your_own_passkeys_only(database) -> None:
    account_id, token = _person()
    other_id, other_token = _person('nurse@clinic.test', 'staff')
    _enrol(SoftAuthenticator(), account_id, token)
    _enrol(SoftAuthenticator(), other_id, other_token, name='Nurse key')
    mine = db.run(passkeys.list_passkeys, actor=_actor(account_id))[0]
    theirs = db.run(passkeys.list_passkeys, actor=_actor(other_id))[0]
    db.run(passkeys.rename_passkey, actor=_actor(account_id), passkey_id=mine.id, name='  Home desktop ')
    assert [p.name for p in db.run(passkeys.list_passkeys, actor=_actor(account_id))] == ['Home desktop']
    with pytest.raises(InvalidInput):
        db.run(passkeys.rename_passkey, actor=_actor(account_id), passkey_id=mine.id, name='')
    for call in (passkeys.rename_passkey, passkeys.remove_passkey):
        with pytest.raises(NotAvailable):
            kwargs = {'name': 'Mine now'} if call is passkeys.rename_passkey else {}
            db.run(call, actor=_actor(account_id), passkey_id=theirs.id, **kwargs)
    assert db.run(passkeys.may_remove_passkey, actor=_actor(account_id), passkey_id=mine.id) is None
    assert db.run(passkeys.remove_passkey, actor=_actor(account_id), passkey_id=mine.id) == 'Home desktop'
    assert db.run(passkeys.count_for, account_id=account_id) == 0
    assert db.run(passkeys.count_for, account_id=other_id) == 1
    assert [e.object_id for e in _actions('passkey_removed')] == [str(mine.id)]
    assert len(_actions('passkey_renamed')) == 1
    with pytest.raises(Forbidden):
        db.run(passkeys.list_passkeys, actor=None)


def test_an_admin_resets_all_passkeys_of_an_account(database) -> None:
    account_id, token = _person()
    _enrol(SoftAuthenticator(), account_id, token)
    _enrol(SoftAuthenticator(), account_id, token, name='Phone')
    admin = db.run(lambda session: factories.actor_for(session, factories.account(session, role='admin')))
    with pytest.raises(Forbidden):
        db.run(passkeys.remove_all, actor=_actor(account_id), account_id=account_id)
    assert db.run(passkeys.remove_all, actor=admin, account_id=account_id) == 2
    assert db.run(passkeys.count_for, account_id=account_id) == 0
    assert len(_actions('passkey_removed')) == 2
