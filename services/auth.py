"""Accounts, sign-in with lockout, server-side sessions with idle and absolute timeouts, first setup."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import Account, AccountContact, UserSession
from models.shapes import Actor

from . import audit, clock, db, idempotency, metrics, passwords, throttle, validate
from .errors import InvalidInput
from .settings import get_settings

# failed sign-ins from one client address, over all usernames: 30 an hour, then a 15-minute pause (doubling)
ADDRESS_LIMIT = {'max_failures': 30, 'lock_seconds': 15 * 60, 'window_seconds': 3600, 'max_lock_seconds': 4 * 3600}
SIGN_IN_FAILED = ('The username or password is not correct, or sign-in is paused after several failed attempts. '
                  'Check both and try again in a few minutes.')
_TOUCH_SECONDS = 30
_SETUP_KEY = '_setup_token'  # + ':' and the token's hash: one row per token (a key is at most 64 characters)


def token_hash(token: str) -> str:
    """The stored form of a session/setup token."""
    return hashlib.sha256(token.encode('utf-8', 'surrogatepass')).hexdigest()  # any typed text: never a match


def normalize_username(value: str) -> str:
    return (value or '').strip().lower()


# ----------------------------------------------------------------------------- accounts

def create_account(session: Session, *, email: str, password_hash: str, role: str, username: str | None = None,
                   display_name: str = '', actor: Actor | None = None) -> Account:
    """Create an account; the username defaults to the email. Raises InvalidInput when taken."""
    if role not in ('contact', 'staff', 'admin'):
        raise InvalidInput('Role must be contact, staff or admin.')
    email = validate.email(email)
    username = normalize_username(username or email)
    if session.exec(select(Account.id).where(Account.username == username)).first():
        raise InvalidInput('This username has been taken.')
    account = Account(username=username, email=email, password_hash=password_hash, role=role,
                      display_name=display_name.strip()[:200], password_changed_at=clock.now())
    session.add(account)
    session.flush()
    audit.record(session, action='account_created', actor=actor, object_type='account', object_id=account.id,
                 detail={'username': username, 'role': role})
    return account


def set_password(session: Session, *, account: Account, new_hash: str) -> None:
    """Store a new password hash and end every session of the account."""
    account.password_hash = new_hash
    account.password_changed_at = clock.now()
    session.add(account)
    end_all_sessions(session, account_id=account.id)


def account_actor(session: Session, account: Account, ip_address: str | None = None) -> Actor:
    """The Actor for an account (with the contacts it holds)."""
    statement = db.prepared('auth: contacts of an account', lambda: select(AccountContact.contact_id)
                            .where(AccountContact.account_id == sa.bindparam('account_id'))
                            .order_by(AccountContact.contact_id))
    contact_ids = tuple(db.rows(session, statement, {'account_id': account.id}).scalars())
    return Actor(account_id=account.id, username=account.username, role=account.role,
                 display_name=account.display_name or account.username, ip_address=ip_address,
                 contact_ids=contact_ids)


# ----------------------------------------------------------------------------- sign-in

@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: the new session token (for the browser) and who it is."""

    token: str
    actor: Actor
    second_step: str | None = None  # 'verify' / 'enrol': a pending session (services/second_factor.py)


