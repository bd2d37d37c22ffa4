"""Emails that tell people something is waiting: Reminder to Review (immediate or daily), unread
reminders, activation-code expiry reminders (staff alerts: services/staff_alerts.py).

Every email is an outbox row written in the same transaction as the claim that causes it. The scheduler
jobs below claim their rows with conditional UPDATEs, so several processes never send the same reminder.
No email carries PHI: only counts, dates and links.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Account, AccountContact, ActivationCode, Contact, OutboxEmail, Share

from . import clock, db, outbox
from .settings import PortalSettings, get_settings

DAILY_DIGEST_HOUR = 8  # daily-digest Reminders to Review go out at 08:00 in the portal's time zone
BATCH = 200


# ----------------------------------------------------------------------------- Reminder to Review

def review_group_key(contact_id: int, *, daily: bool = False) -> str:
    """Pending Reminders to Review of one contact share this key, so new shares merge into them."""
    return f'review-daily:{contact_id}' if daily else f'review:{contact_id}'


def notify_new_share(session: Session, *, share: Share, contact: Contact) -> OutboxEmail:
    """Queue a Reminder to Review, or add this share to one still waiting (merge window or daily digest)."""
    settings = get_settings(session)
    # serialize notifications per contact (PostgreSQL; SQLite writers are serialized anyway)
    session.exec(select(Contact.id).where(Contact.id == contact.id).with_for_update()).one()
    daily = wants_daily_digest(session, contact_id=contact.id)
    key = review_group_key(contact.id, daily=daily)
    waiting = session.exec(
        select(OutboxEmail).where(OutboxEmail.group_key == key, OutboxEmail.status == 'pending',
                                  OutboxEmail.attempts == 0, OutboxEmail.next_attempt_at > clock.now())
        .order_by(OutboxEmail.id.desc()).with_for_update()
    ).first()
    if waiting is not None:
        context = json.loads(waiting.context_json)
        context['document_count'] = int(context.get('document_count', 1)) + 1
        outbox.rerender(session, waiting, context)
        return waiting
    send_at = (next_daily_digest(clock.now(), settings) if daily
               else clock.now() + timedelta(minutes=settings.review_window_minutes))
    return outbox.enqueue(
        session, kind='reminder_to_review', to=contact.email, contact_id=contact.id, group_key=key,
        context={'document_count': 1, 'sign_in_url': f'{settings.public_url}/login'}, not_before=send_at,
    )


def wants_daily_digest(session: Session, *, contact_id: int) -> bool:
    """True when an active account holding this contact chose one Reminder to Review a day."""
    found = session.exec(
        select(Account.id).join(AccountContact, AccountContact.account_id == Account.id)
        .where(AccountContact.contact_id == contact_id, Account.notify_mode == 'daily', Account.is_active)
    ).first()
    return found is not None


def next_daily_digest(now: datetime, settings: PortalSettings) -> datetime:
    """The next 08:00 in the portal's time zone after `now` (UTC)."""
    try:
        zone = ZoneInfo(settings.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo('UTC')
    local = now.astimezone(zone)
    day = local.date()
    target = datetime.combine(day, time(DAILY_DIGEST_HOUR), tzinfo=zone)
    if target <= local:
        target = datetime.combine(day + timedelta(days=1), time(DAILY_DIGEST_HOUR), tzinfo=zone)
    return target.astimezone(UTC)


# ----------------------------------------------------------------------------- unread reminders

def send_unread_reminders() -> int:
    """Scheduler job: remind contacts of shares still unread (after N days, every M days, K times).

    Returns the number of emails queued (one per contact per run).
    """
    settings = get_settings()
    if settings.unread_reminder_max == 0:
        return 0
    return _remind_per_contact(settings, _claim_unread, _queue_unread_reminder)


def _claim_unread(session: Session, settings: PortalSettings) -> list[tuple[int, int, datetime]]:
    """Count one more reminder on each due share (at most BATCH) and return (id, contact, sent_at)."""
    now = clock.now()
    t = Share.__table__
    links = AccountContact.__table__
    first_due = sa.and_(t.c.unread_reminders_sent == 0,
                        t.c.sent_at <= now - timedelta(days=settings.unread_reminder_after_days))
    again_due = sa.and_(t.c.unread_reminders_sent > 0, t.c.unread_reminders_sent < settings.unread_reminder_max,
                        t.c.last_unread_reminder_at <= now - timedelta(days=settings.unread_reminder_every_days))
    waiting = sa.or_(t.c.first_read_at.is_(None),  # unopened, or an acknowledgement asked for is still missing
                     sa.and_(t.c.acknowledgement_required.is_(True), t.c.acknowledged_at.is_(None)))
    due = sa.and_(waiting, t.c.rescinded_at.is_(None), sa.or_(first_due, again_due),
                  sa.or_(t.c.expires_at.is_(None), t.c.expires_at > now),
                  sa.exists().where(links.c.contact_id == t.c.contact_id))
    ids = sa.select(t.c.id).where(due).order_by(t.c.id).limit(BATCH).with_for_update(skip_locked=True)
    # the outer WHERE repeats `due`: a row another process just counted no longer matches
    result = session.execute(
        sa.update(t).where(t.c.id.in_(ids.scalar_subquery()), due)
        .values(unread_reminders_sent=t.c.unread_reminders_sent + 1, last_unread_reminder_at=now)
        .returning(t.c.id, t.c.contact_id, t.c.sent_at))
    return [(row[0], row[1], _utc(row[2])) for row in result]


def _queue_unread_reminder(session: Session, settings: PortalSettings, contact_id: int,
                           sent: list[datetime]) -> None:
    contact = session.get(Contact, contact_id)
    days = max((clock.now() - min(sent)).days, 1)
    outbox.enqueue(session, kind='unread_reminder', to=contact.email, contact_id=contact.id, context={
        'document_count': len(sent), 'days_waiting': days, 'sign_in_url': f'{settings.public_url}/login'})


# ----------------------------------------------------------------------------- activation codes

def send_code_expiry_reminders() -> int:
    """Scheduler job: one reminder for each unused activation code a few days before it expires."""
    settings = get_settings()
    if settings.code_expiry_reminder_days == 0:
        return 0
    return _remind_per_contact(settings, _claim_expiring_codes, _queue_code_expiring)


def _queue_code_expiring(session: Session, settings: PortalSettings, contact_id: int,
                         expiries: list[datetime]) -> None:
    contact = session.get(Contact, contact_id)
    outbox.enqueue(session, kind='code_expiring', to=contact.email, contact_id=contact.id, context={
        'expires_on': min(expiries).strftime('%d %b %Y'), 'activate_url': f'{settings.public_url}/activate'})


def _remind_per_contact(settings: PortalSettings, claim, queue) -> int:
    """Claim due rows in batches, each batch in one transaction with its emails: one email per contact."""
    queued = 0
    while True:
        with db.transaction() as session:
            claimed = claim(session, settings)
            if not claimed:
                return queued
            by_contact: dict[int, list[datetime]] = defaultdict(list)
            for _row_id, contact_id, when in claimed:
                by_contact[contact_id].append(when)
            for contact_id, whens in by_contact.items():
                queue(session, settings, contact_id, whens)
                queued += 1


def _claim_expiring_codes(session: Session, settings: PortalSettings) -> list[tuple[int, int, datetime]]:
    """Mark due codes as reminded (at most BATCH) and return (id, contact, expires_at)."""
    now = clock.now()
    t = ActivationCode.__table__
    links = AccountContact.__table__
    due = sa.and_(t.c.used_at.is_(None), t.c.revoked_at.is_(None), t.c.expiry_reminder_sent_at.is_(None),
                  t.c.expires_at > now, t.c.expires_at <= now + timedelta(days=settings.code_expiry_reminder_days),
                  ~sa.exists().where(links.c.contact_id == t.c.contact_id))
    ids = sa.select(t.c.id).where(due).order_by(t.c.id).limit(BATCH).with_for_update(skip_locked=True)
    result = session.execute(
        sa.update(t).where(t.c.id.in_(ids.scalar_subquery()), due).values(expiry_reminder_sent_at=now)
        .returning(t.c.id, t.c.contact_id, t.c.expires_at))
    return [(row[0], row[1], _utc(row[2])) for row in result]


# ----------------------------------------------------------------------------- shares about to expire

def send_share_expiry_notices() -> int:
    """Scheduler job: tell a contact (no PHI: a count and a date) N days before shares expire, once per share."""
    settings = get_settings()
    if settings.share_expiry_notice_days == 0:
        return 0
    return _remind_per_contact(settings, _claim_expiring_shares, _queue_share_expiring)


def _claim_expiring_shares(session: Session, settings: PortalSettings) -> list[tuple[int, int, datetime]]:
    """Mark due shares as noticed (at most BATCH) and return (id, contact, expires_at)."""
    now = clock.now()
    t = Share.__table__
    due = sa.and_(t.c.expires_at.is_not(None), t.c.expires_at > now,
                  t.c.expires_at <= now + timedelta(days=settings.share_expiry_notice_days),
                  t.c.expiry_notice_sent_at.is_(None), t.c.rescinded_at.is_(None))
    ids = sa.select(t.c.id).where(due).order_by(t.c.id).limit(BATCH).with_for_update(skip_locked=True)
    result = session.execute(
        sa.update(t).where(t.c.id.in_(ids.scalar_subquery()), due).values(expiry_notice_sent_at=now)
        .returning(t.c.id, t.c.contact_id, t.c.expires_at))
    return [(row[0], row[1], _utc(row[2])) for row in result]


def _queue_share_expiring(session: Session, settings: PortalSettings, contact_id: int,
                          expiries: list[datetime]) -> None:
    from .sharing import expiry_date  # sharing imports this module
    contact = session.get(Contact, contact_id)
    last_day = expiry_date(min(expiries), settings)
    outbox.enqueue(session, kind='share_expiring', to=contact.email, contact_id=contact.id, context={
        'document_count': len(expiries), 'expires_on': last_day.strftime('%d %b %Y'),
        'sign_in_url': f'{settings.public_url}/login'})


# Staff alerts (replies, registrations, unread and bounced shares) live in services/staff_alerts.py.


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
