"""Two-step sign-in services: TOTP window and reuse, recovery codes, lockout, policy and grace, session rotation."""
from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlmodel import select

from models import Account, AuditEvent, OutboxEmail, RecoveryCode, TotpFactor, UserSession
from services import auth, db, second_factor, settings
from services.errors import Forbidden, InvalidInput
from tests import factories

STAFF = 'nurse@clinic.test'
ADMIN = 'boss@clinic.test'


def _account(role: str = 'staff', email: str = STAFF) -> int:
    return db.run(lambda session: factories.account(session, role=role, email=email).id)


def _actor(account_id: int):
    return db.run(lambda session: factories.actor_for(session, session.get(Account, account_id)))


def _secret(setup: second_factor.TotpSetup) -> str:
    return setup.secret.replace(' ', '')


def _enrol(account_id: int) -> tuple[str, list[str]]:
    """Set up the authenticator app through the services; the secret and the recovery codes."""
    actor = _actor(account_id)
    setup = db.run(second_factor.start_totp, actor=actor)
    secret = _secret(setup)
    codes = db.run(second_factor.confirm_totp, actor=actor, code=_code_at(secret, 0))
    return secret, codes


def _code_at(secret: str, offset_steps: int) -> str:
    from services import clock
    return pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=30 * offset_steps))


def _actions() -> list[str]:
    with db.transaction() as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def _set(**values) -> None:
    def store(session) -> None:
        for key, value in values.items():
            settings.set_value(session, key, value)
    db.run(store)
    settings.invalidate_cache()


def test_enrolment_needs_a_first_code_and_issues_ten_recovery_codes(database, clock) -> None:
    account_id = _account()
    actor = _actor(account_id)
    setup = db.run(second_factor.start_totp, actor=actor)
    assert setup.qr_data_url.startswith('data:image/svg+xml') and setup.uri.startswith('otpauth://totp/')
    assert db.run(second_factor.enrolled_factors, account_id=account_id) == set()  # not before the first code
    with pytest.raises(InvalidInput):
        db.run(second_factor.confirm_totp, actor=actor, code='000000')
    codes = db.run(second_factor.confirm_totp, actor=actor, code=_code_at(_secret(setup), 0))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert db.run(second_factor.enrolled_factors, account_id=account_id) == {'totp'}
    with db.transaction() as session:
        stored = session.exec(select(TotpFactor)).one()
        assert _secret(setup) not in stored.secret_sealed  # sealed, never in clear
        hashes = [r.code_hash for r in session.exec(select(RecoveryCode)).all()]
    assert not set(codes) & set(hashes)
    assert 'second_factor_enrolled' in _actions()


def test_password_sign_in_of_an_enrolled_person_is_pending_until_the_code(database, clock) -> None:
    account_id = _account()
    secret, _ = _enrol(account_id)
    clock.advance(seconds=60)
    result = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address='10.0.0.9')
    assert result.second_step == 'verify'
    assert auth.resolve_session(result.token) is None  # pending: not signed in anywhere
    assert db.run(second_factor.pending, token=result.token).step == 'verify'
    done = second_factor.verify_code(token=result.token, code=_code_at(secret, 0), ip_address='10.0.0.9')
    assert done.error is None and done.token != result.token and done.home == '/staff'
    assert auth.resolve_session(done.token).username == STAFF
    assert auth.resolve_session(result.token) is None
    with db.transaction() as session:
        assert len(session.exec(select(UserSession)).all()) == 1  # the pending row was deleted (rotated)
    assert 'second_step_passed' in _actions()


def test_codes_one_step_either_side_work_and_further_ones_do_not(database, clock) -> None:
    account_id = _account()
    secret, _ = _enrol(account_id)
    for offset, accepted in ((-2, False), (2, False), (-1, True), (1, True)):
        clock.advance(seconds=120)
        pending = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
        result = second_factor.verify_code(token=pending.token, code=_code_at(secret, offset), ip_address=None)
        assert (result.token is not None) == accepted, offset


def test_a_used_code_is_refused_the_second_time(database, clock) -> None:
    account_id = _account()
    secret, _ = _enrol(account_id)
    clock.advance(seconds=60)
    code = _code_at(secret, 0)
    first = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    assert second_factor.verify_code(token=first.token, code=code, ip_address=None).token
    again = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    refused = second_factor.verify_code(token=again.token, code=code, ip_address=None)
    assert refused.token is None and refused.error == second_factor.WRONG_CODE
    assert 'second_step_failed' in _actions()


def test_a_recovery_code_works_once(database, clock) -> None:
    account_id = _account()
    _, codes = _enrol(account_id)
    first = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    ok = second_factor.verify_code(token=first.token, code=codes[3].upper().replace('-', ' '), ip_address=None,
                                   recovery=True)
    assert ok.token is not None
    again = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    refused = second_factor.verify_code(token=again.token, code=codes[3], ip_address=None, recovery=True)
    assert refused.token is None and refused.error == second_factor.WRONG_RECOVERY
    assert db.run(second_factor.recovery_codes_left, account_id=account_id) == 9
    assert 'recovery_code_used' in _actions()


