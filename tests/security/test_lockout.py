"""Issue 12 item 5: a lock cannot be prolonged by hammering it, ends on time, and spraying is limited per address;
one person's mistyped activation code does not pause everyone behind the same address."""
from __future__ import annotations

from sqlmodel import select

from models import AuditEvent
from services import activation, auth, db, throttle
from services.errors import InvalidInput, RateLimited
from tests import factories


def _staff(email: str = 'nurse@clinic.test') -> None:
    db.run(lambda session: factories.account(session, role='staff', email=email))


def _events(action: str) -> list[AuditEvent]:
    return db.run(lambda session: list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()))


def test_attempts_during_a_lock_are_not_counted_and_the_lock_ends_on_time(database, clock) -> None:
    _staff()
    for _ in range(5):
        assert auth.sign_in(username='nurse@clinic.test', password='wrong password', ip_address='10.0.0.1') is None
    for _ in range(20):  # an attacker hammering the locked account, the owner trying the right password
        assert auth.sign_in(username='nurse@clinic.test', password='wrong password', ip_address='10.0.0.2') is None
        assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address='10.0.0.3') is None
    clock.advance(seconds=61)  # the one-minute lock is over: the right password works right away
    assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address='10.0.0.3') is not None
    failed = _events('sign_in_failed')
    assert sum('"locked"' in e.detail_json for e in failed) == 40  # answered and audited, not counted
    assert len(_events('locked')) == 1


def test_a_password_spray_from_one_address_is_paused_across_usernames(database, clock) -> None:
    _staff()
    for n in range(30):  # one guess per username, never enough to lock any account
        assert auth.sign_in(username=f'user{n}@clinic.test', password='Winter2026!', ip_address='10.9.9.9') is None
    # the address has used its budget: even a right password is refused from it (the answer is the same) ...
    assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address='10.9.9.9') is None
    # ... and nowhere else; no account was locked
    assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address='10.0.0.1') is not None
    assert db.run(lambda session: throttle.locked_until(session, 'sign_in', 'user0@clinic.test')) is None
    locked = _events('locked')
    assert [e.ip_address for e in locked] == ['10.9.9.9'] and '"sign_in_address"' in locked[0].detail_json
    clock.advance(minutes=16)
    assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address='10.9.9.9') is not None


def test_one_mistyping_person_does_not_pause_the_office(database, clock) -> None:
    def invite(session):
        return [activation.issue_code(session, contact=factories.contact(session), actor=None).code for _ in range(2)]
    mine, colleague = db.run(invite)
    typo = mine[:5] + ('X' if mine[5] != 'X' else 'Y') + mine[6:]
    for _ in range(5):
        try:
            activation.check_code(code=typo, ip_address='192.0.2.10')
        except InvalidInput:
            pass
    # my own code's first group is paused for a minute from the office address, with backoff ...
    try:
        activation.check_code(code=mine, ip_address='192.0.2.10')
        raise AssertionError('expected a pause')
    except RateLimited as paused:
        assert 'try again in 1 minute' in str(paused)
    # ... while a colleague behind the same address goes on at once
    assert activation.check_code(code=colleague, ip_address='192.0.2.10')
    locked = _events('locked')
    assert len(locked) == 1 and '"activation_prefix"' in locked[0].detail_json and locked[0].ip_address == '192.0.2.10'
    assert mine[:4] not in locked[0].detail_json
    clock.advance(seconds=61)
    assert activation.check_code(code=mine, ip_address='192.0.2.10')
