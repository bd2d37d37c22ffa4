"""Passkeys (WebAuthn, through the `webauthn` package): enrol, sign in with one, list, rename, remove.

A ceremony has three steps. A page begins it (`begin_registration` / `begin_authentication`): the server makes the
challenge and keeps it in a `PasskeyCeremony` row bound to that browser tab (`binding`, the page's connection id,
never stored as such) and, for an enrolment, to the session. The portal's script then fetches the options
(`options_for`) and posts the authenticator's answer back (`verify_response`): an enrolment stores the passkey, a
sign-in marks the ceremony verified. Last the page that began a sign-in consumes it once (`complete_sign_in` for a
passwordless sign-in, `complete_second_step` after a password). A challenge is never taken from the browser, each is
answered once, and an assertion is accepted only with a sign count above the stored one (when the authenticator
counts).

The relying party's id and origin come from SMP_BASE_URL (`PortalSettings.public_url`), so the portal works behind
a reverse proxy: the browser must open the portal at that address. Failed assertions count toward the sign-in
lockout of the account and of the client address, exactly as wrong passwords do (services/auth.py).
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Session, select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from models import Account, Passkey, PasskeyCeremony, UserSession
from models.passkeys import CREDENTIAL_ID_LENGTH, NAME_LENGTH
from models.shapes import Actor

from . import audit, auth, clock, db, metrics, second_factor, throttle, validate
from .errors import Forbidden, InvalidInput, NotAvailable
from .settings import get_settings

CEREMONY_SECONDS = 5 * 60  # how long a challenge may be answered
TIMEOUT_MS = 3 * 60 * 1000  # what the browser is told it may take
MAX_PER_ACCOUNT = 20
MAX_RESPONSE_CHARS = 64 * 1024  # an authenticator's answer is a few kB
BINDING_MAX = 200
PURPOSES = ('register', 'second_step', 'passwordless')
FAILED = 'The passkey was not accepted. Try again, or sign in another way.'
NOT_ALLOWED = 'The clinic does not use passkeys. Sign in with your password.'
TRANSPORTS = {t.value for t in AuthenticatorTransport}
DEFAULT_PORTS = {'http': 80, 'https': 443}


@dataclass(frozen=True)
class RelyingParty:
    """Who the portal is to an authenticator: the host name of SMP_BASE_URL, its origin, and the portal's name."""

    id: str
    origin: str
    name: str


@dataclass(frozen=True)
class PasskeyInfo:
    """One passkey as the settings page lists it."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    transports: tuple[str, ...]


@dataclass(frozen=True)
class Verified:
    """What `verify_response` concluded: `ok`, and for a page a short code of why not (never details)."""

    ok: bool
    purpose: str = ''
    code: str = ''


def relying_party(settings: Any = None) -> RelyingParty:
    """The relying party from SMP_BASE_URL (else the stored base URL, else the local address)."""
    settings = settings or get_settings()
    parts = urlsplit(settings.public_url)
    host = parts.hostname or 'localhost'  # lower-case, as browsers write an origin
    port = parts.port if parts.port not in (None, DEFAULT_PORTS.get(parts.scheme)) else None
    return RelyingParty(id=host, origin=f'{parts.scheme}://{host}' + (f':{port}' if port else ''),
                        name=settings.portal_name)


def binding_hash(binding: str) -> str:
    """The stored form of a ceremony's binding (the page's connection id)."""
    return hashlib.sha256(('passkey-binding:' + (binding or '')).encode('utf-8', 'surrogatepass')).hexdigest()


# ----------------------------------------------------------------------------- reading and managing

def count_for(session: Session, account_id: int) -> int:
    """How many passkeys the account has (a second factor is enrolled when this is above zero)."""
    return session.exec(select(sa.func.count()).select_from(Passkey).where(Passkey.account_id == account_id)).one()


def list_passkeys(session: Session, *, actor: Actor) -> list[PasskeyInfo]:
    """The signed-in person's own passkeys, oldest first."""
    account_id = _own(actor)
    rows = session.exec(select(Passkey).where(Passkey.account_id == account_id).order_by(Passkey.id)).all()
    return [PasskeyInfo(p.id, p.name, p.created_at, p.last_used_at, tuple(t for t in p.transports.split(',') if t))
            for p in rows]


