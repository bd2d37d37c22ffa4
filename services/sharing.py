"""Send Document: copy a chart document into a contact's chart, create the share, queue the email."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import Session, select

from models import (RECEIVED_DOCUMENT, Account, AccountContact, ActivationCode, Chart, Contact, Document, OutboxEmail,
                    Share)
from models.shapes import Actor

from . import activation, audit, clock, db, notifications, validate
from .errors import Forbidden, InvalidInput, NotAvailable
from .settings import PortalSettings, get_settings

EXPIRED = 'expired'  # the rescind reason of a share whose expiry date passed


@dataclass(frozen=True)
class ShareResult:
    """What one send produced: the share, the copy, and the activation code when one was issued."""

    share_id: int
    copy_document_id: int
    activation_code: str | None
    email_kind: str
    notice_email_id: int | None = None


def share_document(session: Session, *, document_id: int, contact_id: int, actor: Actor,
                   replies_allowed: bool = True, invite: bool = True, expires_on: Any = None,
                   acknowledgement_required: bool = False, notice_email_id: int | None = None) -> ShareResult:
    """Share one chart document with one contact, in the caller's transaction.

    The contact gets an invitation with a new activation code when no portal account holds it
    (unless `invite` is False: a batch invites each new contact once, `notice_email_id` names that invitation),
    otherwise a Reminder to Review. `expires_on` (a date, 'YYYY-MM-DD' or None) is the last day the contact
    can open it; `acknowledgement_required` asks the contact to press 'I have reviewed this document'.
    """
    _require_staff(actor)
    expires_at = expiry_moment(session, expires_on)
    document = session.get(Document, document_id)
    if document is None or document.deleted_at is not None or document.chart_id is None:
        raise NotAvailable('This document is not available for sending.')
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise InvalidInput('Choose a recipient.')
    chart = session.get(Chart, document.chart_id)
    copy = Document(
        contact_id=contact.id, source_document_id=document.id, service_date=document.service_date,
        doc_type=RECEIVED_DOCUMENT, title=f'{document.title} - {chart.display_name}'[:300],
        service_location=document.service_location, author_account_id=actor.account_id,
        author_name=actor.display_name or actor.username, body_html=document.body_html, body_text=document.body_text,
        file_id=document.file_id, file_name=document.file_name, created_at=clock.now(),
    )
    session.add(copy)
    session.flush()
    share = Share(
        contact_id=contact.id, document_id=copy.id, source_document_id=document.id, chart_id=chart.id,
        service_date=document.service_date, regarding=chart.display_name[:210], by_name=document.author_name[:200],
        doc_type=document.doc_type, title=document.title, sent_by_account_id=actor.account_id, sent_at=clock.now(),
        replies_allowed=bool(replies_allowed), expires_at=expires_at,
        acknowledgement_required=bool(acknowledgement_required),
    )
    session.add(share)
    session.flush()
    has_account = session.exec(select(AccountContact.id).where(AccountContact.contact_id == contact.id)).first()
    code = None
    if has_account:
        share.notice_email_id = notifications.notify_new_share(session, share=share, contact=contact).id
        kind = 'reminder_to_review'
    elif invite:
        issued = activation.issue_code(session, contact=contact, actor=actor, share_id=share.id)
        code, share.notice_email_id = issued.code, issued.email_id
        kind = 'invitation'
    else:
        share.notice_email_id = notice_email_id
        kind = 'none'  # covered by the invitation sent with another document of the same batch
    session.add(share)
    session.flush()
    audit.record(session, action='document_shared', actor=actor, object_type='share', object_id=share.id,
                 chart_id=chart.id, document_id=document.id, contact_id=contact.id,
                 detail={'copy_document_id': copy.id, 'email': kind, 'replies_allowed': share.replies_allowed,
                         'expires_at': expires_at.isoformat() if expires_at else None,
                         'acknowledgement_required': share.acknowledgement_required})
    return ShareResult(share_id=share.id, copy_document_id=copy.id, activation_code=code, email_kind=kind,
                       notice_email_id=share.notice_email_id)


# ----------------------------------------------------------------------------- expiry dates

def portal_today(settings: PortalSettings) -> date:
    """Today in the portal's time zone."""
    return clock.now().astimezone(_zone(settings)).date()


def default_expiry(settings: PortalSettings) -> date | None:
    """The Send dialog's default 'expires on' (None: no expiry)."""
    days = settings.share_expiry_default_days
    if settings.share_expiry_max_days:
        days = min(days or settings.share_expiry_max_days, settings.share_expiry_max_days)
    return portal_today(settings) + timedelta(days=days) if days else None


