"""Two-step sign-in: which second factors a person has, the admin's policy, the second step after the password,
authenticator-app (TOTP) enrolment, recovery codes, trusted browsers and the admin's reset.

A password sign-in of a person who must pass a second step opens a *pending* session (`UserSession.second_step`
'verify', or 'enrol' when they must first set up a factor); a pending session is not signed in anywhere but the
second-step pages. `complete_second_step` turns it into a full session under a new token (the old row is deleted),
whatever factor was used (an authenticator code, a recovery code, a passkey, a trusted browser).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
import segno
import sqlalchemy as sa
from sqlmodel import Session, select

from models import Account, Passkey, RecoveryCode, TotpFactor, TrustedBrowser, UserSession
from models.shapes import Actor

from . import audit, clock, db, outbox, secretbox, throttle
from .config import persistent_secret
from .errors import Forbidden, InvalidInput
from .settings import PortalSettings, get_settings

FACTORS = ('totp', 'passkey')
FACTOR_LABELS = {'totp': 'Authenticator app', 'passkey': 'Passkey'}
STEP_SECONDS = 30
VALID_WINDOW = 1  # one step either side of now: clocks of phones drift
RECOVERY_CODES = 10
TRUST_DAYS = 30
PENDING_MINUTES = 15  # a password that waits longer than this for its second step is forgotten
TRUST_COOKIE = 'smp_trusted'
VERIFY, ENROL = 'verify', 'enrol'

WRONG_CODE = ('This code is not correct or was already used. Enter the newest code your authenticator app shows; '
              'after several wrong codes sign-in is paused for a few minutes.')
WRONG_RECOVERY = ('This recovery code is not correct or was already used. Each recovery code works once; '
                  'after several wrong codes sign-in is paused for a few minutes.')
STEP_ENDED = 'Your sign-in has ended. Sign in again with your password.'
LAST_FACTOR = ('The clinic requires a second step at sign-in, and this is your only one. Set up another one '
               '(a passkey) first, or ask the administrator to reset it.')
_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'  # no 0/o, 1/l/i: read off a sheet of paper


# ----------------------------------------------------------------------------- who has what, who must

def enrolled_factors(session: Session, account_id: int) -> set[str]:
    """The second factors a person has set up: a subset of FACTORS ('totp', 'passkey').

    The one place that answers "is this person enrolled?".
    """
    statement = db.prepared('second factor: enrolled', lambda: select(  # one round trip: every staff page open asks
        sa.exists().where(TotpFactor.account_id == sa.bindparam('account_id'), TotpFactor.confirmed.is_(True)),
        sa.exists().where(Passkey.account_id == sa.bindparam('account_id'))))
    totp, passkey = db.rows(session, statement, {'account_id': account_id}).one()
    return {name for name, has in (('totp', totp), ('passkey', passkey)) if has}


def enrolled_condition() -> Any:
    """SQL condition on `Account.id`: the person has a second factor (the admin's filter; the same factors as
    `enrolled_factors`)."""
    return sa.or_(Account.id.in_(select(TotpFactor.account_id).where(TotpFactor.confirmed.is_(True))),
                  Account.id.in_(select(Passkey.account_id)))


def allowed_factors(settings: PortalSettings) -> set[str]:
    """The factors the admin allows."""
    return {f for f, on in (('totp', settings.second_factor_totp), ('passkey', settings.second_factor_passkey)) if on}


def usable_factors(session: Session, account_id: int, settings: PortalSettings) -> set[str]:
    """The factors a person has and may use."""
    return enrolled_factors(session, account_id) & allowed_factors(settings)


def offered(settings: PortalSettings, role: str) -> bool:
    """Whether people with `role` may set up a second factor at all."""
    return role in ('staff', 'admin') or settings.second_factor_contacts != 'off'


def required(settings: PortalSettings, account: Account) -> bool:
    """Whether the policy (or an admin's "enrol at next sign-in") requires this person to have a second factor."""
    if account.second_factor_forced:
        return True
    if account.role in ('staff', 'admin'):
        return settings.second_factor_staff
    return settings.second_factor_contacts == 'required'


def second_step_due(session: Session, account: Account, settings: PortalSettings) -> str | None:
    """After a right password: 'verify' (a second factor is due), 'enrol' (one must be set up first) or None.

    The grace period starts at the first sign-in the policy requires a factor: until it ends (and unless an admin
    forced enrolment) the person signs in with the password and is shown a notice.
    """
    if not offered(settings, account.role) and not account.second_factor_forced:
        return None
    if usable_factors(session, account.id, settings):
        return VERIFY
    if not required(settings, account):
        return None
    if account.second_factor_forced:
        return ENROL
    now = clock.now()
    if account.second_factor_enrol_by is None:
        account.second_factor_enrol_by = now + timedelta(days=settings.second_factor_grace_days)
        session.add(account)
    return ENROL if now >= account.second_factor_enrol_by else None


def enrol_notice(session: Session, actor: Actor | None, settings: PortalSettings) -> datetime | None:
    """For a signed-in person who must set up a second factor but is still in the grace period: its end."""
    if actor is None or actor.account_id is None or actor.role not in ('contact', 'staff', 'admin'):
        return None
    account = session.get(Account, actor.account_id)  # already loaded by the session lookup
    if account is None or not required(settings, account) or usable_factors(session, account.id, settings):
        return None
    return account.second_factor_enrol_by or clock.now() + timedelta(days=settings.second_factor_grace_days)


# ----------------------------------------------------------------------------- pending sessions

@dataclass(frozen=True)
class Pending:
    """A session waiting for its second step: who, and which step ('verify' or 'enrol')."""

    actor: Actor
    step: str
    factors: frozenset[str] = frozenset()  # the second factors this person has and may use


def _pending_row(session: Session, token: str | None) -> tuple[UserSession, Account] | None:
    from .auth import token_hash
    if not token or len(token) > 200:
        return None
    found = session.exec(select(UserSession, Account).join(Account, Account.id == UserSession.account_id)
                         .where(UserSession.token_hash == token_hash(token))).first()
    if found is None or found[0].second_step is None:
        return None
    row, account = found
    if clock.now() - row.created_at > timedelta(minutes=PENDING_MINUTES) or not account.is_active:
        session.delete(row)
        return None
    return row, account


def pending(session: Session, *, token: str | None, ip_address: str | None = None) -> Pending | None:
    """The person behind a pending session token (None for a full, ended or unknown one)."""
    from .auth import account_actor
    found = _pending_row(session, token)
    if found is None:
        return None
    row, account = found
    factors = frozenset(usable_factors(session, account.id, get_settings(session)))
    return Pending(account_actor(session, account, ip_address), row.second_step or VERIFY, factors)


def complete_second_step(token: str, *, method: str, ip_address: str | None, session: Session | None = None) -> str:
    """Finish the second step of a pending session after `method` proved the person ('totp', 'recovery',
    'passkey', 'trusted_browser'): the pending row is deleted and a full session opens under a NEW token
    (returned; the page hands it to the browser through `/session/start`). Raises InvalidInput when the token
    is not a pending session any more.

    The caller has checked the factor; a passkey sign-in that succeeded calls this too.
    """
    if session is None:
        with db.transaction() as own:
            return complete_second_step(token, method=method, ip_address=ip_address, session=own)
    from .auth import account_actor, create_session
    found = _pending_row(session, token)
    if found is None:
        raise InvalidInput(STEP_ENDED)
    row, account = found
    session.delete(row)
    session.flush()
    throttle.reset(session, 'sign_in', account.username)
    new_token = create_session(session, account_id=account.id, ip_address=ip_address)
    audit.record(session, action='second_step_passed', actor=account_actor(session, account, ip_address),
                 object_type='account', object_id=account.id, detail={'method': method})
    return new_token


@dataclass(frozen=True)
class StepResult:
    """The answer to a code typed at the second step: the new session token, or why not."""

    token: str | None = None
    error: str | None = None
    home: str = '/'
    trust_token: str | None = None  # the trusted-browser cookie's value, when asked for and allowed


def verify_code(*, token: str | None, code: str, ip_address: str | None, recovery: bool = False,
                trust_browser: bool = False) -> StepResult:
    """Check an authenticator code (or, with `recovery`, a recovery code) for a pending session.

    Wrong codes count toward the same lockout as wrong passwords (per username and per client address); while
    locked nothing is checked or counted. Every attempt is audited. A right code finishes the step
    (`complete_second_step`): the session token is rotated.
    """
    from .auth import ADDRESS_LIMIT, account_actor
    address = throttle.address_key(ip_address)
    with db.transaction() as session:
        found = _pending_row(session, token)
        if found is None:
            return StepResult(error=STEP_ENDED)
        row, account = found
        settings = get_settings(session)
        actor = account_actor(session, account, ip_address)
        ends = [t for t in (throttle.locked_until(session, 'sign_in', account.username),
                            throttle.locked_until(session, 'sign_in_address', address)) if t]
        if ends:
            audit.record(session, action='second_step_failed', actor=actor, object_type='account',
                         object_id=account.id, detail={'reason': 'locked'})
            return StepResult(error='Sign-in is paused after several failed attempts. Try again in '
                                    f'{throttle.wait_text(max(ends))}.')
        if row.second_step != VERIFY:
            return StepResult(error='Set up a second step first.')
        if recovery:
            ok = _use_recovery_code(session, account.id, code)
        else:
            ok = 'totp' in allowed_factors(settings) and _check_totp(session, account.id, code)
        if not ok:
            throttle.register_failure(session, 'sign_in', account.username, max_failures=settings.signin_max_failures,
                                      lock_seconds=60, actor=actor)
            throttle.register_failure(session, 'sign_in_address', address, actor=actor, **ADDRESS_LIMIT)
            audit.record(session, action='second_step_failed', actor=actor, object_type='account',
                         object_id=account.id, detail={'method': 'recovery' if recovery else 'totp'})
            return StepResult(error=WRONG_RECOVERY if recovery else WRONG_CODE)
        if recovery:
            audit.record(session, action='recovery_code_used', actor=actor, object_type='account',
                         object_id=account.id, detail={'left': recovery_codes_left(session, account.id)})
        new_token = complete_second_step(token or '', method='recovery' if recovery else 'totp',
                                         ip_address=ip_address, session=session)
        trust = _trust_browser(session, account, actor) if trust_browser and settings.second_factor_trust_browser \
            else None
        home = {'admin': '/admin', 'staff': '/staff'}.get(account.role, '/')
        return StepResult(token=new_token, home=home, trust_token=trust)


def use_trusted_browser(*, token: str | None, trust_token: str | None, ip_address: str | None) -> StepResult | None:
    """Finish the second step when this browser holds a valid "trust this browser" token of the same person
    (and the setting is on); None otherwise (the person enters a code)."""
    if not trust_token or len(trust_token) > 200:
        return None
    from .auth import account_actor, token_hash
    with db.transaction() as session:
        found = _pending_row(session, token)
        if found is None or found[0].second_step != VERIFY or not get_settings(session).second_factor_trust_browser:
            return None
        account = found[1]
        trusted = session.exec(select(TrustedBrowser).where(TrustedBrowser.token_hash == token_hash(trust_token),
                                                            TrustedBrowser.account_id == account.id)).first()
        if trusted is None or trusted.expires_at <= clock.now():
            return None
        new_token = complete_second_step(token or '', method='trusted_browser', ip_address=ip_address,
                                         session=session)
        audit.record(session, action='trusted_browser_used', actor=account_actor(session, account, ip_address),
                     object_type='account', object_id=account.id)
        return StepResult(token=new_token, home={'admin': '/admin', 'staff': '/staff'}.get(account.role, '/'))


def _trust_browser(session: Session, account: Account, actor: Actor) -> str:
    from .auth import token_hash
    value = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(TrustedBrowser(account_id=account.id, token_hash=token_hash(value), created_at=now,
                               expires_at=now + timedelta(days=TRUST_DAYS)))
    audit.record(session, action='trusted_browser_added', actor=actor, object_type='account', object_id=account.id,
                 detail={'days': TRUST_DAYS})
    return value


def forget_trusted_browsers(session: Session, *, account_id: int) -> int:
    """Revoke every trusted browser of an account (sign out everywhere, password change, reset)."""
    result = session.execute(sa.delete(TrustedBrowser).where(TrustedBrowser.account_id == account_id))
    return result.rowcount or 0


# ----------------------------------------------------------------------------- authenticator app (TOTP)

def _step_now() -> int:
    return int(clock.now().timestamp()) // STEP_SECONDS


def _check_totp(session: Session, account_id: int, code: str, *, confirmed: bool = True) -> bool:
    """Whether `code` is a fresh code of the account's (confirmed, or waiting) secret; a right code is spent."""
    code = ''.join((code or '').split())
    if len(code) != 6 or not code.isdigit():
        return False
    factor = session.exec(select(TotpFactor).where(TotpFactor.account_id == account_id,
                                                   TotpFactor.confirmed.is_(confirmed))
                          .order_by(TotpFactor.id.desc())).first()
    if factor is None:
        return False
    secret = secretbox.decrypt(factor.secret_sealed)
    if not secret:
        return False
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now = _step_now()
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if factor.last_used_step is not None and step <= factor.last_used_step:
                return False  # this code (or a later one) was used already
            factor.last_used_step = step
            session.add(factor)
            session.flush()
            return True
    return False


@dataclass(frozen=True)
class TotpSetup:
    """What the person needs to add the portal to an authenticator app."""

    secret: str  # for typing in by hand, grouped in fours
    uri: str
    qr_data_url: str  # an SVG image of the otpauth:// address


def _account(session: Session, actor: Actor | None) -> Account:
    if actor is None or actor.account_id is None or actor.role not in ('contact', 'staff', 'admin'):
        raise Forbidden()
    account = session.get(Account, actor.account_id)
    if account is None or not account.is_active:
        raise Forbidden()
    settings = get_settings(session)
    if not offered(settings, account.role) and not account.second_factor_forced:
        raise InvalidInput('Two-step sign-in is not offered for this account.')
    return account


def start_totp(session: Session, *, actor: Actor) -> TotpSetup:
    """Start setting up (or replacing) the authenticator app: a new secret that counts once `confirm_totp` saw a
    code from it. An earlier unconfirmed secret is dropped; a confirmed one keeps working meanwhile."""
    account = _account(session, actor)
    if 'totp' not in allowed_factors(get_settings(session)):
        raise InvalidInput('The clinic does not allow authenticator apps. Use a passkey instead.')
    return _new_secret(session, account)


def _new_secret(session: Session, account: Account) -> TotpSetup:
    session.execute(sa.delete(TotpFactor).where(TotpFactor.account_id == account.id, TotpFactor.confirmed.is_(False)))
    secret = pyotp.random_base32()
    session.add(TotpFactor(account_id=account.id, secret_sealed=secretbox.encrypt(secret), confirmed=False))
    session.flush()
    settings = get_settings(session)
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=account.username,
                                                                      issuer_name=settings.portal_name)
    qr = segno.make(uri, error='m').svg_data_uri(scale=5, border=2)
    return TotpSetup(' '.join(secret[i:i + 4] for i in range(0, len(secret), 4)), uri, qr)


