"""The clinic's review queue for new registrations: list, open, accept, merge into a chart, reject.

Every decision tells the submitting contact by email (no PHI: only the reference number) and is audited.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, func, select

from models import Chart, Contact, Document, Registration, RegistrationFile, StoredFile
from models.shapes import Actor

from . import audit, clock, files, outbox, questionnaire, validate
from .errors import Forbidden, InvalidInput, NotAvailable
from .sanitize import clean_html
from .settings import get_settings

DOCUMENT_TYPE = 'Questionnaire'
STATUSES = ('pending', 'accepted', 'merged', 'rejected')


@dataclass(frozen=True)
class RegistrationRow:
    """One line of the review queue."""

    id: int
    reference: str
    name: str
    submitted_at: datetime
    status: str


@dataclass(frozen=True)
class RegistrationDetail:
    """A registration opened by staff: the answers by section, the files, the decision so far."""

    id: int
    reference: str
    status: str
    submitted_at: datetime
    name: str
    submitted_by: str
    sections: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    files: tuple[tuple[int, str], ...]
    review_reason: str | None
    merged_into: str | None


@dataclass(frozen=True)
class ChartHit:
    """A chart found by name for a merge."""

    id: int
    name: str
    date_of_birth: date | None


def list_registrations(session: Session, *, actor: Actor, offset: int = 0, limit: int = 25,
                       status: str | None = None) -> tuple[list[RegistrationRow], int]:
    """A page of registrations, pending first then newest first, and the total count."""
    _require_staff(actor)
    where = [Registration.status == status] if status in STATUSES else []
    total = session.exec(select(func.count()).select_from(Registration).where(*where)).one()
    pending_first = sa.case((Registration.status == 'pending', 0), else_=1)
    rows = session.exec(
        select(Registration, Chart).join(Chart, Chart.id == Registration.chart_id, isouter=True).where(*where)
        .order_by(pending_first, Registration.created_at.desc(), Registration.id.desc())
        .offset(max(offset, 0)).limit(min(max(limit, 1), 100))
    ).all()
    return [RegistrationRow(id=r.id, reference=r.reference, name=c.display_name if c else '', submitted_at=r.created_at,
                            status=r.status) for r, c in rows], total


def get_registration(session: Session, *, actor: Actor, registration_id: int) -> RegistrationDetail:
    """Open one registration (audited as a view of PHI)."""
    _require_staff(actor)
    registration = _registration(session, registration_id)
    chart = session.get(Chart, registration.chart_id) if registration.chart_id else None
    contact = session.get(Contact, registration.contact_id) if registration.contact_id else None
    merged = session.get(Chart, registration.merged_into_chart_id) if registration.merged_into_chart_id else None
    audit.record(session, action='registration_view', actor=actor, object_type='registration',
                 object_id=registration.id, chart_id=registration.chart_id, contact_id=registration.contact_id)
    return RegistrationDetail(
        id=registration.id, reference=registration.reference, status=registration.status,
        submitted_at=registration.created_at, name=chart.display_name if chart else '',
        submitted_by=f'{contact.display_name} <{contact.email}>' if contact else '',
        sections=_answer_sections(registration), files=tuple((f.id, f.file_name) for f in _links(session, registration)),
        review_reason=registration.review_reason, merged_into=merged.display_name if merged else None)


def read_file(session: Session, *, actor: Actor, registration_file_id: int) -> files.FileContent:
    """The content of a file uploaded with a registration (staff only, audited)."""
    _require_staff(actor)
    link = session.get(RegistrationFile, registration_file_id)
    if link is None or link.registration_id is None:
        raise NotAvailable()
    stored = session.get(StoredFile, link.file_id)
    registration = session.get(Registration, link.registration_id)
    audit.record(session, action='registration_file_download', actor=actor, object_type='registration_file',
                 object_id=link.id, chart_id=registration.chart_id, contact_id=registration.contact_id)
    return files.FileContent(data=files.read(stored), mime_type=stored.mime_type, file_name=link.file_name)


def search_charts(session: Session, *, actor: Actor, query: str, limit: int = 20) -> list[ChartHit]:
    """Active charts whose first or last name starts with the words typed (for a merge)."""
    _require_staff(actor)
    words = [w.lower() for w in (query or '').split() if w][:3]
    if not words or len(query) > 200:
        return []
    stmt = select(Chart).where(Chart.status == 'active')
    for word in words:
        pattern = word.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_') + '%'
        stmt = stmt.where(sa.or_(func.lower(Chart.first_name).like(pattern, escape='\\'),
                                 func.lower(Chart.last_name).like(pattern, escape='\\')))
    rows = session.exec(stmt.order_by(Chart.last_name, Chart.first_name, Chart.id).limit(limit)).all()
    audit.record(session, action='chart_search', actor=actor, object_type='chart', detail={'results': len(rows)})
    return [ChartHit(id=c.id, name=c.display_name, date_of_birth=c.date_of_birth) for c in rows]


def accept(session: Session, *, actor: Actor, registration_id: int) -> None:
    """Accept: the pending chart becomes active and receives the answers and files as documents."""
    registration, chart = _pending(session, actor, registration_id)
    chart.status = 'active'
    session.add(chart)
    _attach(session, registration, chart, actor)
    _decide(session, registration, actor, 'accepted', chart_id=chart.id)


def merge(session: Session, *, actor: Actor, registration_id: int, chart_id: int) -> None:
    """Merge into an existing active chart: answers and files become documents there; the pending chart is 'merged'."""
    registration, pending = _pending(session, actor, registration_id)
    target = session.get(Chart, chart_id)
    if target is None or target.status != 'active' or target.id == pending.id:
        raise InvalidInput('Choose an existing, active chart to merge into.')
    pending.status = 'merged'
    pending.merged_into_chart_id = target.id
    registration.merged_into_chart_id = target.id
    session.add(pending)
    _attach(session, registration, target, actor)
    _decide(session, registration, actor, 'merged', chart_id=target.id)


def reject(session: Session, *, actor: Actor, registration_id: int, reason: str) -> None:
    """Reject with a reason: the pending chart becomes 'rejected'."""
    reason = validate.text(reason, label='The reason', max_length=1000)
    registration, chart = _pending(session, actor, registration_id)
    chart.status = 'rejected'
    registration.review_reason = reason
    session.add(chart)
    _decide(session, registration, actor, 'rejected', chart_id=chart.id)


# ----------------------------------------------------------------------------- helpers

def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden()


def _registration(session: Session, registration_id: int) -> Registration:
    registration = session.get(Registration, registration_id)
    if registration is None:
        raise NotAvailable()
    return registration


def _pending(session: Session, actor: Actor, registration_id: int) -> tuple[Registration, Chart]:
    _require_staff(actor)
    registration = session.exec(select(Registration).where(Registration.id == registration_id)
                                .with_for_update()).first()
    if registration is None:
        raise NotAvailable()
    if registration.status != 'pending':
        raise InvalidInput(f'Registration {registration.reference} was already {registration.status}.')
    return registration, session.get(Chart, registration.chart_id)


def _decide(session: Session, registration: Registration, actor: Actor, status: str, *, chart_id: int) -> None:
    registration.status = status
    registration.reviewed_at = clock.now()
    registration.reviewed_by_account_id = actor.account_id
    session.add(registration)
    contact = session.get(Contact, registration.contact_id) if registration.contact_id else None
    if contact is not None:
        outbox.enqueue(session, kind='registration_processed', to=contact.email, contact_id=contact.id,
                       context={'reference': registration.reference,
                                'sign_in_url': f'{get_settings(session).public_url}/login'})
    audit.record(session, action=f'registration_{status}', actor=actor, object_type='registration',
                 object_id=registration.id, chart_id=chart_id, contact_id=registration.contact_id,
                 detail={'reference': registration.reference, 'pending_chart_id': registration.chart_id})


def _attach(session: Session, registration: Registration, chart: Chart, actor: Actor) -> None:
    """The answers as one document in `chart`, and each uploaded file as a document beside it."""
    today = clock.now().date()
    title = f'New registration {registration.reference}'
    session.add(Document(chart_id=chart.id, service_date=registration.created_at.date(), doc_type=DOCUMENT_TYPE,
                         title=title, author_account_id=actor.account_id, author_name='Portal registration',
                         body_html=clean_html(_answers_html(registration)), created_at=clock.now()))
    for link in _links(session, registration):
        session.add(Document(chart_id=chart.id, service_date=today, doc_type=DOCUMENT_TYPE,
                             title=f'{title}: {link.file_name}'[:300], author_account_id=actor.account_id,
                             author_name='Portal registration', file_id=link.file_id, file_name=link.file_name,
                             created_at=clock.now()))
    session.flush()


def _answer_sections(registration: Registration) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    definition: dict[str, Any] = json.loads(registration.questionnaire_json or '{}')
    answers: dict[str, Any] = json.loads(registration.answers_json or '{}')
    return tuple((s['title'], tuple((f['label'], questionnaire.display(f, answers.get(f['key'])))
                                    for f in s['fields'] if f['type'] != 'file'))
                 for s in definition.get('sections', []))


def _answers_html(registration: Registration) -> str:
    parts = [f'<h2>New registration {html.escape(registration.reference)}</h2>']
    for title, rows in _answer_sections(registration):
        parts.append(f'<h3>{html.escape(title)}</h3><ul>')
        parts += [f'<li><strong>{html.escape(label)}:</strong> {html.escape(value)}</li>' for label, value in rows]
        parts.append('</ul>')
    return ''.join(parts)


def _links(session: Session, registration: Registration) -> list[RegistrationFile]:
    return list(session.exec(select(RegistrationFile).where(RegistrationFile.registration_id == registration.id)
                             .order_by(RegistrationFile.id)).all())
