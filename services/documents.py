"""Documents in a chart: create (Markdown, pasted HTML, plain text or uploaded PDF/PNG/JPEG files), view, print
and download."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Chart, Contact, Document, Reply, ReplyAttachment, Share, StoredFile
from models.shapes import Actor

from . import audit, clock, files, validate
from .charts import require_staff
from .errors import InvalidInput, NotAvailable
from .sanitize import clean_html
from .settings import get_settings

BODY_KINDS = ('markdown', 'html', 'text', 'file')
MAX_BODY = 500_000


@dataclass(frozen=True)
class DocumentView:
    """A document as the staff viewer shows it; `file_url` is the session-checked route."""

    id: int
    chart_id: int | None
    chart_name: str
    contact_id: int | None
    contact_name: str
    source_document_id: int | None
    service_date: date
    doc_type: str
    title: str
    service_location: str
    author: str
    body_html: str | None
    body_text: str | None
    file_name: str | None
    mime_type: str | None
    created_at: datetime
    deleted: bool

    @property
    def file_url(self) -> str | None:
        return f'/staff/files/document/{self.id}' if self.mime_type else None


def document_types(session: Session) -> list[str]:
    """The admin-editable list of document types."""
    return list(get_settings(session).document_types)


def create_document(session: Session, *, actor: Actor, chart_id: int, service_date: str | date, doc_type: str,
                    title: str, service_location: str = '', body_kind: str = 'html', body: str = '',
                    file_data: bytes | None = None, file_name: str = '') -> int:
    """Write a document into a chart (author = the signed-in staff user); return its id.

    Bad input (missing fields, unknown type, empty/oversized/fake file) raises InvalidInput and stores nothing.
    """
    require_staff(actor)
    chart = session.get(Chart, chart_id)
    if chart is None:
        raise NotAvailable('This chart does not exist.')
    settings = get_settings(session)
    fields = {
        'service_date': _service_date(service_date),
        'doc_type': _doc_type(doc_type, settings.document_types),
        'title': validate.text(title, label='Title', max_length=300),
        'service_location': validate.text(service_location, label='Service location', max_length=200,
                                          required=False) or None,
    }
    document = Document(chart_id=chart.id, author_account_id=actor.account_id,
                        author_name=(actor.display_name or actor.username)[:200], created_at=clock.now(), **fields)
    if body_kind == 'markdown':
        cleaned = markdown_html(_body(body)).strip()
        if not cleaned:
            raise InvalidInput('Write the document text.')
        document.body_html = cleaned
    elif body_kind == 'html':
        cleaned = clean_html(_body(body)).strip()
        if not cleaned:
            raise InvalidInput('Write the document text.')
        document.body_html = cleaned
    elif body_kind == 'text':
        document.body_text = _body(body)
    elif body_kind == 'file':
        if file_data is None:
            raise InvalidInput('Choose a PDF, PNG or JPEG file to upload.')
        stored = files.store(session, file_data, file_name, max_bytes=settings.upload_max_bytes)
        document.file_id = stored.id
        document.file_name = files.safe_file_name(file_name, stored.mime_type)
    else:
        raise InvalidInput('Choose Markdown text, pasted HTML, plain text or a file.')
    session.add(document)
    session.flush()
    audit.record(session, action='document_created', actor=actor, object_type='document', object_id=document.id,
                 chart_id=chart.id, document_id=document.id, detail={'body': body_kind, 'doc_type': document.doc_type})
    return document.id


MAX_FILES = 20


def create_documents(session: Session, *, actor: Actor, chart_id: int, service_date: str | date, doc_type: str,
                     title: str, service_location: str = '', uploads: list[tuple[str, bytes]]) -> list[int]:
    """Several uploaded files at once, each its own document (titled '<title> (<file name>)', or the file name
    when the title is empty); all or none are stored. Returns the new ids."""
    require_staff(actor)
    if not uploads:
        raise InvalidInput('Choose a PDF, PNG or JPEG file to upload.')
    if len(uploads) > MAX_FILES:
        raise InvalidInput(f'Upload at most {MAX_FILES} files at once.')
    base = (title or '').strip()
    ids = []
    for name, data in uploads:
        label = validate.text(name, label='File name', max_length=200, required=False) or 'file'
        ids.append(create_document(session, actor=actor, chart_id=chart_id, service_date=service_date,
                                   doc_type=doc_type, title=(f'{base} ({label})' if base else label)[:300],
                                   service_location=service_location, body_kind='file', file_data=data,
                                   file_name=name))
    return ids


def markdown_html(text: str) -> str:
    """Markdown as HTML, through the same sanitizer as pasted HTML (raw HTML inside the Markdown is escaped)."""
    import markdown2
    return clean_html(markdown2.markdown(text or '', safe_mode='escape',
                                         extras=['tables', 'fenced-code-blocks', 'cuddled-lists', 'strike']))


def _service_date(value: str | date) -> date:
    if isinstance(value, date):
        return value
    try:
        return datetime.strptime((value or '').strip(), '%Y-%m-%d').date()
    except ValueError:
        raise InvalidInput('Service date must be a date like 2026-11-02.') from None


def _doc_type(value: str, allowed: list[str]) -> str:
    value = (value or '').strip()
    if value not in allowed:
        raise InvalidInput('Choose a document type from the list.')
    return value


def _body(text: str) -> str:
    text = (text or '').strip()
    if not text:
        raise InvalidInput('Write the document text.')
    if len(text) > MAX_BODY:
        raise InvalidInput(f'The document text can have at most {MAX_BODY:,} characters.')
    return text


def get_document(session: Session, *, actor: Actor, document_id: int) -> DocumentView:
    """A chart document or a contact-chart copy for staff (the view is audited)."""
    require_staff(actor)
    document = session.get(Document, document_id)
    if document is None:
        raise NotAvailable('This document does not exist.')
    view = _view(session, document)
    audit.record(session, action='document_viewed', actor=actor, object_type='document', object_id=document.id,
                 contact_id=document.contact_id, detail=_copy_detail(document), **audit.document_refs(session, document))
    return view


def _copy_detail(document: Document) -> dict[str, int] | None:
    """A contact's copy is reported under the document it was copied from; the detail names the copy."""
    return {'copy_document_id': document.id} if document.contact_id is not None else None


