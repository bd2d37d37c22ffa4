"""The contact's portal account: create it from an activation code, link more codes, passwords, preferences.

Functions that check codes or passwords open their own transactions (like `auth.sign_in`): a failed try must
be counted and committed even though the answer is an error, and argon2 must not run inside a transaction.
Those that make something take the page's `idempotency_key`: the same submit arriving twice makes it once
(the second call returns `idempotency.REPLAYED` and changes nothing).
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Account, AccountContact, ActivationCode, Contact
from models.shapes import Actor

from . import activation, audit, auth, clock, db, idempotency, outbox, passwords, throttle, validate, verification
from .errors import Forbidden, InvalidInput, PortalError, RateLimited
from .settings import PortalSettings, get_settings

NOTIFY_MODES = {'immediate': 'Right away, one email per new document', 'daily': 'Once a day, a summary'}
RESET_REQUESTED = ('If an account uses this email, a reset code is on its way. It works for '
                   f'{verification.MINUTES_VALID} minutes.')
WRONG_CURRENT_PASSWORD = 'The current password is not correct.'


class EmailTaken(InvalidInput):
    """An account already uses this email: sign in and add the code to it instead."""

    def __init__(self) -> None:
        super().__init__('This email has been taken by another account. If it is yours, sign in and add the '
                         'activation code to it instead.')


@dataclass(frozen=True)
class NewAccount:
    """What the activation page collected for a new account."""

    email: str
    password: str
    confirm: str
    username: str = ''
    for_someone_else: bool = False
    delegate_name: str = ''
    delegate_relationship: str = ''


# ----------------------------------------------------------------------------- creating an account

def start_email_check(*, code: str, email: str, ip_address: str | None,
                      idempotency_key: str | None = None) -> bool | idempotency.Replayed:
    """Step "verify email": True when `email` is the invited address (the code proves it);
    otherwise email a 6-digit code to `email` and return False. Raises EmailTaken when an account uses it.
    """
    email = validate.email(email)

    def check(session: Session, row: ActivationCode) -> bool:
        _refuse_taken(session, email)
        contact = session.get(Contact, row.contact_id)
        if contact.email.lower() == email:
            return True
        paused = throttle.locked_until(session, 'email_verify_send', email)
        if paused:
            raise RateLimited(f'Too many codes were sent to this address, try again in '
                              f'{throttle.minutes_left(paused)} minutes.')
        # every send counts: the fifth code within an hour pauses sending to this address for an hour
        throttle.register_failure(session, 'email_verify_send', email, max_failures=5, lock_seconds=3600,
                                  window_seconds=3600, backoff=False)
        sent = verification.issue(session, purpose=verification.EMAIL_VERIFY, email=email, contact_id=contact.id)
        outbox.enqueue(session, kind='email_verification', to=email, contact_id=contact.id, context={
            'verification_code': sent, 'minutes_valid': verification.MINUTES_VALID})
        audit.record(session, action='email_verification_sent', actor=Actor(username=email, ip_address=ip_address),
                     object_type='contact', object_id=contact.id, contact_id=contact.id)
        return False

    return activation.use_code(code=code, ip_address=ip_address, then=check, idempotency_key=idempotency_key,
                               action='email_verification')


def confirm_email(*, code: str, email: str, verification_code: str, ip_address: str | None) -> None:
    """Check the 6-digit code sent to `email` (10 minutes, 5 tries) for the contact of `code`."""
    email = validate.email(email)
    activation.check_code(code=code, ip_address=ip_address)
    verification.confirm(purpose=verification.EMAIL_VERIFY, email=email, code=verification_code)


def create_account(*, code: str, new: NewAccount, ip_address: str | None,
                   idempotency_key: str | None = None) -> auth.SignedIn | idempotency.Replayed:
    """Create the contact's account from an activation code and sign it in with a fresh session.

    Consumes the code, links the contact, updates the contact's email when another verified address was
    used, queues the confirmation email; everything is audited. Bad input raises and stores nothing.
    """
    email = validate.email(new.email)
    with db.transaction() as session:
        if idempotency_key and idempotency.was_used(session, key=idempotency_key):
            return idempotency.REPLAYED  # this very submit made the account: not "email taken"
        settings = get_settings(session)
        username = _username(settings, email, new.username)
        _refuse_taken(session, email, username)
    delegate = _delegate(new)
    password_hash = passwords.accept_new_password(new.password, new.confirm, username=username, email=email,
                                                  settings=settings)

    def create(session: Session, row: ActivationCode) -> auth.SignedIn:
        contact = session.get(Contact, row.contact_id)
        actor = Actor(username=username, ip_address=ip_address)
        if contact.email.lower() != email:
            if not verification.verified_recently(session, purpose=verification.EMAIL_VERIFY, email=email,
                                                  contact_id=contact.id):
                raise InvalidInput('Verify your email with the code we sent before creating the account.')
            audit.record(session, action='contact_email_changed', actor=actor, object_type='contact',
                         object_id=contact.id, contact_id=contact.id, detail={'old': contact.email, 'new': email})
            contact.email = email
            session.add(contact)
        _refuse_taken(session, email, username)  # again: another tab may have taken it meanwhile
        account = auth.create_account(session, email=email, password_hash=password_hash, role='contact',
                                      username=username, display_name=delegate[0] or contact.display_name,
                                      actor=actor)
        account.delegate_name, account.delegate_relationship = delegate
        session.add(account)
        _link(session, account=account, row=row, actor=actor)
        outbox.enqueue(session, kind='account_confirmation', to=email, contact_id=contact.id, account_id=account.id,
                       context={'username': username, 'sign_in_url': f'{get_settings(session).public_url}/login'})
        token = auth.create_session(session, account_id=account.id, ip_address=ip_address)
        return auth.SignedIn(token=token, actor=auth.account_actor(session, account, ip_address))

    return activation.use_code(code=code, ip_address=ip_address, then=create, idempotency_key=idempotency_key,
                               action='create_account')


# ----------------------------------------------------------------------------- linking codes to an account

def link_code(*, actor: Actor, code: str, ip_address: str | None,
              idempotency_key: str | None = None) -> str | idempotency.Replayed:
    """Add the contact of `code` to the signed-in contact account; return a short success sentence."""
    if actor.account_id is None or actor.role != 'contact':
        raise Forbidden('Only contact accounts can add activation codes.')

    def link(session: Session, row: ActivationCode) -> str:
        account = session.get(Account, actor.account_id)
        _link(session, account=account, row=row, actor=actor)
        return 'The activation code was added to your account. Its documents are now in your list.'

    return activation.use_code(code=code, ip_address=ip_address, then=link, actor=actor,
                               idempotency_key=idempotency_key, action='link_code')


def sign_in_and_link(*, username: str, password: str, code: str, ip_address: str | None,
                     idempotency_key: str | None = None) -> auth.SignedIn | idempotency.Replayed | None:
    """"I already have an account": sign in (None with auth.SIGN_IN_FAILED) and add the code to that account."""
    if idempotency_key and db.run(idempotency.was_used, key=idempotency_key):
        return idempotency.REPLAYED
    signed_in = auth.sign_in(username=username, password=password, ip_address=ip_address)
    if signed_in is None:
        return None
    try:
        linked = link_code(actor=signed_in.actor, code=code, ip_address=ip_address, idempotency_key=idempotency_key)
    except PortalError:
        auth.end_session(signed_in.token, ip_address=ip_address)  # the browser never got this session
        raise
    if linked is idempotency.REPLAYED:
        auth.end_session(signed_in.token, ip_address=ip_address)
        return idempotency.REPLAYED
    with db.transaction() as session:
        account = session.get(Account, signed_in.actor.account_id)
        return auth.SignedIn(token=signed_in.token, actor=auth.account_actor(session, account, ip_address),
                             second_step=signed_in.second_step)  # a pending session: the pages send it on


def _link(session: Session, *, account: Account, row: ActivationCode, actor: Actor) -> None:
    exists = session.exec(select(AccountContact.id).where(AccountContact.account_id == account.id,
                                                          AccountContact.contact_id == row.contact_id)).first()
    activation.mark_used(session, row=row, account_id=account.id, actor=actor)
    if exists is None:
        session.add(AccountContact(account_id=account.id, contact_id=row.contact_id, created_at=clock.now()))
        session.flush()
    audit.record(session, action='contact_linked', actor=actor, object_type='account', object_id=account.id,
                 contact_id=row.contact_id, detail={'activation_code_id': row.id})


# ----------------------------------------------------------------------------- passwords

def change_password(*, actor: Actor, current: str, new: str, confirm: str,
                    idempotency_key: str | None = None) -> idempotency.Replayed | None:
    """Change the signed-in account's password (current one required); every session ends; notice emailed."""
    key = str(actor.account_id)
    with db.transaction() as session:
        if idempotency_key and idempotency.was_used(session, key=idempotency_key):
            return idempotency.REPLAYED
        account = session.get(Account, actor.account_id)
        if account is None or not account.is_active:
            raise Forbidden()
        locked = throttle.locked_until(session, 'password_change', key)
        settings = get_settings(session)
    if locked:
        raise RateLimited(f'Too many attempts, try again in {throttle.wait_text(locked)}.')
    passwords.check_new_password(new, confirm, username=account.username, email=account.email,
                                 portal_name=settings.portal_name, min_length=settings.password_min_length)
    ok, _ = passwords.verify_password(account.password_hash, current or '')
    if not ok:
        with db.transaction() as session:
            throttle.register_failure(session, 'password_change', key, max_failures=settings.signin_max_failures,
                                      lock_seconds=60, actor=actor)
            audit.record(session, action='password_change_failed', actor=actor, object_type='account',
                         object_id=account.id)
        raise InvalidInput(WRONG_CURRENT_PASSWORD)
    new_hash = passwords.accept_new_password(new, confirm, username=account.username, email=account.email,
                                             settings=settings)
    with db.transaction() as session:
        if idempotency_key and not idempotency.claim(session, key=idempotency_key, action='password_changed',
                                                     actor=actor):
            return idempotency.REPLAYED
        throttle.reset(session, 'password_change', key)
        _store_password(session, account_id=account.id, new_hash=new_hash, actor=actor, action='password_changed')
    return None