def rename_passkey(session: Session, *, actor: Actor, passkey_id: int, name: str) -> None:
    """Give one of your passkeys a new name."""
    row = _own_passkey(session, actor, passkey_id)
    name = _name(name)
    if name != row.name:
        audit.record(session, action='passkey_renamed', actor=actor, object_type='passkey', object_id=row.id,
                     detail={'from': row.name, 'to': name})
        row.name = name
        session.add(row)


def may_remove_passkey(session: Session, *, actor: Actor, passkey_id: int) -> str | None:
    """None when the person may remove this passkey, else the sentence that says why not (it is their last second
    factor and the clinic requires one)."""
    row = _own_passkey(session, actor, passkey_id)
    others = session.exec(select(sa.func.count()).select_from(Passkey).where(
        Passkey.account_id == row.account_id, Passkey.id != row.id)).one()
    account = session.get(Account, row.account_id)
    return second_factor.last_factor_refusal(session, account, 'passkey', others_of_kind=others)


def remove_passkey(session: Session, *, actor: Actor, passkey_id: int) -> str:
    """Remove one of your passkeys (audited); returns its name. Refused with the reason `may_remove_passkey` gives."""
    row = _own_passkey(session, actor, passkey_id)
    refusal = may_remove_passkey(session, actor=actor, passkey_id=passkey_id)
    if refusal:
        raise Forbidden(refusal)
    name = row.name
    _delete(session, row, actor, reason='removed by its owner')
    return name


def remove_all(session: Session, *, actor: Actor, account_id: int) -> int:
    """An administrator removes every passkey of an account (a reset of its second factors); returns how many."""
    if not actor.is_admin:
        raise Forbidden()
    rows = session.exec(select(Passkey).where(Passkey.account_id == account_id)).all()
    for row in rows:
        _delete(session, row, actor, reason='reset by an administrator')
    return len(rows)


def _delete(session: Session, row: Passkey, actor: Actor, *, reason: str) -> None:
    session.execute(sa.delete(PasskeyCeremony).where(PasskeyCeremony.passkey_id == row.id))
    audit.record(session, action='passkey_removed', actor=actor, object_type='passkey', object_id=row.id,
                 detail={'name': row.name, 'account_id': row.account_id, 'reason': reason})
    session.delete(row)
    session.flush()


def _own(actor: Actor | None) -> int:
    if actor is None or actor.account_id is None or actor.role not in ('contact', 'staff', 'admin'):
        raise Forbidden('Sign in to manage your passkeys.')
    return actor.account_id


def _own_passkey(session: Session, actor: Actor, passkey_id: int) -> Passkey:
    account_id = _own(actor)
    row = session.get(Passkey, passkey_id) if isinstance(passkey_id, int) else None
    if row is None or row.account_id != account_id:
        raise NotAvailable('This passkey is not available.')
    return row


def _name(value: str | None) -> str:
    return validate.text(value, label='Passkey name', max_length=NAME_LENGTH)


# ----------------------------------------------------------------------------- beginning a ceremony

def begin_registration(session: Session, *, actor: Actor, name: str, binding: str, session_token: str | None) -> None:
    """Start enrolling a passkey named `name` for the signed-in person, from the browser tab `binding`."""
    account_id = _own(actor)
    name = _name(name)
    if not session_token or session.exec(select(UserSession.id).where(
            UserSession.token_hash == auth.token_hash(session_token),
            UserSession.account_id == account_id)).first() is None:
        raise Forbidden('Sign in again to add a passkey.')
    if count_for(session, account_id) >= MAX_PER_ACCOUNT:
        raise InvalidInput(f'You have {MAX_PER_ACCOUNT} passkeys. Remove one you no longer use first.')
    _require_allowed(session)
    handle = session.exec(select(Passkey.user_handle).where(Passkey.account_id == account_id)).first()
    _new_ceremony(session, 'register', binding, account_id=account_id, name=name,
                  session_hash=auth.token_hash(session_token),
                  user_handle=handle or bytes_to_base64url(secrets.token_bytes(32)))


def begin_authentication(session: Session, *, binding: str, account_id: int | None = None) -> None:
    """Start a sign-in with a passkey from the browser tab `binding`: with `account_id`, the second step of that
    account's sign-in (its passkeys only); without, a passwordless sign-in with any passkey the browser offers."""
    if account_id is not None and session.get(Account, account_id) is None:
        raise NotAvailable()
    _require_allowed(session)
    _new_ceremony(session, 'second_step' if account_id is not None else 'passwordless', binding,
                  account_id=account_id)


