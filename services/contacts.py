"""Contacts: search-as-you-type, add with a duplicate warning, edit, staff notes, and the contact chart."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Account, AccountContact, ActivationCode, Contact, Document, Reply, ReplyAttachment, Share
from models.shapes import Actor

from . import activation, audit, clock, outbox, validate
from .charts import require_staff
from .errors import InvalidInput, NotAvailable
from .sharing import ShareReceipt, code_state, receipts

MAX_PAGE = 100


class PossibleDuplicate(InvalidInput):
    """A contact with the same name exists: confirm to add another one anyway."""

    def __init__(self, matches: list[ContactRow]) -> None:
        names = '; '.join(f'{m.name} <{m.email}>' for m in matches[:3])
        super().__init__(f'A contact with this name already exists: {names}. Pick it instead, '
                         'or confirm that this is a different person.')
        self.matches = matches


@dataclass(frozen=True)
class ContactRow:
    """A contact as lists and the recipient field show it."""

    id: int
    name: str
    email: str
    organization: str
    phone: str
    has_account: bool
    first_name: str = ''
    last_name: str = ''

    @property
    def label(self) -> str:
        org = f' · {self.organization}' if self.organization else ''
        return f'{self.name} <{self.email}>{org}'


@dataclass(frozen=True)
class AccountState:
    """The portal account holding a contact, as staff see it."""

    state: str  # 'no account' | 'active' | 'disabled'
    username: str = ''
    created_at: datetime | None = None
    last_sign_in_at: datetime | None = None


@dataclass(frozen=True)
class ReceivedDocument:
    """A copy in the contact chart."""

    id: int
    share_id: int | None
    service_date: date
    doc_type: str
    subject: str
    by: str
    service_location: str
    sent_at: datetime
    read: str
    rescinded: str
    receipt: ShareReceipt | None = None  # what became of the share (None for a copy without one)


@dataclass(frozen=True)
class CodeRow:
    """An activation code of the contact (never the code itself: only its state)."""

    id: int
    created_at: datetime
    expires_at: datetime
    state: str
    pending: bool


@dataclass(frozen=True)
class ContactChart:
    """Everything the contact chart page shows above its paged lists."""

    contact: ContactRow
    account: AccountState
    codes: list[CodeRow]


def search_contacts(session: Session, *, actor: Actor, query: str = '', offset: int = 0,
                    limit: int = 10) -> tuple[list[ContactRow], int]:
    """Contacts whose name, email or organization contain every typed word; one page and the total."""
    require_staff(actor)
    stmt, count = select(Contact), select(sa.func.count()).select_from(Contact)
    for word in (query or '').strip()[:100].lower().split():
        like = f'%{word.replace(chr(92), "").replace("%", "").replace("_", "")}%'
        condition = sa.or_(sa.func.lower(Contact.first_name).like(like), sa.func.lower(Contact.last_name).like(like),
                           Contact.email.like(like), sa.func.lower(Contact.organization).like(like))
        stmt, count = stmt.where(condition), count.where(condition)
    rows = session.exec(stmt.order_by(Contact.last_name, Contact.first_name, Contact.id)
                        .offset(max(offset, 0)).limit(min(max(limit, 1), MAX_PAGE))).all()
    return _rows(session, rows), session.exec(count).one()


def _rows(session: Session, contacts: list[Contact]) -> list[ContactRow]:
    ids = [c.id for c in contacts]
    linked = set(session.exec(select(AccountContact.contact_id).where(AccountContact.contact_id.in_(ids))).all()) \
        if ids else set()
    return [ContactRow(id=c.id, name=c.display_name, email=c.email, organization=c.organization or '',
                       phone=c.phone or '', has_account=c.id in linked, first_name=c.first_name,
                       last_name=c.last_name) for c in contacts]


def add_contact(session: Session, *, actor: Actor, first_name: str, last_name: str, email: str, phone: str = '',
                organization: str = '', confirm_same_name: bool = False) -> ContactRow:
    """Add a contact (and so its contact chart).

    Refuses an email another contact has (pick that contact instead); raises PossibleDuplicate for the same
    name unless `confirm_same_name`. Nothing is stored when refused.
    """
    require_staff(actor)
    first = validate.text(first_name, label='First name', max_length=100)
    last = validate.text(last_name, label='Last name', max_length=100)
    address = validate.email(email)
    phone_value = validate.phone(phone)
    org = validate.text(organization, label='Organization', max_length=200, required=False) or None
    same_email = session.exec(select(Contact).where(Contact.email == address)).first()
    if same_email is not None:
        raise InvalidInput(f'{same_email.display_name} already has the email {address}: pick that contact instead.')
    same_name = session.exec(select(Contact).where(sa.func.lower(Contact.first_name) == first.lower(),
                                                   sa.func.lower(Contact.last_name) == last.lower())).all()
    if same_name and not confirm_same_name:
        raise PossibleDuplicate(_rows(session, list(same_name)))
    contact = Contact(first_name=first, last_name=last, email=address, phone=phone_value, organization=org,
                      created_at=clock.now(), created_by_account_id=actor.account_id)
    session.add(contact)
    session.flush()
    audit.record(session, action='contact_created', actor=actor, object_type='contact', object_id=contact.id,
                 contact_id=contact.id)
    return _rows(session, [contact])[0]


def get_contacts(session: Session, *, actor: Actor, contact_ids: list[int]) -> list[ContactRow]:
    """Contacts by id (the recipients chosen in Send Document)."""
    require_staff(actor)
    if not contact_ids:
        return []
    return _rows(session, list(session.exec(select(Contact).where(Contact.id.in_(contact_ids))).all()))


def contact_chart(session: Session, *, actor: Actor, contact_id: int) -> ContactChart:
    """The contact chart's header: contact, portal account state and activation codes (audited view)."""
    require_staff(actor)
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotAvailable('This contact does not exist.')
    audit.record(session, action='contact_chart_viewed', actor=actor, object_type='contact', object_id=contact.id,
                 contact_id=contact.id)
    return ContactChart(contact=_rows(session, [contact])[0], account=_account_state(session, contact.id),
                        codes=_codes(session, contact.id))


