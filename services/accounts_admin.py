"""Account management for admins: staff and admin accounts, contact accounts, all audited."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Account, AccountContact, Contact, UserSession
from models.shapes import Actor

from . import audit, auth, clock, outbox, second_factor, throttle, validate, verification
from .errors import InvalidInput, NotAvailable
from .settings import get_settings
from .settings_admin import require_admin

STAFF_ROLES = ('staff', 'admin')
LAST_ADMIN = 'This is the last active administrator: add or enable another administrator first.'


@dataclass(frozen=True)
class AccountRow:
    """One line of the accounts list."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    last_sign_in_at: datetime | None
    second_factors: tuple[str, ...] = ()  # 'passkey', 'totp' (services.second_factor.enrolled_factors)
    second_factor_forced: bool = False  # must set one up at the next sign-in


@dataclass(frozen=True)
class LinkedContact:
    """A contact an account holds."""

    id: int
    name: str
    email: str
    organization: str


@dataclass(frozen=True)
class AccountDetail:
    """What the admin sees about one account."""

    account: AccountRow
    email: str
    created_at: datetime
    locked_until: datetime | None
    open_sessions: int
    contacts: list[LinkedContact]


def list_accounts(session: Session, *, actor: Actor, kind: str, search: str = '', offset: int = 0,
                  limit: int = 25, two_step: str = '') -> tuple[list[AccountRow], int]:
    """One page of staff/admin accounts (kind='staff') or contact accounts (kind='contact'), and the total.

    The search matches username, email, display name and, for contacts, a linked contact's name or organization;
    `two_step` 'enrolled' / 'not_enrolled' keeps those with / without a second factor.
    """
    require_admin(actor)
    roles = STAFF_ROLES if kind == 'staff' else ('contact',)
    condition = Account.role.in_(roles)
    term = (search or '').strip().lower()[:100]
    if term:
        like = f'%{term}%'
        matches = [sa.func.lower(Account.username).like(like), sa.func.lower(Account.email).like(like),
                   sa.func.lower(Account.display_name).like(like)]
        if kind != 'staff':
            linked = (select(AccountContact.account_id).join(Contact, Contact.id == AccountContact.contact_id)
                      .where(sa.or_(sa.func.lower(Contact.first_name + ' ' + Contact.last_name).like(like),
                                    sa.func.lower(sa.func.coalesce(Contact.organization, '')).like(like),
                                    sa.func.lower(Contact.email).like(like))))
            matches.append(Account.id.in_(linked))
        condition = sa.and_(condition, sa.or_(*matches))
    if two_step in ('enrolled', 'not_enrolled'):
        enrolled = second_factor.enrolled_condition()
        condition = sa.and_(condition, enrolled if two_step == 'enrolled' else sa.not_(enrolled))
    total = session.exec(select(sa.func.count()).select_from(Account).where(condition)).one()
    rows = session.exec(select(Account).where(condition).order_by(Account.username).offset(offset).limit(limit)).all()
    factors = second_factor.enrolled_accounts(session, [a.id for a in rows])
    return [_row(a, factors[a.id]) for a in rows], total


def account_detail(session: Session, *, actor: Actor, account_id: int) -> AccountDetail:
    """One account with its lock, open sessions and linked contacts."""
    require_admin(actor)
    account = _get(session, account_id)
    contacts = session.exec(
        select(Contact).join(AccountContact, AccountContact.contact_id == Contact.id)
        .where(AccountContact.account_id == account.id).order_by(Contact.last_name, Contact.first_name)
    ).all()
    sessions = session.exec(select(sa.func.count()).select_from(UserSession)
                            .where(UserSession.account_id == account.id)).one()
    return AccountDetail(
        account=_row(account, second_factor.enrolled_factors(session, account.id)), email=account.email,
        created_at=account.created_at,
        locked_until=throttle.locked_until(session, 'sign_in', account.username), open_sessions=sessions,
        contacts=[LinkedContact(c.id, c.display_name, c.email, c.organization or '') for c in contacts])


def create_staff_account(session: Session, *, actor: Actor, email: str, display_name: str, role: str) -> AccountRow:
    """Create a staff or admin account with no usable password and email a code to set one."""
    require_admin(actor)
    if role not in STAFF_ROLES:
        raise InvalidInput('Role must be staff or admin.')
    name = validate.text(display_name, label='Name', max_length=200)
    unusable = 'unusable:' + secrets.token_hex(16)  # never matches an argon2 hash: only the reset code opens it
    account = auth.create_account(session, email=email, password_hash=unusable, role=role, display_name=name,
                                  actor=actor)
    send_password_reset(session, account=account)
    audit.record(session, action='account_password_reset_sent', actor=actor, object_type='account',
                 object_id=account.id, detail={'reason': 'new account'})
    return _row(account)


