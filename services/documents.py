"""Documents in a chart: create (rich HTML, plain text or an uploaded PDF/PNG/JPEG), view and download."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from models import Chart, Contact, Document, StoredFile
from models.shapes import Actor

from . import audit, clock, files, validate
from .charts import require_staff
from .errors import InvalidInput, NotAvailable
from .sanitize import clean_html
from .settings import get_settings

BODY_KINDS = ('html', 'text', 'file')
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
    if body_kind == 'html':
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
        raise InvalidInput('Choose rich text, plain text or a file.')
    session.add(document)
    session.flush()
    audit.record(session, action='document_created', actor=actor, object_type='document', object_id=document.id,
                 chart_id=chart.id, document_id=document.id, detail={'body': body_kind, 'doc_type': document.doc_type})
    return document.id


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

