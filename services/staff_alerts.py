"""Staff alerts: each staff account chooses, per kind of event, an email at once, a digest every N minutes, or none.

Events: a new reply on a document I sent / on any document, a new registration to review, a share I sent still
unread after N days, the invitation of a share I sent bounced (its outbox row ended 'failed'). The admin's
settings hold the defaults; `StaffAlertPref` holds a staff member's own choices. `StaffAlertLog` remembers every
item an account was told about, so each item reaches each account once, in one email or one digest.

The emails carry no PHI: what happened, an id and a link into the clinic workspace.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import (
    Account,
    OutboxEmail,
    Registration,
    Reply,
    Share,
    StaffAlertLog,
    StaffAlertPref,
)
from models.alerts import ALERT_EVENTS, ALERT_MODES
from models.shapes import Actor

from . import audit, clock, db, outbox
from .errors import Forbidden, InvalidInput
from .settings import PortalSettings, get_settings

STAFF_ROLES = ('staff', 'admin')
LOOKBACK = timedelta(days=14)  # items older than this (or than the account's alerts) are never announced
MAX_IMMEDIATE = 20  # per account and tick; more become one digest-like summary next tick
EVENT_LABELS = {
    'reply_mine': 'New reply on a document I sent',
    'reply_any': 'New reply on any document',
    'registration': 'New registration to review',
    'unread': 'A share I sent is still unread after some days',
    'bounced': 'The invitation email of a share I sent bounced',
}
MODE_LABELS = {'off': 'No email', 'immediate': 'Email at once', 'digest': 'In the digest'}


@dataclass(frozen=True)
class AlertChoices:
    """A staff member's alert choices as the settings page shows them (defaults filled in)."""

    modes: dict[str, str]
    unread_days: int
    digest_minutes: int
    defaults: dict[str, str]


@dataclass(frozen=True)
class Item:
    event: str
    item_id: int
    url: str
    title: str
    text: str


def require_staff(actor: Actor) -> None:
    """Refuse anyone but staff and admins."""
    if not actor.is_staff:
        raise Forbidden()


def defaults(settings: PortalSettings) -> dict[str, str]:
    """The admin's default mode of each event."""
    return {event: getattr(settings, f'staff_alert_{event}') for event in ALERT_EVENTS}


def get_choices(session: Session, *, actor: Actor) -> AlertChoices:
    """The signed-in staff member's alert choices (the admin's defaults where they chose nothing)."""
    require_staff(actor)
    settings = get_settings(session)
    pref = session.get(StaffAlertPref, actor.account_id)
    base = defaults(settings)
    modes = {event: (getattr(pref, event, None) if pref else None) or base[event] for event in ALERT_EVENTS}
    return AlertChoices(modes=modes, unread_days=(pref.unread_days if pref and pref.unread_days else
                                                  settings.unread_reminder_after_days),
                        digest_minutes=(pref.digest_minutes if pref and pref.digest_minutes else
                                        settings.staff_digest_minutes), defaults=base)


def save_choices(session: Session, *, actor: Actor, modes: dict[str, str], unread_days: int | float | str,
                 digest_minutes: int | float | str) -> None:
    """Store the signed-in staff member's alert choices (audited); bad input changes nothing."""
    require_staff(actor)
    unknown = set(modes) - set(ALERT_EVENTS)
    if unknown or any(mode not in ALERT_MODES for mode in modes.values()):
        raise InvalidInput('Choose "No email", "Email at once" or "In the digest" for each alert.')
    days = _whole(unread_days, 'Unread after (days)', 1, 365)
    minutes = _whole(digest_minutes, 'Digest every (minutes)', 5, 7 * 24 * 60)
    pref = _pref(session, actor.account_id)
    for event in ALERT_EVENTS:
        if event in modes:
            setattr(pref, event, modes[event])
    pref.unread_days, pref.digest_minutes, pref.updated_at = days, minutes, clock.now()
    session.add(pref)
    session.flush()
    audit.record(session, action='staff_alerts_changed', actor=actor, object_type='account',
                 object_id=actor.account_id, detail={'modes': {e: getattr(pref, e) for e in ALERT_EVENTS},
                                                     'unread_days': days, 'digest_minutes': minutes})