def _account_state(session: Session, contact_id: int) -> AccountState:
    account = session.exec(select(Account).join(AccountContact, AccountContact.account_id == Account.id)
                           .where(AccountContact.contact_id == contact_id).order_by(Account.id)).first()
    if account is None:
        return AccountState(state='no account')
    return AccountState(state='active' if account.is_active else 'disabled', username=account.username,
                        created_at=account.created_at, last_sign_in_at=account.last_sign_in_at)


def _codes(session: Session, contact_id: int) -> list[CodeRow]:
    codes = session.exec(select(ActivationCode).where(ActivationCode.contact_id == contact_id)
                         .order_by(ActivationCode.id.desc()).limit(20)).all()
    now = clock.now()
    return [CodeRow(id=c.id, created_at=c.created_at, expires_at=c.expires_at, state=code_state(c),
                    pending=c.used_at is None and c.revoked_at is None and c.expires_at > now) for c in codes]


def received_documents(session: Session, *, actor: Actor, contact_id: int, offset: int = 0,
                       limit: int = 25) -> tuple[list[ReceivedDocument], int]:
    """The copies in a contact chart, newest first; one page and the total."""
    require_staff(actor)
    where = (Document.contact_id == contact_id,)
    rows = session.exec(select(Document, Share).join(Share, Share.document_id == Document.id, isouter=True)
                        .where(*where).order_by(Document.id.desc())
                        .offset(max(offset, 0)).limit(min(max(limit, 1), MAX_PAGE))).all()
    total = session.exec(select(sa.func.count()).select_from(Document).where(*where)).one()
    found = receipts(session, [s for _, s in rows if s is not None])
    return [ReceivedDocument(
        id=d.id, share_id=s.id if s else None, service_date=d.service_date, doc_type=d.doc_type, subject=d.title,
        by=d.author_name, service_location=d.service_location or '', sent_at=s.sent_at if s else d.created_at,
        read=f'{s.first_read_at:%Y-%m-%d %H:%M}' if s and s.first_read_at else 'unread',
        rescinded=(found[s.id].state if s and s.rescinded_at else ''),
        receipt=found.get(s.id) if s else None,
    ) for d, s in rows], total


def contact_emails(session: Session, *, actor: Actor, contact_id: int, offset: int = 0,
                   limit: int = 25) -> tuple[list[outbox.EmailView], int]:
    """Every email queued for the contact (invitations, confirmations, reminders) with its status (codes hidden)."""
    require_staff(actor)
    return outbox.emails_page(session, offset=offset, limit=min(limit, MAX_PAGE), contact_id=contact_id)


def send_new_code(session: Session, *, actor: Actor, contact_id: int) -> int:
    """Replace the contact's unused codes with a new one and queue a new invitation; return the code's id."""
    require_staff(actor)
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotAvailable('This contact does not exist.')
    now = clock.now()
    session.execute(sa.update(ActivationCode).where(ActivationCode.contact_id == contact.id,
                                                    ActivationCode.used_at.is_(None),
                                                    ActivationCode.revoked_at.is_(None))
                    .values(revoked_at=now))
    latest_share = session.exec(select(Share.id).where(Share.contact_id == contact.id, Share.rescinded_at.is_(None))
                                .order_by(Share.id.desc())).first()
    issued = activation.issue_code(session, contact=contact, actor=actor, share_id=latest_share)
    return issued.activation_code_id