def request_password_reset(*, email: str, ip_address: str | None,
                           idempotency_key: str | None = None) -> str | idempotency.Replayed:
    """Forgot password, step 1: email a reset code when an account uses `email`. The answer is always the same."""
    email = validate.email(email)
    with db.transaction() as session:
        actor = Actor(username=email, ip_address=ip_address)
        if idempotency_key and not idempotency.claim(session, key=idempotency_key, action='password_reset_requested'):
            return idempotency.REPLAYED
        paused = throttle.locked_until(session, 'reset_request', email)
        account = None if paused else _account_by_email(session, email)
        audit.record(session, action='password_reset_requested', actor=actor, object_type='account',
                     object_id=account.id if account else None,
                     detail={'outcome': 'paused' if paused else 'sent' if account else 'no account'})
        if paused:
            return RESET_REQUESTED
        throttle.register_failure(session, 'reset_request', email, max_failures=5, lock_seconds=3600,
                                  window_seconds=3600, backoff=False)
        if account is not None:
            code = verification.issue(session, purpose=verification.PASSWORD_RESET, email=account.email,
                                      account_id=account.id)
            outbox.enqueue(session, kind='password_reset', to=account.email, account_id=account.id, context={
                'reset_code': code, 'minutes_valid': verification.MINUTES_VALID,
                'reset_url': f'{get_settings(session).public_url}/forgot-password'})
    return RESET_REQUESTED