def _require_allowed(session: Session) -> None:
    if not get_settings(session).second_factor_passkey:
        raise InvalidInput(NOT_ALLOWED)


def _new_ceremony(session: Session, purpose: str, binding: str, **fields: Any) -> None:
    _check_binding(binding)
    now = clock.now()
    session.execute(sa.delete(PasskeyCeremony).where(sa.or_(PasskeyCeremony.expires_at < now,
                                                            PasskeyCeremony.binding_hash == binding_hash(binding))))
    session.add(PasskeyCeremony(purpose=purpose, binding_hash=binding_hash(binding),
                                challenge=bytes_to_base64url(secrets.token_bytes(32)), created_at=now,
                                expires_at=now + timedelta(seconds=CEREMONY_SECONDS), **fields))
    session.flush()


def _check_binding(binding: str) -> None:
    if not isinstance(binding, str) or not binding or len(binding) > BINDING_MAX:
        raise InvalidInput('This page has expired. Reload it and try again.')


def _open_ceremony(session: Session, binding: str, *, lock: bool = False) -> PasskeyCeremony | None:
    """The tab's ceremony that may still be answered."""
    if not isinstance(binding, str) or not binding or len(binding) > BINDING_MAX:
        return None
    query = select(PasskeyCeremony).where(PasskeyCeremony.binding_hash == binding_hash(binding),
                                          PasskeyCeremony.expires_at > clock.now(),
                                          PasskeyCeremony.verified_at.is_(None))
    return session.exec(query.with_for_update() if lock else query).first()


# ----------------------------------------------------------------------------- the browser's side

def options_for(session: Session, *, binding: str, session_token: str | None) -> dict[str, Any]:
    """The options the browser passes to navigator.credentials.create/get for the tab's ceremony (JSON-ready):
    `{'purpose': 'register' | 'authenticate', 'publicKey': {...}}`. NotAvailable when none is open."""
    ceremony = _open_ceremony(session, binding)
    if ceremony is None:
        raise NotAvailable('This request has expired. Try again.')
    rp = relying_party(get_settings(session))
    challenge = base64url_to_bytes(ceremony.challenge)
    if ceremony.purpose == 'register':
        account = _enrolling_account(session, ceremony, session_token)
        options = generate_registration_options(
            rp_id=rp.id, rp_name=rp.name, user_name=account.username,
            user_id=base64url_to_bytes(ceremony.user_handle), user_display_name=account.display_name or account.username,
            challenge=challenge, timeout=TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED),
            exclude_credentials=_descriptors(session, account.id))
        return {'purpose': 'register', 'publicKey': json.loads(options_to_json(options))}
    allowed = _descriptors(session, ceremony.account_id) if ceremony.purpose == 'second_step' else []
    options = generate_authentication_options(
        rp_id=rp.id, challenge=challenge, timeout=TIMEOUT_MS, allow_credentials=allowed,
        user_verification=UserVerificationRequirement.REQUIRED if ceremony.purpose == 'passwordless'
        else UserVerificationRequirement.PREFERRED)
    return {'purpose': 'authenticate', 'publicKey': json.loads(options_to_json(options))}


def _enrolling_account(session: Session, ceremony: PasskeyCeremony, session_token: str | None) -> Account:
    """The account of an enrolment, when the request comes with the session that began it (still valid): a full
    session, or one whose password was right and that must set up a second factor before anything opens."""
    actor = auth.resolve_session(session_token, session=session) if session_token else None
    if actor is None and session_token:
        pending = second_factor.pending(session, token=session_token)
        actor = pending.actor if pending is not None and pending.step == second_factor.ENROL else None
    if actor is None or actor.account_id != ceremony.account_id or \
            not secrets.compare_digest(ceremony.session_hash or '', auth.token_hash(session_token or '')):
        raise Forbidden('Sign in again to add a passkey.')
    return session.get(Account, ceremony.account_id)


def _descriptors(session: Session, account_id: int | None) -> list[PublicKeyCredentialDescriptor]:
    rows = session.exec(select(Passkey.credential_id, Passkey.transports).where(Passkey.account_id == account_id)).all()
    return [PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(cid), transports=[AuthenticatorTransport(t) for t in transports.split(',') if t in TRANSPORTS])
        for cid, transports in rows]


