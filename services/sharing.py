"""Send Document: copy a chart document into a contact's chart, create the share, queue the email."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from models import RECEIVED_DOCUMENT, Account, AccountContact, ActivationCode, Chart, Contact, Document, Share
from models.shapes import Actor

from . import activation, audit, clock, notifications, validate
from .errors import Forbidden, InvalidInput, NotAvailable


@dataclass(frozen=True)
class ShareResult:
    """What one send produced: the share, the copy, and the activation code when one was issued."""

    share_id: int
    copy_document_id: int
    activation_code: str | None
    email_kind: str


def share_document(session: Session, *, document_id: int, contact_id: int, actor: Actor,
                   replies_allowed: bool = True, invite: bool = True) -> ShareResult:
    """Share one chart document with one contact, in the caller's transaction.

    The contact gets an invitation with a new activation code when no portal account holds it
    (unless `invite` is False: a batch invites each new contact once), otherwise a Reminder to Review.
    """
    _require_staff(actor)
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
        replies_allowed=replies_allowed,
    )
    session.add(share)
    session.flush()
    has_account = session.exec(select(AccountContact.id).where(AccountContact.contact_id == contact.id)).first()
    code = None
    if has_account:
        notifications.notify_new_share(session, share=share, contact=contact)
        kind = 'reminder_to_review'
    elif invite:
        code = activation.issue_code(session, contact=contact, actor=actor, share_id=share.id).code
        kind = 'invitation'
    else:
        kind = 'none'  # covered by the invitation sent with another document of the same batch
    audit.record(session, action='document_shared', actor=actor, object_type='share', object_id=share.id,
                 chart_id=chart.id, document_id=document.id, contact_id=contact.id,
                 detail={'copy_document_id': copy.id, 'email': kind})
    return ShareResult(share_id=share.id, copy_document_id=copy.id, activation_code=code, email_kind=kind)


# ----------------------------------------------------------------------------- batch send, rescind, history

MAX_BATCH = 50


def send_documents(session: Session, *, document_ids: list[int], contact_ids: list[int], actor: Actor,
                   replies_allowed: bool = True) -> list[ShareResult]:
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
        for index, document_id in enumerate(documents):
            results.append(share_document(session, document_id=document_id, contact_id=contact_id, actor=actor,
                                          replies_allowed=replies_allowed, invite=index == 0))
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
    rescinded: str  # '' or 'rescinded <date>: <reason>'


def send_history(session: Session, *, document_id: int, actor: Actor) -> list[SendRecord]:
    """Every send of a chart document: recipient, sender, date, the copy's id and the activation code's state."""
    _require_staff(actor)
    rows = session.exec(
        select(Share, Contact, Account.display_name)
        .join(Contact, Contact.id == Share.contact_id)
        .join(Account, Account.id == Share.sent_by_account_id, isouter=True)
        .where(Share.source_document_id == document_id).order_by(Share.sent_at.desc(), Share.id.desc())
    ).all()
    codes = _codes_by_share(session, [share.id for share, _, _ in rows])
    codes |= _covering_codes(session, [share for share, _, _ in rows if share.id not in codes])
    return [SendRecord(
        share_id=share.id, recipient=contact.display_name, recipient_email=contact.email, contact_id=contact.id,
        sender=sender or '', sent_at=share.sent_at, copy_document_id=share.document_id,
        code_state=code_state(codes.get(share.id)),
        rescinded=(f'rescinded {share.rescinded_at:%Y-%m-%d}: {share.rescind_reason}' if share.rescinded_at else ''),
    ) for share, contact, sender in rows]


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