def reset_password(session: Session, *, actor: Actor, account_id: int) -> None:
    """Email the account a one-time code to set a new password (the current one keeps working until then)."""
    require_admin(actor)
    account = _get(session, account_id)
    if not account.is_active:
        raise InvalidInput('Enable the account before sending a password reset.')
    send_password_reset(session, account=account)
    audit.record(session, action='account_password_reset_sent', actor=actor, object_type='account',
                 object_id=account.id)


def send_password_reset(session: Session, *, account: Account) -> None:
    """Queue the forgot-password flow's 'password_reset' email with a new code, in the caller's transaction.

    The person enters it on /forgot-password (services.verification: 10 minutes, 5 tries) and may ask for
    another code there at any time; earlier unused codes stop working.
    """
    code = verification.issue(session, purpose=verification.PASSWORD_RESET, email=account.email,
                              account_id=account.id)
    outbox.enqueue(session, kind='password_reset', to=account.email, account_id=account.id, context={
        'reset_code': code, 'minutes_valid': verification.MINUTES_VALID,
        'reset_url': f'{get_settings(session).public_url}/forgot-password'})


def set_active(session: Session, *, actor: Actor, account_id: int, active: bool) -> None:
    """Enable or disable an account; disabling ends all its sessions at once. The last admin stays."""
    require_admin(actor)
    account = _get(session, account_id, lock=True)
    if account.is_active == active:
        return
    if not active and account.role == 'admin':
        _keep_one_admin(session, account)
    account.is_active = active
    account.disabled_at = None if active else clock.now()
    session.add(account)
    ended = 0 if active else auth.end_all_sessions(session, account_id=account.id)
    audit.record(session, action='account_enabled' if active else 'account_disabled', actor=actor,
                 object_type='account', object_id=account.id, detail={'sessions_ended': ended})


def change_role(session: Session, *, actor: Actor, account_id: int, role: str) -> None:
    """Make a staff account an admin or the other way round (contact accounts keep their role)."""
    require_admin(actor)
    if role not in STAFF_ROLES:
        raise InvalidInput('Role must be staff or admin.')
    account = _get(session, account_id, lock=True)
    if account.role not in STAFF_ROLES:
        raise InvalidInput('Contact accounts cannot become staff or admin accounts.')
    if account.role == role:
        return
    if account.role == 'admin' and account.is_active:
        _keep_one_admin(session, account)
    old = account.role
    account.role = role
    session.add(account)
    auth.end_all_sessions(session, account_id=account.id)  # the new role applies from the next sign-in
    audit.record(session, action='account_role_changed', actor=actor, object_type='account', object_id=account.id,
                 detail={'old': old, 'new': role})


def unlock(session: Session, *, actor: Actor, account_id: int) -> None:
    """Clear the sign-in lock after failed attempts."""
    require_admin(actor)
    account = _get(session, account_id)
    throttle.reset(session, 'sign_in', account.username)
    audit.record(session, action='account_unlocked', actor=actor, object_type='account', object_id=account.id)


def end_sessions(session: Session, *, actor: Actor, account_id: int) -> int:
    """Sign the account out everywhere; return how many sessions ended."""
    require_admin(actor)
    account = _get(session, account_id)
    ended = auth.end_all_sessions(session, account_id=account.id)
    audit.record(session, action='account_sessions_ended', actor=actor, object_type='account', object_id=account.id,
                 detail={'sessions_ended': ended})
    return ended


def _keep_one_admin(session: Session, account: Account) -> None:
    others = session.exec(select(Account.id).where(Account.role == 'admin', Account.is_active.is_(True),
                                                   Account.id != account.id).with_for_update()).all()
    if not others:
        raise InvalidInput(LAST_ADMIN)


def _get(session: Session, account_id: int, *, lock: bool = False) -> Account:
    query = select(Account).where(Account.id == account_id)
    account = session.exec(query.with_for_update() if lock else query).first()
    if account is None:
        raise NotAvailable('This account does not exist.')
    return account


def _row(account: Account, factors: set[str] | None = None) -> AccountRow:
    return AccountRow(id=account.id, username=account.username, display_name=account.display_name,
                      role=account.role, active=account.is_active, last_sign_in_at=account.last_sign_in_at,
                      second_factors=tuple(sorted(factors or ())), second_factor_forced=account.second_factor_forced)