def sign_in(*, username: str, password: str, ip_address: str | None) -> SignedIn | None:
    """Check credentials (blocking: argon2) and open a session; None with SIGN_IN_FAILED otherwise.

    Unknown users, wrong passwords, locked and disabled accounts take the same path and time. Failures count
    against the username and against the client address (a budget across all usernames, so one address cannot
    spray a password over many accounts); attempts while either is locked are answered but not counted, so a
    lock ends when its time ends. Whatever was typed (empty, over-long, binary) is counted and audited.
    """
    name = normalize_username(username)
    known_shape = validate.plausible_username(name)  # longer than any username, or binary: cannot exist
    address = throttle.address_key(ip_address)
    with db.transaction() as session:
        settings = get_settings(session)
        locked = _sign_in_lock(session, name, address)
        account = (session.exec(select(Account).where(Account.username == name)).first()
                   if known_shape and not locked else None)
        stored_hash = account.password_hash if account and account.is_active else None
    ok, new_hash = passwords.verify_password(stored_hash, password or '')
    with db.transaction() as session:
        actor_for_audit = Actor(username=name, ip_address=ip_address)
        if locked:  # answered like a wrong password, not counted: hammering a lock does not extend it
            audit.record(session, action='sign_in_failed', actor=actor_for_audit, detail={'reason': 'locked'})
            metrics.SIGN_INS.labels(result='failure').inc()
            return None
        if not ok:
            throttle.register_failure(session, 'sign_in', name, max_failures=settings.signin_max_failures,
                                      lock_seconds=60, actor=actor_for_audit)
            throttle.register_failure(session, 'sign_in_address', address, actor=actor_for_audit,
                                      **ADDRESS_LIMIT)
            audit.record(session, action='sign_in_failed', actor=actor_for_audit,
                         detail={'reason': 'credentials' if known_shape else 'invalid username'})
            metrics.SIGN_INS.labels(result='failure').inc()
            return None
        account = session.get(Account, account.id)
        if new_hash:
            account.password_hash = new_hash
        account.last_sign_in_at = clock.now()
        session.add(account)
        from . import second_factor
        step = second_factor.second_step_due(session, account, settings)
        if step is None:  # a pending session keeps the failures: the second step counts toward the same lockout
            throttle.reset(session, 'sign_in', name)
        token = create_session(session, account_id=account.id, ip_address=ip_address, second_step=step)
        actor = account_actor(session, account, ip_address)
        audit.record(session, action='sign_in', actor=actor, object_type='account', object_id=account.id,
                     detail={'second_step': step} if step else None)
        metrics.SIGN_INS.labels(result='success').inc()
        return SignedIn(token=token, actor=actor, second_step=step)


def _sign_in_lock(session: Session, name: str, address: str) -> datetime | None:
    """The later end of the username's and the address's lock, or None when neither is locked."""
    ends = [t for t in (throttle.locked_until(session, 'sign_in', name),
                        throttle.locked_until(session, 'sign_in_address', address)) if t]
    return max(ends, default=None)


# ----------------------------------------------------------------------------- sessions

def create_session(session: Session, *, account_id: int, ip_address: str | None,
                   second_step: str | None = None) -> str:
    """Open a new session row; return the token the browser keeps (always a fresh one).

    A session is full unless `second_step` says a second step is still due ('verify' or 'enrol').
    """
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(UserSession(token_hash=token_hash(token), account_id=account_id, created_at=now,
                            last_seen_at=now, ip_address=ip_address, second_step=second_step))
    session.flush()
    return token


def resolve_session(token: str | None, *, ip_address: str | None = None,
                    session: Session | None = None) -> Actor | None:
    """The Actor behind a session token, or None when missing, ended, idle too long or too old.

    With `session` the lookup joins that transaction (a page open reads the session and its data in one).
    """
    if not token or len(token) > 200:
        return None
    if session is not None:
        return _resolve_session(session, token, ip_address)
    with db.transaction() as own:
        return _resolve_session(own, token, ip_address)


def _resolve_session(session: Session, token: str, ip_address: str | None) -> Actor | None:
    statement = db.prepared('auth: session and account', lambda: select(UserSession, Account)
                            .join(Account, Account.id == UserSession.account_id, isouter=True)
                            .where(UserSession.token_hash == sa.bindparam('token_hash')))
    found = session.exec(statement, params={'token_hash': token_hash(token)}).first()
    if found is None:
        return None
    row, account = found
    # the identity map holds objects weakly: kept for the transaction, the page's later reads of this account
    # (terms, second factor) find it there instead of reading it again
    session.info['signed_in_account'] = account
    settings = get_settings(session)
    now = clock.now()
    idle = now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
    old = now - row.created_at > timedelta(hours=settings.session_absolute_hours)
    if idle or old or account is None or not account.is_active:
        session.delete(row)
        if account is not None:
            audit.record(session, action='session_expired', actor=account_actor(session, account, ip_address),
                         detail={'reason': 'idle' if idle else 'absolute' if old else 'disabled'})
        return None
    if row.second_step is not None:
        return None  # the second step is still due: not signed in (services.second_factor.pending reads it)
    if (now - row.last_seen_at).total_seconds() > _TOUCH_SECONDS:
        row.last_seen_at = now
        session.add(row)
    return account_actor(session, account, ip_address)