def reset_password(*, email: str, code: str, password: str, confirm: str, ip_address: str | None,
                   idempotency_key: str | None = None) -> idempotency.Replayed | None:
    """Forgot password, step 2: the emailed code and a new password; every session ends; notice emailed."""
    email = validate.email(email)
    with db.transaction() as session:
        if idempotency_key and idempotency.was_used(session, key=idempotency_key):
            return idempotency.REPLAYED  # this submit set the password already (its code is spent)
        account = _account_by_email(session, email)
        settings = get_settings(session)
    passwords.check_new_password(password, confirm, username=account.username if account else email, email=email,
                                 portal_name=settings.portal_name, min_length=settings.password_min_length)
    if account is None:
        raise InvalidInput(verification.WRONG_CODE)
    verification.confirm(purpose=verification.PASSWORD_RESET, email=account.email, code=code)
    new_hash = passwords.accept_new_password(password, confirm, username=account.username, email=account.email,
                                             settings=settings)
    with db.transaction() as session:
        actor = Actor(account_id=account.id, username=account.username, role=account.role, ip_address=ip_address)
        if idempotency_key and not idempotency.claim(session, key=idempotency_key, action='password_reset',
                                                     actor=actor):
            return idempotency.REPLAYED
        throttle.reset(session, 'sign_in', account.username)
        _store_password(session, account_id=account.id, new_hash=new_hash, actor=actor, action='password_reset')
    return None