def confirm_totp(session: Session, *, actor: Actor, code: str) -> list[str]:
    """Confirm the new authenticator app with its first code: it replaces an earlier one and counts from now.

    Returns the ten new recovery codes when the person had none left (shown once), else []. A wrong code changes
    nothing but is audited.
    """
    account = _account(session, actor)
    return _confirm(session, account, actor, code)


def _confirm(session: Session, account: Account, actor: Actor, code: str) -> list[str]:
    if not _check_totp(session, account.id, code, confirmed=False):
        raise InvalidInput('This code is not correct. Enter the 6-digit code your authenticator app shows now '
                           '(if it has changed meanwhile, the new one).')
    replaced = session.exec(select(TotpFactor).where(TotpFactor.account_id == account.id,
                                                     TotpFactor.confirmed.is_(True))).all()
    new = session.exec(select(TotpFactor).where(TotpFactor.account_id == account.id,
                                                TotpFactor.confirmed.is_(False))).one()
    for old in replaced:
        session.delete(old)
    session.flush()
    new.confirmed, new.confirmed_at = True, clock.now()
    session.add(new)
    audit.record(session, action='second_factor_enrolled', actor=actor, object_type='account', object_id=account.id,
                 detail={'factor': 'totp', 'replaced': bool(replaced)})
    return ensure_recovery_codes(session, account_id=account.id, actor=actor)


