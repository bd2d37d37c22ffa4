"""Send Document: copy a chart document into a contact's chart, create the share, queue the email."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from models import RECEIVED_DOCUMENT, AccountContact, Chart, Contact, Document, Share
from models.shapes import Actor

from . import activation, audit, clock, notifications
from .errors import InvalidInput, NotAvailable


@dataclass(frozen=True)
class ShareResult:
    """What one send produced: the share, the copy, and the activation code when one was issued."""

    share_id: int
    copy_document_id: int
    activation_code: str | None
    email_kind: str


def share_document(session: Session, *, document_id: int, contact_id: int, actor: Actor,
                   replies_allowed: bool = True) -> ShareResult:
    """Share one chart document with one contact, in the caller's transaction.

    The contact gets an invitation with a new activation code when no portal account holds it,
    otherwise a Reminder to Review.
    """
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
    else:
        code = activation.issue_code(session, contact=contact, actor=actor, share_id=share.id).code
        kind = 'invitation'
    audit.record(session, action='document_shared', actor=actor, object_type='share', object_id=share.id,
                 chart_id=chart.id, contact_id=contact.id,
                 detail={'document_id': document.id, 'copy_document_id': copy.id, 'email': kind})
    return ShareResult(share_id=share.id, copy_document_id=copy.id, activation_code=code, email_kind=kind)