def _store_password(session: Session, *, account_id: int, new_hash: str, actor: Actor, action: str) -> None:
    account = session.get(Account, account_id)
    auth.set_password(session, account=account, new_hash=new_hash)
    settings = get_settings(session)
    outbox.enqueue(session, kind='password_changed', to=account.email, account_id=account.id, context={
        'changed_at': clock.now().strftime('%d %b %Y %H:%M UTC'), 'sign_in_url': f'{settings.public_url}/login'})
    audit.record(session, action=action, actor=actor, object_type='account', object_id=account.id)


def _account_by_email(session: Session, email: str) -> Account | None:
    return session.exec(select(Account).where(sa.or_(Account.email == email, Account.username == email),
                                              Account.is_active.is_(True)).order_by(Account.id)).first()


# ----------------------------------------------------------------------------- settings of a contact

@dataclass(frozen=True)
class Preferences:
    """What the contact's Settings page shows."""

    username: str
    notify_mode: str


def preferences(session: Session, *, actor: Actor) -> Preferences:
    """The signed-in account's preferences."""
    account = _own_account(session, actor)
    return Preferences(username=account.username, notify_mode=account.notify_mode)


def set_notify_mode(session: Session, *, actor: Actor, mode: str) -> None:
    """Reminder to Review emails: 'immediate' (one per new document) or 'daily' (a digest)."""
    if mode not in NOTIFY_MODES:
        raise InvalidInput('Choose how often we email you.')
    account = _own_account(session, actor)
    if account.notify_mode != mode:
        audit.record(session, action='notify_mode_changed', actor=actor, object_type='account', object_id=account.id,
                     detail={'old': account.notify_mode, 'new': mode})
        account.notify_mode = mode
        session.add(account)


def terms_pending(session: Session, *, account_id: int) -> bool:
    """True when the admin requires terms of use and this contact account has not accepted them."""
    if not get_settings(session).terms_required:
        return False
    account = session.get(Account, account_id)
    return account is not None and account.role == 'contact' and account.terms_accepted_at is None


def terms_text(session: Session) -> str:
    """The admin's terms of use text."""
    return get_settings(session).terms_text


def accept_terms(session: Session, *, actor: Actor) -> None:
    """Record that the signed-in contact accepted the terms of use."""
    account = _own_account(session, actor)
    if account.terms_accepted_at is None:
        account.terms_accepted_at = clock.now()
        session.add(account)
        audit.record(session, action='terms_accepted', actor=actor, object_type='account', object_id=account.id)


# ----------------------------------------------------------------------------- helpers

def _own_account(session: Session, actor: Actor) -> Account:
    """The actor's own active account; Forbidden for anyone not signed in."""
    account = session.get(Account, actor.account_id) if actor is not None and actor.account_id else None
    if account is None or not account.is_active:
        raise Forbidden()
    return account


def _username(settings: PortalSettings, email: str, typed: str) -> str:
    typed = (typed or '').strip().lower()
    if settings.email_is_username or not typed:
        if typed and typed != email:
            raise InvalidInput('Your username must be your email address.')
        return email
    return validate.username(typed)


def _refuse_taken(session: Session, email: str, username: str | None = None) -> None:
    if session.exec(select(Account.id).where(sa.or_(Account.email == email, Account.username == email))).first():
        raise EmailTaken()
    if username and session.exec(select(Account.id).where(Account.username == username)).first():
        raise InvalidInput('This username has been taken. Choose another.')


def _delegate(new: NewAccount) -> tuple[str | None, str | None]:
    if not new.for_someone_else:
        return None, None
    name = validate.text(new.delegate_name, label='Your name', max_length=200)
    relationship = validate.text(new.delegate_relationship, label='Your relationship to the contact', max_length=200)
    return name, relationship
