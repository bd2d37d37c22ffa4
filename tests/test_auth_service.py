"""Accounts, sign-in, lockout, sessions and setup, against SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from models import Account, AuditEvent, Setting, UserSession
from services import auth, db, passwords
from services.errors import InvalidInput
from tests import factories


def _staff(email: str = 'nurse@clinic.test') -> None:
    db.run(lambda session: factories.account(session, role='staff', email=email))


def _actions() -> list[str]:
    with db.transaction() as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def test_sign_in_opens_a_session_and_audits(database) -> None:
    _staff()
    result = auth.sign_in(username=' NURSE@clinic.test ', password=factories.PASSWORD, ip_address='10.0.0.7')
    assert result is not None and result.actor.role == 'staff'
    assert auth.resolve_session(result.token).username == 'nurse@clinic.test'
    with db.transaction() as session:
        row = session.exec(select(UserSession)).one()
        assert row.token_hash == auth.token_hash(result.token) and row.token_hash != result.token
        event = session.exec(select(AuditEvent).where(AuditEvent.action == 'sign_in')).one()
        assert event.ip_address == '10.0.0.7'


def test_each_sign_in_gets_a_new_token(database) -> None:
    _staff()
    first = auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None)
    second = auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None)
    assert first.token != second.token


def test_wrong_password_and_unknown_user_fail_alike(database) -> None:
    _staff()
    assert auth.sign_in(username='nurse@clinic.test', password='wrong password', ip_address=None) is None
    assert auth.sign_in(username='ghost@clinic.test', password='wrong password', ip_address=None) is None
    assert _actions().count('sign_in_failed') == 2


def test_lockout_after_repeated_failures_and_release_after_backoff(database, clock) -> None:
    _staff()
    for _ in range(5):
        assert auth.sign_in(username='nurse@clinic.test', password='wrong password', ip_address=None) is None
    # locked: even the right password is refused, with the same answer (and the attempt is not counted)
    assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None) is None
    clock.advance(minutes=1, seconds=1)
    # the lock ended when its minute ended; a failure now locks again for twice as long
    assert auth.sign_in(username='nurse@clinic.test', password='wrong password', ip_address=None) is None
    clock.advance(minutes=1, seconds=1)
    assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None) is None
    clock.advance(minutes=1)
    assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None) is not None


def test_unknown_usernames_lock_the_same_way(database) -> None:
    for _ in range(6):
        auth.sign_in(username='ghost@clinic.test', password='wrong password', ip_address=None)
    with db.transaction() as session:
        from services import throttle
        assert throttle.locked_until(session, 'sign_in', 'ghost@clinic.test') is not None


def test_session_expires_after_idle_time(database, clock) -> None:
    _staff()
    token = auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None).token
    clock.advance(minutes=14)
    assert auth.resolve_session(token) is not None  # activity moves the idle deadline
    clock.advance(minutes=14)
    assert auth.resolve_session(token) is not None
    clock.advance(minutes=16)
    assert auth.resolve_session(token) is None
    assert 'session_expired' in _actions()


def test_session_expires_after_absolute_time_despite_activity(database, clock) -> None:
    _staff()
    token = auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None).token
    for _ in range(12 * 6):  # active every 10 minutes for 12 hours
        clock.advance(minutes=10)
        assert auth.resolve_session(token) is not None
    clock.advance(minutes=1)
    assert auth.resolve_session(token) is None


def test_sign_out_invalidates_the_token(database) -> None:
    _staff()
    token = auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None).token
    auth.end_session(token)
    assert auth.resolve_session(token) is None
    assert 'sign_out' in _actions()


def test_disabled_account_cannot_sign_in_and_loses_sessions(database) -> None:
    _staff()
    token = auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None).token
    with db.transaction() as session:
        account = session.exec(select(Account)).one()
        account.is_active = False
        session.add(account)
    assert auth.resolve_session(token) is None
    assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None) is None


def test_password_change_ends_all_sessions(database) -> None:
    _staff()
    tokens = [auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None).token
              for _ in range(2)]
    with db.transaction() as session:
        account = session.exec(select(Account)).one()
        auth.set_password(session, account=account, new_hash=passwords.hash_password('another long passphrase 7'))
    assert all(auth.resolve_session(t) is None for t in tokens)


def test_hash_is_upgraded_when_the_cost_changes(database, monkeypatch) -> None:
    _staff()
    from services import config
    monkeypatch.setenv('SMP_ARGON2_MEMORY_KIB', '512')
    config.reload_config()
    assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None)
    with db.transaction() as session:
        assert 'm=512' in session.exec(select(Account)).one().password_hash


def test_duplicate_username_is_refused(database) -> None:
    _staff()
    with pytest.raises(InvalidInput, match='taken'):
        _staff('NURSE@clinic.test')
    with db.transaction() as session:
        assert len(session.exec(select(Account)).all()) == 1


@pytest.mark.parametrize('email', ['', 'no-at-sign', 'a@b', 'x' * 250 + '@clinic.test'])
def test_bad_email_is_refused(database, email) -> None:
    with pytest.raises(InvalidInput), db.transaction() as session:
        auth.create_account(session, email=email, password_hash='x', role='staff')
    with db.transaction() as session:
        assert session.exec(select(Account)).all() == []


def test_over_long_password_is_refused_before_hashing() -> None:
    with pytest.raises(InvalidInput):
        passwords.hash_password('x' * 129)
    assert passwords.verify_password(None, 'x' * 10_000) == (False, None)


def test_setup_token_creates_one_admin_once(database) -> None:
    token = db.run(auth.issue_setup_token)
    result = auth.complete_setup(token=token, email='boss@clinic.test', password='a long enough passphrase 42',
                                 confirm='a long enough passphrase 42', ip_address=None)
    assert result.actor.role == 'admin'
    with pytest.raises(InvalidInput, match='not valid'):
        auth.complete_setup(token=token, email='other@clinic.test', password='a long enough passphrase 42',
                            confirm='a long enough passphrase 42', ip_address=None)
    assert db.run(auth.issue_setup_token) is None
    assert 'setup_completed' in _actions()


def test_processes_started_at_once_each_print_a_setup_link_that_works_until_one_is_used(database) -> None:
    """Two processes starting on an empty database (a deployment behind nginx) each issue a setup token at once:
    neither fails, both links work, and the first admin made with one spends the other."""
    both = threading.Barrier(2)

    def start_a_process(_n: int) -> str | None:
        both.wait()
        return db.run(auth.issue_setup_token)

    with ThreadPoolExecutor(2) as pool:
        tokens = list(pool.map(start_a_process, range(2)))
    assert all(tokens) and tokens[0] != tokens[1]
    assert all(db.run(auth.setup_token_valid, token=token) for token in tokens)
    passphrase = 'a long enough passphrase 42'
    auth.complete_setup(token=tokens[1], email='boss@clinic.test', password=passphrase, confirm=passphrase,
                        ip_address=None)
    with pytest.raises(InvalidInput, match='not valid'):
        auth.complete_setup(token=tokens[0], email='other@clinic.test', password=passphrase, confirm=passphrase,
                            ip_address=None)
    with db.transaction() as session:
        assert session.exec(select(Account.email).where(Account.role == 'admin')).all() == ['boss@clinic.test']
        assert not [key for key in session.exec(select(Setting.key)).all() if key.startswith('_setup_token')]
