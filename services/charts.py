"""Charts: search, create/edit, and a chart with its documents (staff and admins only)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Chart, Document
from models.shapes import Actor

from . import audit, clock, validate
from .errors import Forbidden, InvalidInput, NotAvailable

MAX_PAGE = 100


@dataclass(frozen=True)
class ChartRow:
    """A chart as lists and the chart page show it."""

    id: int
    name: str
    first_name: str
    last_name: str
    date_of_birth: date | None
    external_id: str
    email: str
    phone: str
    employer: str
    status: str


@dataclass(frozen=True)
class DocumentRow:
    """One document in a chart's list."""

    id: int
    service_date: date
    doc_type: str
    title: str
    author: str
    service_location: str
    kind: str  # 'html' | 'text' | 'file'
    created_at: datetime


def require_staff(actor: Actor) -> None:
    """Refuse anyone but staff and admins."""
    if not actor.is_staff:
        raise Forbidden()


def search_charts(session: Session, *, actor: Actor, query: str = '', offset: int = 0,
                  limit: int = 25) -> tuple[list[ChartRow], int]:
    """Charts matching a name, a date of birth (YYYY-MM-DD) or an external id; one page and the total."""
    require_staff(actor)
    condition = _search_condition(query)
    stmt = select(Chart).where(Chart.status != 'merged')
    count = select(sa.func.count()).select_from(Chart).where(Chart.status != 'merged')
    if condition is not None:
        stmt, count = stmt.where(condition), count.where(condition)
    rows = session.exec(stmt.order_by(Chart.last_name, Chart.first_name, Chart.id)
                        .offset(max(offset, 0)).limit(min(max(limit, 1), MAX_PAGE))).all()
    return [chart_row(c) for c in rows], session.exec(count).one()


def search_condition(query: str) -> sa.ColumnElement[bool] | None:
    """The chart search's condition: every word of the query matches a name, the external id or the date of birth.

    Words are split at spaces and commas, so "Lee, Pat", "Pat Lee" and "le pa" find Pat Lee; a date of birth may be
    typed as 1980-05-17, 05/17/1980 or 17.05.1980; external ids match ignoring case and punctuation ("emp1001" and
    "EMP 1001" find EMP-1001).
    """
    return _search_condition(query)


ID_PUNCTUATION = '-_ ./#:'


def _search_condition(query: str):
    words = [w for w in re.split(r'[\s,;]+', (query or '').strip()[:100]) if w]
    if not words:
        return None
    parts = []
    for word in words:
        name = word.strip('.\'"()').lower() or word.lower()
        like = f'%{_escape_like(name)}%'
        options = [sa.func.lower(Chart.first_name).like(like, escape='\\'),
                   sa.func.lower(Chart.last_name).like(like, escape='\\'),
                   sa.func.lower(Chart.external_id).like(f'%{_escape_like(word.lower())}%', escape='\\')]
        compact = ''.join(ch for ch in word.lower() if ch.isalnum())
        if compact:
            options.append(_compact(Chart.external_id).like(f'%{_escape_like(compact)}%', escape='\\'))
        day = _parse_date(word)
        if day is not None:
            options.append(Chart.date_of_birth == day)
        parts.append(sa.or_(*options))
    return sa.and_(*parts)


def _compact(column):
    """The column lower-cased without the punctuation ids are written with (the same SQL on SQLite and PostgreSQL)."""
    value = sa.func.lower(sa.func.coalesce(column, ''))
    for mark in ID_PUNCTUATION:
        value = sa.func.replace(value, mark, '')
    return value


def _escape_like(text: str) -> str:
    return text.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')


def _parse_date(text: str) -> date | None:
    for fmt in ('%Y-%m-%d', '%m/%d/%Y', '%d.%m.%Y'):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def chart_row(chart: Chart) -> ChartRow:
    """The shape pages receive for a chart."""
    return ChartRow(id=chart.id, name=chart.display_name, first_name=chart.first_name, last_name=chart.last_name,
                    date_of_birth=chart.date_of_birth, external_id=chart.external_id or '', email=chart.email or '',
                    phone=chart.phone or '', employer=chart.employer or '', status=chart.status)


def get_chart(session: Session, *, actor: Actor, chart_id: int) -> ChartRow:
    """One chart (the view is audited)."""
    require_staff(actor)
    chart = session.get(Chart, chart_id)
    if chart is None:
        raise NotAvailable('This chart does not exist.')
    audit.record(session, action='chart_viewed', actor=actor, object_type='chart', object_id=chart.id,
                 chart_id=chart.id)
    return chart_row(chart)


def save_chart(session: Session, *, actor: Actor, chart_id: int | None = None, first_name: str, last_name: str,
               date_of_birth: str | date | None = None, external_id: str = '', email: str = '', phone: str = '',
               employer: str = '') -> int:
    """Create a chart (chart_id None) or change one; return its id. Bad input raises InvalidInput."""
    require_staff(actor)
    values = {
        'first_name': validate.text(first_name, label='First name', max_length=100),
        'last_name': validate.text(last_name, label='Last name', max_length=100),
        'date_of_birth': _birth_date(date_of_birth),
        'external_id': validate.text(external_id, label='External id', max_length=64, required=False) or None,
        'email': validate.email(email) if (email or '').strip() else None,
        'phone': validate.phone(phone),
        'employer': validate.text(employer, label='Employer', max_length=200, required=False) or None,
    }
    if chart_id is None:
        chart = Chart(**values, created_at=clock.now(), created_by_account_id=actor.account_id)
        action, changed = 'chart_created', sorted(values)
    else:
        chart = session.get(Chart, chart_id)
        if chart is None:
            raise NotAvailable('This chart does not exist.')
        changed = sorted(k for k, v in values.items() if getattr(chart, k) != v)
        for key, value in values.items():
            setattr(chart, key, value)
        action = 'chart_updated'
    session.add(chart)
    session.flush()
    audit.record(session, action=action, actor=actor, object_type='chart', object_id=chart.id, chart_id=chart.id,
                 detail={'fields': changed})
    return chart.id


def _birth_date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        day = value
    elif not value.strip():
        return None
    else:
        day = _parse_date(value.strip())
        if day is None:
            raise InvalidInput('Date of birth must be a date like 1980-05-17.')
    if day is not None and not date(1900, 1, 1) <= day <= clock.now().date():
        raise InvalidInput('Date of birth must be between 1900 and today.')
    return day


def list_documents(session: Session, *, actor: Actor, chart_id: int, offset: int = 0,
                   limit: int = 25) -> tuple[list[DocumentRow], int]:
    """A chart's documents, newest service date first; one page and the total."""
    require_staff(actor)
    where = (Document.chart_id == chart_id, Document.deleted_at.is_(None))
    rows = session.exec(select(Document).where(*where)
                        .order_by(Document.service_date.desc(), Document.id.desc())
                        .offset(max(offset, 0)).limit(min(max(limit, 1), MAX_PAGE))).all()
    total = session.exec(select(sa.func.count()).select_from(Document).where(*where)).one()
    return [document_row(d) for d in rows], total


def document_row(document: Document) -> DocumentRow:
    """The list shape of a document."""
    kind = 'file' if document.file_id else 'html' if document.body_html is not None else 'text'
    return DocumentRow(id=document.id, service_date=document.service_date, doc_type=document.doc_type,
                       title=document.title, author=document.author_name,
                       service_location=document.service_location or '', kind=kind, created_at=document.created_at)