def last_factor_refusal(session: Session, account: Account, factor: str, *, others_of_kind: int = 0) -> str | None:
    """LAST_FACTOR when removing one `factor` (with `others_of_kind` more of the same kind left) would leave a person
    whom the policy requires to have a second factor without any usable one; else None."""
    settings = get_settings(session)
    left = usable_factors(session, account.id, settings) - ({factor} if not others_of_kind else set())
    return LAST_FACTOR if not left and required(settings, account) else None


def remove_totp(session: Session, *, actor: Actor) -> None:
    """Remove the authenticator app; refused when it is the person's last factor and one is required."""
    account = _account(session, actor)
    if 'totp' not in enrolled_factors(session, account.id):
        raise InvalidInput('There is no authenticator app to remove.')
    refusal = last_factor_refusal(session, account, 'totp')
    if refusal:
        raise InvalidInput(refusal)
    session.execute(sa.delete(TotpFactor).where(TotpFactor.account_id == account.id))
    if not enrolled_factors(session, account.id):
        session.execute(sa.delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    audit.record(session, action='second_factor_removed', actor=actor, object_type='account', object_id=account.id,
                 detail={'factor': 'totp'})


# ----------------------------------------------------------------------------- enrolment from a pending session

def begin_enrolment(session: Session, *, token: str | None) -> TotpSetup:
    """For a session that must set up a second factor before anything opens: start the authenticator app."""
    found = _pending_row(session, token)
    if found is None or found[0].second_step != ENROL:
        raise InvalidInput(STEP_ENDED)
    if 'totp' not in allowed_factors(get_settings(session)):
        raise InvalidInput('The clinic does not allow authenticator apps. Use a passkey instead.')
    return _new_secret(session, found[1])


@dataclass(frozen=True)
class Enrolled:
    """A finished enrolment: the recovery codes to show once and the new (full) session token."""

    recovery_codes: list[str]
    token: str
    home: str


def finish_enrolment(session: Session, *, token: str | None, code: str, ip_address: str | None) -> Enrolled:
    """Confirm the authenticator app of a session that had to enrol; the session becomes full under a new token."""
    from .auth import account_actor
    found = _pending_row(session, token)
    if found is None or found[0].second_step != ENROL:
        raise InvalidInput(STEP_ENDED)
    account = found[1]
    actor = account_actor(session, account, ip_address)
    codes = _confirm(session, account, actor, code)
    new_token = complete_second_step(token or '', method='totp', ip_address=ip_address, session=session)
    return Enrolled(codes, new_token, {'admin': '/admin', 'staff': '/staff'}.get(account.role, '/'))


def finish_passkey_enrolment(session: Session, *, token: str | None, ip_address: str | None) -> Enrolled:
    """A session that had to enrol added a passkey (verified by services/passkeys): the step is done, the session
    becomes full under a new token, and the first recovery codes are issued."""
    from .auth import account_actor
    found = _pending_row(session, token)
    if found is None or found[0].second_step != ENROL:
        raise InvalidInput(STEP_ENDED)
    account = found[1]
    if 'passkey' not in enrolled_factors(session, account.id):
        raise InvalidInput('Add a passkey first.')
    codes = ensure_recovery_codes(session, account_id=account.id, actor=account_actor(session, account, ip_address))
    new_token = complete_second_step(token or '', method='passkey', ip_address=ip_address, session=session)
    return Enrolled(codes, new_token, {'admin': '/admin', 'staff': '/staff'}.get(account.role, '/'))


# ----------------------------------------------------------------------------- recovery codes

def _recovery_hash(account_id: int, code: str) -> str:
    key = persistent_secret('second_factor_key').encode()
    return hmac.new(key, f'{account_id}|{normalize_recovery(code)}'.encode('utf-8', 'surrogatepass'),
                    hashlib.sha256).hexdigest()


def normalize_recovery(code: str) -> str:
    """A typed recovery code without spaces and dashes, lower case."""
    return ''.join(ch for ch in (code or '').lower() if ch not in ' -\t\n')[:64]


def _new_code() -> str:
    raw = ''.join(secrets.choice(_ALPHABET) for _ in range(12))  # about 59 bits
    return f'{raw[:4]}-{raw[4:8]}-{raw[8:]}'


def _replace_codes(session: Session, account_id: int) -> list[str]:
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    codes = [_new_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        session.add(RecoveryCode(account_id=account_id, code_hash=_recovery_hash(account_id, code)))
    session.flush()
    return codes


def ensure_recovery_codes(session: Session, *, account_id: int, actor: Actor | None = None) -> list[str]:
    """Ten new recovery codes when the account has none unused (first enrolment), else [] (call after enrolling
    any factor, a passkey too)."""
    if recovery_codes_left(session, account_id):
        return []
    codes = _replace_codes(session, account_id)
    audit.record(session, action='recovery_codes_issued', actor=actor, object_type='account', object_id=account_id)
    return codes


def regenerate_recovery_codes(session: Session, *, actor: Actor) -> list[str]:
    """Ten new recovery codes (shown once); the earlier ones stop working."""
    account = _account(session, actor)
    if not enrolled_factors(session, account.id):
        raise InvalidInput('Set up a second step first: recovery codes stand in for it.')
    codes = _replace_codes(session, account.id)
    audit.record(session, action='recovery_codes_issued', actor=actor, object_type='account', object_id=account.id,
                 detail={'regenerated': True})
    return codes


def recovery_codes_left(session: Session, account_id: int) -> int:
    """How many unused recovery codes an account has."""
    return session.exec(select(sa.func.count()).select_from(RecoveryCode)
                        .where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))).one()