def verify_response(*, binding: str, session_token: str | None, credential: Any,
                    ip_address: str | None) -> Verified:
    """Check the authenticator's answer to the tab's open ceremony (its own transaction; each challenge is answered
    once, right or wrong). An enrolment stores the passkey (`passkey_enrolled`); a sign-in marks the ceremony verified
    for the page to consume (`passkey_used`). A failure is audited (`passkey_failed`) and a failed sign-in counts
    toward the account's and the address's sign-in lockout."""
    with db.transaction() as session:
        ceremony = _open_ceremony(session, binding, lock=True)
        if ceremony is None:
            audit.record(session, action='passkey_failed', actor=Actor(ip_address=ip_address),
                         detail={'reason': 'no open request'})
            return Verified(False, code='expired')
        if ceremony.purpose == 'register':
            return _verify_registration(session, ceremony, session_token, credential, ip_address)
        return _verify_assertion(session, ceremony, credential, ip_address)


def _verify_registration(session: Session, ceremony: PasskeyCeremony, session_token: str | None, credential: Any,
                         ip_address: str | None) -> Verified:
    account = _enrolling_account(session, ceremony, session_token)  # Forbidden rolls back: the ceremony stays
    actor = auth.account_actor(session, account, ip_address)
    rp = relying_party(get_settings(session))
    session.delete(ceremony)  # answered once, right or wrong
    try:
        _check_size(credential)
        verified = verify_registration_response(credential=credential,
                                                expected_challenge=base64url_to_bytes(ceremony.challenge),
                                                expected_rp_id=rp.id, expected_origin=rp.origin)
    except (WebAuthnException, InvalidInput, ValueError, TypeError, KeyError) as error:
        audit.record(session, action='passkey_failed', actor=actor, object_type='account', object_id=account.id,
                     detail={'stage': 'enrol', 'reason': _reason(error)})
        return Verified(False, 'register', 'failed')
    credential_id = bytes_to_base64url(verified.credential_id)
    if len(credential_id) > CREDENTIAL_ID_LENGTH or session.exec(
            select(Passkey.id).where(Passkey.credential_id == credential_id)).first() is not None:
        audit.record(session, action='passkey_failed', actor=actor, object_type='account', object_id=account.id,
                     detail={'stage': 'enrol', 'reason': 'credential already registered'})
        return Verified(False, 'register', 'exists')
    transports = [t for t in credential['response'].get('transports') or [] if isinstance(t, str) and t in TRANSPORTS]
    row = Passkey(account_id=account.id, credential_id=credential_id, public_key=verified.credential_public_key,
                  sign_count=verified.sign_count, user_handle=ceremony.user_handle, name=ceremony.name,
                  transports=','.join(transports)[:200], aaguid=str(verified.aaguid)[:36])
    session.add(row)
    session.flush()
    audit.record(session, action='passkey_enrolled', actor=actor, object_type='passkey', object_id=row.id,
                 detail={'name': row.name, 'user_verified': verified.user_verified})
    return Verified(True, 'register')