def test_wrong_codes_count_toward_the_password_lockout(database, clock) -> None:
    _set(signin_max_failures=3)
    account_id = _account()
    secret, _ = _enrol(account_id)
    pending = auth.sign_in(username=STAFF, password='wrong password!', ip_address=None)
    assert pending is None  # one failure from the password
    pending = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    for _ in range(2):
        assert second_factor.verify_code(token=pending.token, code='123456', ip_address=None).token is None
    locked = second_factor.verify_code(token=pending.token, code=_code_at(secret, 0), ip_address=None)
    assert locked.token is None and 'paused' in locked.error  # even the right code waits for the lock
    assert 'locked' in _actions()


def test_complete_second_step_rotates_the_token_for_any_method(database) -> None:
    account_id = _account()
    _enrol(account_id)
    pending = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    new = second_factor.complete_second_step(pending.token, method='passkey', ip_address=None)
    assert auth.resolve_session(new).username == STAFF
    with pytest.raises(InvalidInput):
        second_factor.complete_second_step(pending.token, method='passkey', ip_address=None)
    with pytest.raises(InvalidInput):  # a full session is not pending
        second_factor.complete_second_step(new, method='passkey', ip_address=None)


def test_a_session_row_defaults_to_full(database) -> None:
    account_id = _account()
    token = db.run(auth.create_session, account_id=account_id, ip_address=None)  # as a passkey sign-in makes it
    assert auth.resolve_session(token).username == STAFF


def test_grace_period_then_enrolment_required(database, clock) -> None:
    _account()
    first = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    assert first.second_step is None  # default policy: required for staff, 14 days to enrol
    actor = auth.resolve_session(first.token)
    notice = db.run(second_factor.enrol_notice, actor=actor, settings=settings.get_settings())
    assert notice is not None and notice.date() == (clock.current + timedelta(days=14)).date()
    clock.advance(days=15)
    late = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    assert late.second_step == 'enrol' and auth.resolve_session(late.token) is None
    setup = db.run(second_factor.begin_enrolment, token=late.token)
    done = db.run(second_factor.finish_enrolment, token=late.token, code=_code_at(_secret(setup), 0),
                  ip_address=None)
    assert len(done.recovery_codes) == 10 and auth.resolve_session(done.token).username == STAFF


def test_contacts_are_optional_by_default_and_required_when_set(database, clock) -> None:
    contact = db.run(lambda session: factories.contact_account(session, factories.contact(session)).username)
    assert auth.sign_in(username=contact, password=factories.PASSWORD, ip_address=None).second_step is None
    _set(second_factor_contacts='required', second_factor_grace_days=0)
    assert auth.sign_in(username=contact, password=factories.PASSWORD, ip_address=None).second_step == 'enrol'


def test_staff_policy_off_means_no_second_step_and_no_notice(database, clock) -> None:
    _set(second_factor_staff=False)
    _account()
    result = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    assert result.second_step is None
    actor = auth.resolve_session(result.token)
    assert db.run(second_factor.enrol_notice, actor=actor, settings=settings.get_settings()) is None


def test_last_factor_cannot_be_removed_when_required(database, clock) -> None:
    account_id = _account()
    _enrol(account_id)
    actor = _actor(account_id)
    with pytest.raises(InvalidInput, match='only one'):
        db.run(second_factor.remove_totp, actor=actor)
    assert db.run(second_factor.enrolled_factors, account_id=account_id) == {'totp'}
    _set(second_factor_staff=False)
    db.run(second_factor.remove_totp, actor=actor)
    assert db.run(second_factor.enrolled_factors, account_id=account_id) == set()
    assert db.run(second_factor.recovery_codes_left, account_id=account_id) == 0


def test_admin_reset_and_force(database, clock) -> None:
    staff_id = _account()
    admin = _actor(_account('admin', ADMIN))
    _enrol(staff_id)
    with pytest.raises(Forbidden):
        db.run(second_factor.admin_reset, actor=_actor(staff_id), account_id=staff_id)
    db.run(second_factor.admin_reset, actor=admin, account_id=staff_id)
    assert db.run(second_factor.enrolled_factors, account_id=staff_id) == set()
    with db.transaction() as session:
        email = session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'second_factor_reset')).one()
        assert email.to_address == STAFF and 'reset' in email.subject
    db.run(second_factor.admin_force, actor=admin, account_id=staff_id, forced=True)
    assert auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None).second_step == 'enrol'
    assert {'second_factor_reset', 'second_factor_forced'} <= set(_actions())


def test_trusted_browser_skips_the_step_and_sign_out_everywhere_revokes_it(database, clock) -> None:
    _set(second_factor_trust_browser=True)
    account_id = _account()
    secret, _ = _enrol(account_id)
    clock.advance(seconds=60)
    pending = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    done = second_factor.verify_code(token=pending.token, code=_code_at(secret, 0), ip_address=None,
                                     trust_browser=True)
    assert done.trust_token
    again = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    skipped = second_factor.use_trusted_browser(token=again.token, trust_token=done.trust_token, ip_address=None)
    assert skipped is not None and auth.resolve_session(skipped.token).username == STAFF
    db.run(lambda session: auth.end_all_sessions(session, account_id=account_id))
    third = auth.sign_in(username=STAFF, password=factories.PASSWORD, ip_address=None)
    assert second_factor.use_trusted_browser(token=third.token, trust_token=done.trust_token, ip_address=None) is None