def _use_recovery_code(session: Session, account_id: int, code: str) -> bool:
    if not normalize_recovery(code):
        return False
    row = session.exec(select(RecoveryCode).where(RecoveryCode.account_id == account_id,
                                                  RecoveryCode.code_hash == _recovery_hash(account_id, code),
                                                  RecoveryCode.used_at.is_(None))).first()
    if row is None:
        return False
    row.used_at = clock.now()
    session.add(row)
    session.flush()
    return True


# ----------------------------------------------------------------------------- a person's own overview

@dataclass(frozen=True)
class FactorStatus:
    """What the settings page shows about a person's second factors."""

    offered: bool
    required: bool
    totp: bool
    recovery_left: int
    totp_allowed: bool
    passkey_allowed: bool
    enrol_by: datetime | None


def status(session: Session, *, actor: Actor) -> FactorStatus:
    """The signed-in person's second factors and the policy that applies to them."""
    if actor is None or actor.account_id is None or actor.role not in ('contact', 'staff', 'admin'):
        raise Forbidden()
    account = session.get(Account, actor.account_id)
    settings = get_settings(session)
    factors = enrolled_factors(session, account.id)
    return FactorStatus(offered(settings, account.role) or account.second_factor_forced, required(settings, account),
                        'totp' in factors, recovery_codes_left(session, account.id),
                        'totp' in allowed_factors(settings), 'passkey' in allowed_factors(settings),
                        enrol_notice(session, actor, settings))