def end_session(token: str | None, *, ip_address: str | None = None) -> None:
    """Sign out: delete the session row so the token no longer works anywhere."""
    if not token:
        return
    with db.transaction() as session:
        row = session.exec(select(UserSession).where(UserSession.token_hash == token_hash(token))).first()
        if row is None:
            return
        account = session.get(Account, row.account_id)
        session.delete(row)
        audit.record(session, action='sign_out', actor=account_actor(session, account, ip_address),
                     object_type='account', object_id=account.id)


def end_all_sessions(session: Session, *, account_id: int) -> int:
    """Delete every session of an account (password change, disable) and forget its trusted browsers; return
    how many sessions."""
    from .second_factor import forget_trusted_browsers
    forget_trusted_browsers(session, account_id=account_id)
    result = session.execute(sa.delete(UserSession).where(UserSession.account_id == account_id))
    return result.rowcount or 0


# ----------------------------------------------------------------------------- first setup

def setup_needed(session: Session) -> bool:
    """True while no admin account exists."""
    return session.exec(select(Account.id).where(Account.role == 'admin')).first() is None


def issue_setup_token(session: Session) -> str | None:
    """A new one-time setup token when no admin exists (the console prints its link); else None.

    Each token is its own row: processes started at once on an empty database each print a link that works
    (one row for all made the second process fail on the first one's insert, or left the first link invalid)."""
    from .settings import set_value
    if not setup_needed(session):
        return None
    token = secrets.token_urlsafe(24)
    set_value(session, _setup_key(token), {'expires': (clock.now() + timedelta(days=1)).isoformat()})
    return token


def setup_token_valid(session: Session, token: str | None) -> bool:
    """Whether a setup token may still be used."""
    from .settings import get_value
    stored = get_value(session, _setup_key(token)) if token else None
    if not stored or not setup_needed(session):
        return False
    return datetime.fromisoformat(stored['expires']) > clock.now()


def _setup_key(token: str) -> str:
    return f'{_SETUP_KEY}:{token_hash(token)[:48]}'


def _spend_setup_tokens(session: Session, token: str) -> bool:
    """Delete every setup token; False when this one was gone already (another link finished setup first)."""
    from models import Setting
    mine = session.execute(sa.delete(Setting).where(Setting.key == _setup_key(token)))
    session.execute(sa.delete(Setting).where(col(Setting.key).startswith(_SETUP_KEY, autoescape=True)))
    return mine.rowcount == 1


def complete_setup(*, token: str, email: str, password: str, confirm: str, ip_address: str | None,
                   idempotency_key: str | None = None) -> SignedIn | idempotency.Replayed:
    """Create the first admin with a valid setup token (once) and sign them in (once per `idempotency_key`)."""
    with db.transaction() as session:
        if idempotency_key and idempotency.was_used(session, key=idempotency_key):
            return idempotency.REPLAYED  # this submit made the admin already (the link is spent)
        if not setup_token_valid(session, token):
            raise InvalidInput('This setup link is not valid any more. Restart the portal to print a new one.')
        email = validate.email(email)
        settings = get_settings(session)
    password_hash = passwords.accept_new_password(password, confirm, username=email, email=email, settings=settings)
    with db.transaction() as session:
        if idempotency_key and not idempotency.claim(session, key=idempotency_key, action='setup_completed'):
            return idempotency.REPLAYED
        if not setup_token_valid(session, token):  # checked again: another tab may have finished first
            raise InvalidInput('This setup link is not valid any more. Restart the portal to print a new one.')
        actor = Actor(username=email, ip_address=ip_address)
        account = create_account(session, email=email, password_hash=password_hash, role='admin',
                                 display_name='Administrator', actor=actor)
        if not _spend_setup_tokens(session, token):  # (the transaction, with the account, is rolled back)
            raise InvalidInput('This setup link is not valid any more. Restart the portal to print a new one.')
        audit.record(session, action='setup_completed', actor=actor, object_type='account', object_id=account.id)
        new_token = create_session(session, account_id=account.id, ip_address=ip_address)
        return SignedIn(token=new_token, actor=account_actor(session, account, ip_address))