def _view(session: Session, document: Document) -> DocumentView:
    chart = session.get(Chart, document.chart_id) if document.chart_id else None
    contact = session.get(Contact, document.contact_id) if document.contact_id else None
    stored = session.get(StoredFile, document.file_id) if document.file_id else None
    return DocumentView(
        id=document.id, chart_id=document.chart_id, chart_name=chart.display_name if chart else '',
        contact_id=document.contact_id, contact_name=contact.display_name if contact else '',
        source_document_id=document.source_document_id, service_date=document.service_date,
        doc_type=document.doc_type, title=document.title, service_location=document.service_location or '',
        author=document.author_name, body_html=document.body_html, body_text=document.body_text,
        file_name=document.file_name, mime_type=stored.mime_type if stored else None,
        created_at=document.created_at, deleted=document.deleted_at is not None)


def document_file(session: Session, *, actor: Actor, document_id: int) -> files.FileContent:
    """The file of a document for staff (blocking file read; the download is audited)."""
    require_staff(actor)
    document = session.get(Document, document_id)
    stored = session.get(StoredFile, document.file_id) if document is not None and document.file_id else None
    if stored is None:
        raise NotAvailable('This file is not available.')
    data = files.read(stored)
    audit.record(session, action='document_downloaded', actor=actor, object_type='document', object_id=document.id,
                 contact_id=document.contact_id, detail=_copy_detail(document), **audit.document_refs(session, document))
    return files.FileContent(data=data, mime_type=stored.mime_type,
                             file_name=files.safe_file_name(document.file_name or f'document-{document.id}',
                                                            stored.mime_type))



@dataclass(frozen=True)
class PrintedReply:
    """One reply in a document's print view."""

    created_at: datetime
    author: str
    contact: str
    body: str
    attachments: int


@dataclass(frozen=True)
class PrintView:
    """A document and the summary of every reply to it (all contacts it was sent to), for printing."""

    document: DocumentView
    replies: list[PrintedReply]


def print_view(session: Session, *, actor: Actor, document_id: int) -> PrintView:
    """The document with its replies, oldest first (staff; audited as a view)."""
    require_staff(actor)
    document = session.get(Document, document_id)
    if document is None or document.contact_id is not None:
        raise NotAvailable('This document does not exist.')
    attachments = (select(sa.func.count()).select_from(ReplyAttachment)
                   .where(ReplyAttachment.reply_id == Reply.id).scalar_subquery())
    rows = session.exec(select(Reply, Contact, attachments).join(Share, Share.id == Reply.share_id)
                        .join(Contact, Contact.id == Share.contact_id)
                        .where(Share.source_document_id == document.id).order_by(Reply.created_at, Reply.id)).all()
    audit.record(session, action='document_printed', actor=actor, object_type='document', object_id=document.id,
                 **audit.document_refs(session, document))
    return PrintView(document=_view(session, document),
                     replies=[PrintedReply(created_at=r.created_at, author=r.author_name, contact=c.display_name,
                                           body=r.body or '', attachments=n or 0) for r, c, n in rows])