# ----------------------------------------------------------------------------- the admin

def _admin_target(session: Session, actor: Actor | None, account_id: int) -> Account:
    if actor is None or not actor.is_admin or actor.role != 'admin':
        raise Forbidden()
    account = session.get(Account, account_id)
    if account is None:
        raise InvalidInput('This account does not exist.')
    return account


def admin_reset(session: Session, *, actor: Actor, account_id: int) -> None:
    """Remove every second factor, recovery code and trusted browser of an account (a lost phone); the person is
    emailed a notice without any other detail, and enrols again at the next sign-in when one is required."""
    account = _admin_target(session, actor, account_id)
    session.execute(sa.delete(TotpFactor).where(TotpFactor.account_id == account.id))
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    session.execute(sa.delete(Passkey).where(Passkey.account_id == account.id))
    forget_trusted_browsers(session, account_id=account.id)
    settings = get_settings(session)
    outbox.enqueue(session, kind='second_factor_reset', to=account.email, account_id=account.id, context={
        'reset_at': clock.now().strftime('%d %b %Y %H:%M UTC'), 'sign_in_url': f'{settings.public_url}/login'})
    audit.record(session, action='second_factor_reset', actor=actor, object_type='account', object_id=account.id)


def admin_force(session: Session, *, actor: Actor, account_id: int, forced: bool) -> None:
    """Require (or stop requiring) this person to set up a second factor at their next sign-in."""
    account = _admin_target(session, actor, account_id)
    if account.second_factor_forced == bool(forced):
        return
    account.second_factor_forced = bool(forced)
    session.add(account)
    audit.record(session, action='second_factor_forced' if forced else 'second_factor_force_lifted', actor=actor,
                 object_type='account', object_id=account.id)


def enrolled_accounts(session: Session, account_ids: list[int]) -> dict[int, set[str]]:
    """For the admin's account list: the factors of each listed account (by id)."""
    return {account_id: enrolled_factors(session, account_id) for account_id in account_ids}