def _verify_assertion(session: Session, ceremony: PasskeyCeremony, credential: Any,
                      ip_address: str | None) -> Verified:
    settings = get_settings(session)
    rp = relying_party(settings)
    credential_id = credential.get('id') if isinstance(credential, dict) else None
    row = session.exec(select(Passkey).where(Passkey.credential_id == credential_id)).first() \
        if isinstance(credential_id, str) and 0 < len(credential_id) <= CREDENTIAL_ID_LENGTH else None
    if row is not None and ceremony.purpose == 'second_step' and row.account_id != ceremony.account_id:
        row = None  # another person's passkey is no second step for this one
    account_id = row.account_id if row is not None else ceremony.account_id
    account = session.get(Account, account_id) if account_id is not None else None
    who = auth.account_actor(session, account, ip_address) if account is not None else Actor(ip_address=ip_address)
    address = throttle.address_key(ip_address)
    if _locked(session, account, address):  # answered like a failure, not counted
        session.delete(ceremony)
        audit.record(session, action='passkey_failed', actor=who, detail={'reason': 'locked'})
        metrics.SIGN_INS.labels(result='failure').inc()
        return Verified(False, ceremony.purpose, 'failed')
    reason = None
    verified = None
    if row is None:
        reason = 'unknown credential'
    elif account is None or not account.is_active:
        reason = 'account disabled'
    else:
        try:
            _check_size(credential)
            verified = verify_authentication_response(
                credential=credential, expected_challenge=base64url_to_bytes(ceremony.challenge),
                expected_rp_id=rp.id, expected_origin=rp.origin, credential_public_key=row.public_key,
                credential_current_sign_count=row.sign_count,
                require_user_verification=ceremony.purpose == 'passwordless')
            handle = credential.get('response', {}).get('userHandle')
            if handle and handle != row.user_handle:
                verified, reason = None, 'user handle does not match'
        except (WebAuthnException, InvalidInput, ValueError, TypeError, KeyError, AttributeError) as error:
            reason = _reason(error)
    if verified is None:
        session.delete(ceremony)
        if account is not None:
            throttle.register_failure(session, 'sign_in', account.username, max_failures=settings.signin_max_failures,
                                      lock_seconds=60, actor=who)
        throttle.register_failure(session, 'sign_in_address', address, actor=who, **auth.ADDRESS_LIMIT)
        audit.record(session, action='passkey_failed', actor=who, object_type='passkey' if row else None,
                     object_id=row.id if row else None, detail={'stage': ceremony.purpose, 'reason': reason})
        metrics.SIGN_INS.labels(result='failure').inc()
        return Verified(False, ceremony.purpose, 'failed')
    row.sign_count = verified.new_sign_count
    row.last_used_at = clock.now()
    session.add(row)
    ceremony.verified_at = clock.now()
    ceremony.passkey_id = row.id
    ceremony.account_id = row.account_id
    session.add(ceremony)
    audit.record(session, action='passkey_used', actor=who, object_type='passkey', object_id=row.id,
                 detail={'stage': ceremony.purpose, 'user_verified': verified.user_verified})
    return Verified(True, ceremony.purpose)


def _locked(session: Session, account: Account | None, address: str) -> bool:
    return (throttle.locked_until(session, 'sign_in_address', address) is not None or
            (account is not None and throttle.locked_until(session, 'sign_in', account.username) is not None))


def _check_size(credential: Any) -> None:
    if not isinstance(credential, dict) or len(json.dumps(credential)) > MAX_RESPONSE_CHARS:
        raise InvalidInput('not a credential')


def _reason(error: Exception) -> str:
    """A short, secret-free reason for the audit log (the library's message names what failed, never key material)."""
    return f'{type(error).__name__}: {str(error)[:160]}'


# ----------------------------------------------------------------------------- the page finishes a sign-in

def _consume(session: Session, binding: str, purpose: str) -> PasskeyCeremony | None:
    """The tab's verified ceremony of `purpose`, deleted (a verified answer opens one sign-in, once)."""
    if not isinstance(binding, str) or not binding or len(binding) > BINDING_MAX:
        return None
    ceremony = session.exec(select(PasskeyCeremony).where(
        PasskeyCeremony.binding_hash == binding_hash(binding), PasskeyCeremony.purpose == purpose,
        PasskeyCeremony.verified_at.is_not(None), PasskeyCeremony.expires_at > clock.now()).with_for_update()).first()
    if ceremony is not None:
        session.delete(ceremony)
        session.flush()
    return ceremony


def complete_sign_in(*, binding: str, ip_address: str | None) -> auth.SignedIn | None:
    """Open a full session after a verified passwordless sign-in from the tab `binding` (once), exactly as a
    password sign-in does: last sign-in time, the account's failure count reset, audit `sign_in` (method passkey).
    None when the tab has no verified sign-in (the page then says FAILED)."""
    with db.transaction() as session:
        ceremony = _consume(session, binding, 'passwordless')
        account = session.get(Account, ceremony.account_id) if ceremony is not None else None
        if account is None or not account.is_active:
            return None
        account.last_sign_in_at = clock.now()
        session.add(account)
        throttle.reset(session, 'sign_in', account.username)
        token = auth.create_session(session, account_id=account.id, ip_address=ip_address)
        actor = auth.account_actor(session, account, ip_address)
        audit.record(session, action='sign_in', actor=actor, object_type='account', object_id=account.id,
                     detail={'method': 'passkey'})
        metrics.SIGN_INS.labels(result='success').inc()
        return auth.SignedIn(token=token, actor=actor)


def complete_second_step(*, binding: str, account_id: int) -> bool:
    """True once (per verified answer) when the tab `binding` proved a passkey of `account_id` for the second step of
    its sign-in; the caller then finishes the sign-in."""
    with db.transaction() as session:
        ceremony = _consume(session, binding, 'second_step')
        return ceremony is not None and ceremony.account_id == account_id