def _whole(value: int | float | str, label: str, low: int, high: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f'{label} must be a whole number from {low} to {high}.') from None
    if number != int(number) or not low <= number <= high:
        raise InvalidInput(f'{label} must be a whole number from {low} to {high}.')
    return int(number)


def _pref(session: Session, account_id: int) -> StaffAlertPref:
    pref = session.get(StaffAlertPref, account_id)
    if pref is None:
        now = clock.now()
        pref = StaffAlertPref(account_id=account_id, digest_sent_at=now, created_at=now, updated_at=now)
        session.add(pref)
        session.flush()
    return pref


def waiting_counts(session: Session, *, actor: Actor) -> dict[str, int]:
    """What waits for the clinic now (the staff home's count): unworked replies, registrations to review."""
    require_staff(actor)
    replies = session.exec(select(sa.func.count()).select_from(Reply).where(Reply.worked_at.is_(None))).one()
    registrations = session.exec(select(sa.func.count()).select_from(Registration)
                                 .where(Registration.status == 'pending')).one()
    return {'replies': replies, 'registrations': registrations}


# ----------------------------------------------------------------------------- the job

def send_staff_alerts() -> int:
    """Scheduler job: email each staff account its new items, at once or in its digest. Returns emails queued.

    One transaction per account: the items an email announces are logged with it, so a crash never sends an
    item twice and a second process finds them logged.
    """
    settings = get_settings()
    with db.transaction() as session:
        accounts = [a.id for a in session.exec(select(Account).where(
            Account.role.in_(STAFF_ROLES), Account.is_active, Account.disabled_at.is_(None))).all()]
    queued = 0
    for account_id in accounts:
        try:
            with db.transaction() as session:
                queued += _alert_account(session, account_id, settings)
        except IntegrityError:  # another process told this account about the same items at the same moment
            continue
    return queued


def _alert_account(session: Session, account_id: int, settings: PortalSettings) -> int:
    account = session.exec(select(Account).where(Account.id == account_id).with_for_update()).first()
    if account is None:
        return 0
    pref = _pref(session, account_id)
    base = defaults(settings)
    modes = {event: getattr(pref, event) or base[event] for event in ALERT_EVENTS}
    if all(mode == 'off' for mode in modes.values()):
        return 0
    now = clock.now()
    since = max(pref.created_at, now - LOOKBACK)
    items = [item for event, mode in modes.items() if mode != 'off'
             for item in _new_items(session, event, account_id, since, pref, settings)]
    seen: set[tuple[str, int]] = set()
    if items:
        logged = session.exec(select(StaffAlertLog.event, StaffAlertLog.item_id).where(
            StaffAlertLog.account_id == account_id)).all()
        seen = {(e, i) for e, i in logged}
    fresh = [item for item in items if (item.event, item.item_id) not in seen]
    # a reply on my document is also a reply on any document: tell it once
    mine = {i.item_id for i in fresh if i.event == 'reply_mine'}
    fresh = [i for i in fresh if not (i.event == 'reply_any' and i.item_id in mine)]
    queued = 0
    immediate = [i for i in fresh if modes[i.event] == 'immediate'][:MAX_IMMEDIATE]
    for item in immediate:
        email = outbox.enqueue(session, kind='staff_alert', to=account.email, account_id=account_id, context={
            'alert_title': item.title, 'alert_text': item.text, 'item_url': f'{settings.public_url}{item.url}',
            'settings_url': f'{settings.public_url}/staff/settings'})
        _log(session, account_id, [item], email.id)
        queued += 1
    minutes = pref.digest_minutes or settings.staff_digest_minutes
    digest = [i for i in fresh if modes[i.event] == 'digest']
    if digest and (pref.digest_sent_at is None or pref.digest_sent_at <= now - timedelta(minutes=minutes)):
        counts: dict[str, int] = defaultdict(int)
        for item in digest:
            counts[item.event] += 1
        summary = [_summary(event, counts[event]) for event in ALERT_EVENTS if counts[event]]
        email = outbox.enqueue(session, kind='staff_digest', to=account.email, account_id=account_id, context={
            'item_count': len(digest), 'summary': summary, 'home_url': f'{settings.public_url}/staff',
            'settings_url': f'{settings.public_url}/staff/settings'})
        _log(session, account_id, digest, email.id)
        pref.digest_sent_at = now
        session.add(pref)
        queued += 1
    return queued