# ----------------------------------------------------------------------------- editing, notes, replies

NOTES_MAX = 5000
REPLY_PREVIEW = 120


@dataclass(frozen=True)
class ContactSaved:
    """What an edit changed; `code_to_resend` when the email changed while an unused code waits at the old one."""

    changed: list[str]
    code_to_resend: bool


@dataclass(frozen=True)
class ContactReply:
    """One reply the contact wrote, as its contact chart lists it."""

    id: int
    created_at: datetime
    document_title: str
    chart_id: int
    excerpt: str
    attachments: int
    status: str


def edit_contact(session: Session, *, actor: Actor, contact_id: int, first_name: str, last_name: str, email: str,
                 phone: str = '', organization: str = '') -> ContactSaved:
    """Correct a contact's name, email, phone or organization (audited with the fields changed).

    Refuses an email another contact has. When the email changed and an unused activation code waits (it was
    sent to the old address), `code_to_resend` says so: staff are offered to send a new code to the new address.
    """
    require_staff(actor)
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotAvailable('This contact does not exist.')
    values = {
        'first_name': validate.text(first_name, label='First name', max_length=100),
        'last_name': validate.text(last_name, label='Last name', max_length=100),
        'email': validate.email(email),
        'phone': validate.phone(phone),
        'organization': validate.text(organization, label='Organization', max_length=200, required=False) or None,
    }
    if values['email'] != contact.email:
        other = session.exec(select(Contact).where(Contact.email == values['email'], Contact.id != contact.id)).first()
        if other is not None:
            raise InvalidInput(f'{other.display_name} already has the email {values["email"]}.')
    changed = sorted(k for k, v in values.items() if getattr(contact, k) != v)
    if not changed:
        return ContactSaved(changed=[], code_to_resend=False)
    old_email = contact.email
    for key, value in values.items():
        setattr(contact, key, value)
    session.add(contact)
    session.flush()
    audit.record(session, action='contact_updated', actor=actor, object_type='contact', object_id=contact.id,
                 contact_id=contact.id, detail={'fields': changed})
    pending = 'email' in changed and old_email != contact.email and any(c.pending for c in _codes(session, contact.id))
    return ContactSaved(changed=changed, code_to_resend=pending)


def contact_notes(session: Session, *, actor: Actor, contact_id: int) -> str:
    """The clinic's notes on a contact (staff only; the contact never sees them)."""
    require_staff(actor)
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotAvailable('This contact does not exist.')
    return contact.staff_notes or ''


def save_contact_notes(session: Session, *, actor: Actor, contact_id: int, notes: str) -> None:
    """Replace the clinic's notes on a contact (audited: who and how long, not the text)."""
    require_staff(actor)
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotAvailable('This contact does not exist.')
    text = validate.text(notes, label='Notes', max_length=NOTES_MAX, required=False)
    if text == (contact.staff_notes or ''):
        return
    contact.staff_notes = text or None
    session.add(contact)
    session.flush()
    audit.record(session, action='contact_notes_changed', actor=actor, object_type='contact', object_id=contact.id,
                 contact_id=contact.id, detail={'length': len(text)})


def contact_replies(session: Session, *, actor: Actor, contact_id: int, offset: int = 0,
                    limit: int = 25) -> tuple[list[ContactReply], int]:
    """The replies the contact wrote, newest first: the document, the first words, attachments; one page and total."""
    require_staff(actor)
    where = (Share.contact_id == contact_id,)
    attachments = (select(sa.func.count()).select_from(ReplyAttachment)
                   .where(ReplyAttachment.reply_id == Reply.id).scalar_subquery())
    rows = session.exec(select(Reply, Share.title, Share.chart_id, attachments)
                        .join(Share, Share.id == Reply.share_id).where(*where)
                        .order_by(Reply.id.desc()).offset(max(offset, 0)).limit(min(max(limit, 1), MAX_PAGE))).all()
    total = session.exec(select(sa.func.count()).select_from(Reply).join(Share, Share.id == Reply.share_id)
                         .where(*where)).one()
    return [ContactReply(id=r.id, created_at=r.created_at, document_title=title, chart_id=chart_id,
                         excerpt=excerpt(r.body), attachments=count or 0,
                         status='moved' if r.moved_document_id else 'worked' if r.worked_at else 'unworked')
            for r, title, chart_id, count in rows], total


def excerpt(text: str | None, length: int = REPLY_PREVIEW) -> str:
    """The first `length` characters of a text on one line ('…' when cut)."""
    flat = ' '.join((text or '').split())
    return flat if len(flat) <= length else flat[:length].rstrip() + '…'