LONGEST_EXPIRY_DAYS = 3650  # beyond that a date is a typo (and year 9999 cannot be stored as a moment)


def expiry_moment(session: Session, expires_on: Any) -> datetime | None:
    """The instant a share chosen to expire 'on' a date stops working: the end of that day in the portal's
    time zone. Refuses a day before tomorrow and beyond the admin's maximum (required when one is set)."""
    settings = get_settings(session)
    if expires_on is None or (isinstance(expires_on, str) and not expires_on.strip()):
        if settings.share_expiry_max_days:
            raise InvalidInput(f'Choose an expiry date: shares expire within {settings.share_expiry_max_days} days.')
        return None
    if isinstance(expires_on, datetime):
        expires_on = expires_on.date()
    if not isinstance(expires_on, date):
        try:
            expires_on = date.fromisoformat(str(expires_on).strip()[:10])
        except ValueError:
            raise InvalidInput('Write the expiry date as YYYY-MM-DD.') from None
    today = portal_today(settings)
    if expires_on < today:
        raise InvalidInput('The expiry date has passed: choose today or a later day.')
    if settings.share_expiry_max_days and expires_on > today + timedelta(days=settings.share_expiry_max_days):
        raise InvalidInput(f'Shares may expire at most {settings.share_expiry_max_days} days from today.')
    if expires_on > today + timedelta(days=LONGEST_EXPIRY_DAYS):
        raise InvalidInput('Choose an expiry date within ten years, or none.')
    zone = _zone(settings)
    return datetime.combine(expires_on + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def expiry_date(expires_at: datetime | None, settings: PortalSettings) -> date | None:
    """The last day a share works (the day before its expiry instant, in the portal's time zone)."""
    if expires_at is None:
        return None
    return (expires_at.astimezone(_zone(settings)) - timedelta(microseconds=1)).date()


def _zone(settings: PortalSettings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo('UTC')


def expire_shares(*, batch: int = 200) -> int:
    """Scheduler job: shares whose expiry passed become rescinded with the reason 'expired' (copy deleted, audited).

    Rows are claimed with UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING, so several
    processes never expire the same share twice. Returns how many shares expired.
    """
    expired = 0
    while True:
        with db.transaction() as session:
            now = clock.now()
            t = Share.__table__
            due = sa.and_(t.c.expires_at.is_not(None), t.c.expires_at <= now, t.c.rescinded_at.is_(None))
            ids = sa.select(t.c.id).where(due).order_by(t.c.id).limit(batch).with_for_update(skip_locked=True)
            claimed = [row[0] for row in session.execute(
                sa.update(t).where(t.c.id.in_(ids.scalar_subquery()), due)
                .values(rescinded_at=now, expired_at=now, rescind_reason=EXPIRED, rescinded_by_account_id=None)
                .returning(t.c.id))]
            if not claimed:
                return expired
            for share in session.exec(select(Share).where(Share.id.in_(claimed)).order_by(Share.id)).all():
                session.refresh(share)
                copy = session.get(Document, share.document_id)
                if copy is not None and copy.deleted_at is None:
                    copy.deleted_at = now
                    session.add(copy)
                audit.record(session, action='share_expired', object_type='share', object_id=share.id,
                             detail={'expires_at': share.expires_at.isoformat(), 'copy_document_id': share.document_id},
                             **audit.share_refs(share))
            expired += len(claimed)


def change_expiry(session: Session, *, share_id: int, expires_on: Any, actor: Actor) -> Share:
    """Extend (or shorten, or clear) a share's expiry, before or after it passed; an expired share opens again."""
    _require_staff(actor)
    share = session.get(Share, share_id)
    if share is None:
        raise NotAvailable('This share does not exist.')
    if share.rescinded_at is not None and share.expired_at is None:
        raise InvalidInput('This document was rescinded: send it again instead.')
    new = expiry_moment(session, expires_on)
    old, reopened = share.expires_at, share.expired_at is not None
    share.expires_at, share.expiry_notice_sent_at = new, None
    if reopened:
        share.rescinded_at = share.expired_at = share.rescind_reason = share.rescinded_by_account_id = None
        copy = session.get(Document, share.document_id)
        if copy is not None:
            copy.deleted_at = None
            session.add(copy)
    session.add(share)
    session.flush()
    audit.record(session, action='share_expiry_changed', actor=actor, object_type='share', object_id=share.id,
                 detail={'old': old.isoformat() if old else None, 'new': new.isoformat() if new else None,
                         'reopened': reopened}, **audit.share_refs(share))
    return share


# ----------------------------------------------------------------------------- batch send, rescind, history

MAX_BATCH = 50


def send_documents(session: Session, *, document_ids: list[int], contact_ids: list[int], actor: Actor,
                   replies_allowed: bool = True, expires_on: Any = None,
                   acknowledgement_required: bool = False) -> list[ShareResult]:
    """Send several documents to several contacts in the caller's transaction (all or nothing)."""
    _require_staff(actor)
    documents = list(dict.fromkeys(document_ids))
    contacts = list(dict.fromkeys(contact_ids))
    if not documents:
        raise InvalidInput('Select at least one document to send.')
    if not contacts:
        raise InvalidInput('Choose at least one recipient.')
    if len(documents) * len(contacts) > MAX_BATCH:
        raise InvalidInput(f'Send at most {MAX_BATCH} documents at once (documents × recipients).')
    results = []
    for contact_id in contacts:
        notice = None
        for index, document_id in enumerate(documents):
            result = share_document(session, document_id=document_id, contact_id=contact_id, actor=actor,
                                    replies_allowed=replies_allowed, invite=index == 0, expires_on=expires_on,
                                    acknowledgement_required=acknowledgement_required, notice_email_id=notice)
            notice = notice or result.notice_email_id
            results.append(result)
    return results


def rescind(session: Session, *, share_id: int, reason: str, actor: Actor) -> Share:
    """Withdraw a share with a reason: its copy is deleted and the contact loses access at once."""
    _require_staff(actor)
    reason = validate.text(reason, label='Reason', max_length=500)
    share = session.get(Share, share_id)
    if share is None:
        raise NotAvailable('This share does not exist.')
    if share.rescinded_at is not None:
        raise InvalidInput('This document was already rescinded.')
    now = clock.now()
    share.rescinded_at, share.rescinded_by_account_id, share.rescind_reason = now, actor.account_id, reason
    copy = session.get(Document, share.document_id)
    if copy is not None and copy.deleted_at is None:
        copy.deleted_at = now
        session.add(copy)
    session.add(share)
    session.flush()
    audit.record(session, action='share_rescinded', actor=actor, object_type='share', object_id=share.id,
                 detail={'reason': reason, 'copy_document_id': share.document_id}, **audit.share_refs(share))
    return share


MAX_RESCIND = 200


def rescind_many(session: Session, *, share_ids: list[int], reason: str, actor: Actor) -> int:
    """Withdraw several shares with one reason (all in one transaction); those already withdrawn are skipped.

    Returns how many were rescinded now.
    """
    _require_staff(actor)
    validate.text(reason, label='Reason', max_length=500)
    wanted = list(dict.fromkeys(int(i) for i in share_ids or []))
    if not wanted:
        raise InvalidInput('Select the shares to withdraw first.')
    if len(wanted) > MAX_RESCIND:
        raise InvalidInput(f'Withdraw at most {MAX_RESCIND} shares at once.')
    shares = session.exec(select(Share).where(Share.id.in_(wanted)).with_for_update()).all()
    if len(shares) != len(wanted):
        raise NotAvailable('This share does not exist.')
    active = [share for share in shares if share.rescinded_at is None]
    if not active:
        raise InvalidInput('The selected documents were already withdrawn.')
    for share in active:
        rescind(session, share_id=share.id, reason=reason, actor=actor)
    return len(active)


def share_visible_to(session: Session, *, share_id: int, actor: Actor) -> bool:
    """True when the actor may open this share now: staff, or a contact account holding the share's contact."""
    share = session.get(Share, share_id)
    if share is None or share.rescinded_at is not None:
        return False
    copy = session.get(Document, share.document_id)
    if copy is None or copy.deleted_at is not None:
        return False
    return actor.is_staff or share.contact_id in actor.contact_ids


@dataclass(frozen=True)
class ShareReceipt:
    """What became of one share, as staff see it (send history and contact chart)."""

    email: str  # the invitation / Reminder to Review: 'queued', 'sent <time>', 'bounced: <server answer>', ...
    reminders: str  # unread reminders sent: '' or '2 (last 2026-11-20)'
    code_state: str  # '' (existing account), 'pending until ...', 'used ...', 'expired ...', 'replaced'
    first_viewed: datetime | None
    last_viewed: datetime | None
    downloads: int
    acknowledged: str  # '' (not asked), 'waiting', or the time
    replies: int
    expires: str  # '' or 'expires <date>'
    state: str  # 'active', 'expired <date>' or 'rescinded <date>: <reason>'
    active: bool
    expired: bool
    expires_on: date | None
    # what the contact can do now: 'active account', 'account disabled', 'pending code until <date>',
    # 'bounced email', 'no usable code', 'rescinded', 'expired'
    access: str = ''


@dataclass(frozen=True)
class SendRecord:
    """One line of a document's send history."""

    share_id: int
    recipient: str
    recipient_email: str
    contact_id: int
    sender: str
    sent_at: datetime
    copy_document_id: int
    code_state: str  # '' (existing account), 'pending until ...', 'used ...', 'expired ...', 'replaced'
    rescinded: str  # '' or 'rescinded <date>: <reason>' or 'expired <date>'
    receipt: ShareReceipt | None = None


def send_history(session: Session, *, document_id: int, actor: Actor) -> list[SendRecord]:
    """Every send of a chart document: recipient, sender, date, the copy's id and what became of it."""
    _require_staff(actor)
    rows = session.exec(
        select(Share, Contact, Account.display_name)
        .join(Contact, Contact.id == Share.contact_id)
        .join(Account, Account.id == Share.sent_by_account_id, isouter=True)
        .where(Share.source_document_id == document_id).order_by(Share.sent_at.desc(), Share.id.desc())
    ).all()
    found = receipts(session, [share for share, _, _ in rows])
    return [SendRecord(
        share_id=share.id, recipient=contact.display_name, recipient_email=contact.email, contact_id=contact.id,
        sender=sender or '', sent_at=share.sent_at, copy_document_id=share.document_id,
        code_state=found[share.id].code_state, rescinded='' if found[share.id].active else found[share.id].state,
        receipt=found[share.id],
    ) for share, contact, sender in rows]


def receipts(session: Session, shares: list[Share]) -> dict[int, ShareReceipt]:
    """The receipt of each share (three queries whatever the number of shares)."""
    if not shares:
        return {}
    settings = get_settings(session)
    codes = _codes_by_share(session, [share.id for share in shares])
    codes |= _covering_codes(session, [share for share in shares if share.id not in codes])
    email_ids = {share.notice_email_id for share in shares if share.notice_email_id}
    emails = {e.id: e for e in session.exec(select(OutboxEmail).where(OutboxEmail.id.in_(email_ids))).all()} \
        if email_ids else {}
    contact_ids = {share.contact_id for share in shares}
    accounts = dict(session.exec(select(AccountContact.contact_id, Account.is_active)
                                 .join(Account, Account.id == AccountContact.account_id)
                                 .where(AccountContact.contact_id.in_(contact_ids))).all())
    pending = dict(session.exec(select(ActivationCode.contact_id, sa.func.max(ActivationCode.expires_at))
                                .where(ActivationCode.contact_id.in_(contact_ids), ActivationCode.used_at.is_(None),
                                       ActivationCode.revoked_at.is_(None), ActivationCode.expires_at > clock.now())
                                .group_by(ActivationCode.contact_id)).all())
    return {share.id: _with_access(_receipt(share, emails.get(share.notice_email_id), codes.get(share.id), settings),
                                   share, emails.get(share.notice_email_id), accounts, pending)
            for share in shares}


def _with_access(receipt: ShareReceipt, share: Share, email: OutboxEmail | None, accounts: dict[int, bool],
                 pending: dict[int, datetime]) -> ShareReceipt:
    """The receipt with what the contact can do now (an account outranks old codes; a bounce outranks a code
    the contact never received)."""
    if share.expired_at is not None:
        access = 'expired'
    elif share.rescinded_at is not None:
        access = 'rescinded'
    elif share.contact_id in accounts:
        access = 'active account' if accounts[share.contact_id] else 'account disabled'
    elif email is not None and email.kind == 'invitation' and email.status == 'failed':
        access = 'bounced email: the invitation did not arrive'
    elif share.contact_id in pending:
        access = f'pending code until {pending[share.contact_id]:%Y-%m-%d}'
    else:
        access = 'no usable code: send a new code'
    code = receipt.code_state
    if share.contact_id in accounts and code == 'replaced by a newer code':
        code = 'not needed: the contact has an account'
    elif access.startswith('bounced') and code.startswith('pending'):
        code = 'not received (the invitation bounced)'
    return dataclasses.replace(receipt, access=access, code_state=code)


def email_state(email: OutboxEmail | None) -> str:
    """An email's delivery state for staff: queued, sent, bounced (with the server's answer), cancelled."""
    if email is None:
        return ''
    kind = email.kind.replace('_', ' ')
    if email.status in ('pending', 'sending'):
        return f'{kind}: queued' + (f' (retrying: {email.last_error[:200]})' if email.last_error else '')
    if email.status == 'sent':
        return f'{kind}: sent {email.sent_at:%Y-%m-%d %H:%M}' if email.sent_at else f'{kind}: sent'
    if email.status == 'failed':
        return f'{kind}: bounced: {(email.last_error or "no answer")[:300]}'
    return f'{kind}: {email.status}'


def _receipt(share: Share, email: OutboxEmail | None, code: ActivationCode | None,
             settings: PortalSettings) -> ShareReceipt:
    if share.expired_at is not None:
        state = f'expired {expiry_date(share.expires_at, settings) or share.expired_at.date()}'
    elif share.rescinded_at is not None:
        state = f'rescinded {share.rescinded_at:%Y-%m-%d}: {share.rescind_reason}'
    else:
        state = 'active'
    last_day = expiry_date(share.expires_at, settings)
    if not share.acknowledgement_required:
        acknowledged = ''
    elif share.acknowledged_at is not None:
        acknowledged = f'{share.acknowledged_at:%Y-%m-%d %H:%M}'
    else:
        acknowledged = 'waiting'
    reminders = (f'{share.unread_reminders_sent} (last {share.last_unread_reminder_at:%Y-%m-%d})'
                 if share.unread_reminders_sent and share.last_unread_reminder_at else '')
    return ShareReceipt(
        email=email_state(email), reminders=reminders, code_state=code_state(code), first_viewed=share.first_read_at,
        last_viewed=share.last_read_at, downloads=share.download_count, acknowledged=acknowledged,
        replies=share.reply_count, expires=f'expires {last_day}' if last_day and state == 'active' else '',
        state=state, active=share.rescinded_at is None, expired=share.expired_at is not None, expires_on=last_day)


@dataclass(frozen=True)
class UnreadShare:
    """A share the staff member sent that is still unread (the staff home's filter)."""

    share_id: int
    document_id: int
    title: str
    regarding: str
    recipient: str
    sent_at: datetime
    days_waiting: int
    email: str


def unread_sent_by(session: Session, *, actor: Actor, days: int = 3, offset: int = 0,
                   limit: int = 25) -> tuple[list[UnreadShare], int]:
    """Shares this staff member sent at least `days` ago that the contact has not opened yet; page and total."""
    _require_staff(actor)
    days = max(0, min(int(days), 3650))
    now = clock.now()
    where = (Share.sent_by_account_id == actor.account_id, Share.rescinded_at.is_(None),
             Share.first_read_at.is_(None), Share.sent_at <= now - timedelta(days=days))
    total = session.exec(select(sa.func.count()).select_from(Share).where(*where)).one()
    rows = session.exec(select(Share, Contact).join(Contact, Contact.id == Share.contact_id).where(*where)
                        .order_by(Share.sent_at, Share.id).offset(max(0, offset)).limit(max(1, min(limit, 100)))).all()
    email_ids = {share.notice_email_id for share, _ in rows if share.notice_email_id}
    emails = {e.id: e for e in session.exec(select(OutboxEmail).where(OutboxEmail.id.in_(email_ids))).all()} \
        if email_ids else {}
    return [UnreadShare(share_id=share.id, document_id=share.source_document_id, title=share.title,
                        regarding=share.regarding, recipient=f'{contact.display_name} <{contact.email}>',
                        sent_at=share.sent_at, days_waiting=(now - share.sent_at).days,
                        email=email_state(emails.get(share.notice_email_id))) for share, contact in rows], total


def code_state(code: ActivationCode | None) -> str:
    """A short description of an activation code's state for staff."""
    if code is None:
        return ''
    if code.used_at is not None:
        return f'used {code.used_at:%Y-%m-%d}'
    if code.revoked_at is not None:
        return 'replaced by a newer code'
    if code.expires_at <= clock.now():
        return f'expired {code.expires_at:%Y-%m-%d}'
    return f'pending until {code.expires_at:%Y-%m-%d}'


def _codes_by_share(session: Session, share_ids: list[int]) -> dict[int, ActivationCode]:
    if not share_ids:
        return {}
    codes = session.exec(select(ActivationCode).where(ActivationCode.share_id.in_(share_ids))
                         .order_by(ActivationCode.id)).all()  # the newest code of a share wins
    return {code.share_id: code for code in codes}


def _covering_codes(session: Session, shares: list[Share]) -> dict[int, ActivationCode]:
    """For shares sent without their own code (later documents of a batch): the contact's code outstanding then."""
    found: dict[int, ActivationCode] = {}
    for share in shares:
        code = session.exec(
            select(ActivationCode).where(ActivationCode.contact_id == share.contact_id,
                                         ActivationCode.created_at <= share.sent_at)
            .order_by(ActivationCode.id.desc())).first()
        if code is not None and (code.used_at is None or code.used_at >= share.sent_at):
            found[share.id] = code
    return found


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden()