def _log(session: Session, account_id: int, items: list[Item], email_id: int) -> None:
    for item in items:
        session.add(StaffAlertLog(account_id=account_id, event=item.event, item_id=item.item_id, email_id=email_id))
    session.flush()


def _summary(event: str, count: int) -> str:
    plural = count != 1
    return {
        'reply_mine': f'{count} new {"replies" if plural else "reply"} on documents you sent',
        'reply_any': f'{count} new {"replies" if plural else "reply"} on other documents',
        'registration': f'{count} new {"registrations" if plural else "registration"} to review',
        'unread': f'{count} {"shares" if plural else "share"} you sent still unread',
        'bounced': f'{count} {"invitations" if plural else "invitation"} of shares you sent bounced',
    }[event]


def _new_items(session: Session, event: str, account_id: int, since, pref: StaffAlertPref,
               settings: PortalSettings) -> list[Item]:
    if event in ('reply_mine', 'reply_any'):
        stmt = select(Reply.id).join(Share, Share.id == Reply.share_id).where(Reply.created_at >= since)
        if event == 'reply_mine':
            stmt = stmt.where(Share.sent_by_account_id == account_id)
        return [Item(event, rid, f'/staff/reply/{rid}',
                     'New reply on a document you sent' if event == 'reply_mine' else 'New reply in the SMP worklist',
                     f'A contact replied to a document {"you sent" if event == "reply_mine" else "of the clinic"} '
                     f'(reply {rid}).') for rid in session.exec(stmt.order_by(Reply.id)).all()]
    if event == 'registration':
        rows = session.exec(select(Registration.id).where(Registration.created_at >= since,
                                                          Registration.status == 'pending')
                            .order_by(Registration.id)).all()
        return [Item(event, rid, f'/staff/registrations?open={rid}', 'New registration to review',
                     f'A new registration waits for review (registration {rid}).') for rid in rows]
    if event == 'unread':
        days = pref.unread_days or settings.unread_reminder_after_days
        due = clock.now() - timedelta(days=days)
        rows = session.exec(select(Share.id, Share.source_document_id).where(
            Share.sent_by_account_id == account_id, Share.first_read_at.is_(None), Share.rescinded_at.is_(None),
            Share.sent_at <= due, Share.sent_at >= since - timedelta(days=days)).order_by(Share.id)).all()
        return [Item(event, sid, f'/staff/document/{doc}', 'A share you sent is still unread',
                     f'A document you sent has not been opened after {days} days (share {sid}).')
                for sid, doc in rows]
    if event == 'bounced':
        rows = session.exec(select(Share.id, Share.source_document_id).join(
            OutboxEmail, OutboxEmail.id == Share.notice_email_id).where(
            Share.sent_by_account_id == account_id, OutboxEmail.status == 'failed',
            Share.sent_at >= since).order_by(Share.id)).all()
        return [Item(event, sid, f'/staff/document/{doc}', 'An invitation email bounced',
                     f'The email announcing a document you sent could not be delivered (share {sid}). '
                     'Check the contact\'s email address.') for sid, doc in rows]
    return []
