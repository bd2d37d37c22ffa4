"""Reading the audit log: filters, paging, CSV export and the access reports HIPAA reviews need.

The admin's log and its reports are for admins. The access reports of one chart or one document (who viewed,
downloaded, shared, rescinded, replied, moved, when, from which address) are for staff and admins.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Account, AuditEvent, Chart, Contact, Document
from models.shapes import Actor

from . import audit, auth, charts, files
from .errors import InvalidInput, NotAvailable
from .settings import get_settings
from .settings_admin import require_admin

CSV_COLUMNS = ['id', 'seq', 'at_utc', 'account_id', 'actor', 'action', 'object_type', 'object_id', 'chart_id',
               'document_id', 'contact_id', 'ip_address', 'detail', 'hash']
EXPORT_LIMIT = 200_000
MAX_ID = 2**63 - 1  # ids are 64-bit at most on every backend


@dataclass(frozen=True)
class AuditFilter:
    """What to show: dates are whole days in the portal's time zone, both ends included."""

    since: date | None = None
    until: date | None = None
    account: str = ''  # a username (as the actor typed or was) or an account id
    action: str = ''
    contact_id: int | None = None
    chart_id: int | None = None
    document_id: int | None = None
    chart: str = ''  # a chart's name (words of the chart search: name, external id, date of birth)
    document: str = ''  # words of a chart document's title

    @classmethod
    def from_form(cls, *, since: str | None = '', until: str | None = '', account: str | None = '',
                  action: str | None = '', contact_id: str | int | None = '', chart_id: str | int | None = '',
                  document_id: str | int | None = '', chart: str | None = '',
                  document: str | None = '') -> AuditFilter:
        """Build a filter from text fields; InvalidInput names the field that is wrong.

        `chart` and `document` take a name (or title) as staff know it, or an id.
        """
        chart, document = (chart or '').strip()[:100], (document or '').strip()[:100]
        return cls(since=_date(since, 'From'), until=_date(until, 'To'), account=(account or '').strip(),
                   action=(action or '').strip(), contact_id=_number(contact_id, 'Contact id'),
                   chart_id=int(chart) if chart.isdigit() else _number(chart_id, 'Chart id'),
                   document_id=int(document) if document.isdigit() else _number(document_id, 'Document id'),
                   chart='' if chart.isdigit() else chart, document='' if document.isdigit() else document)


@dataclass(frozen=True)
class EventRow:
    """One audit event as the page shows it."""

    id: int
    at: datetime
    actor: str
    account_id: int | None
    action: str
    object: str
    chart_id: int | None
    contact_id: int | None
    ip_address: str
    detail: str
    seq: int | None = None
    document_id: int | None = None


@dataclass(frozen=True)
class ReportLine:
    """One line of an access report: who did what how often, first and last time."""

    actor: str
    account_id: int | None
    action: str
    count: int
    first_at: datetime
    last_at: datetime
    charts: list[int] = field(default_factory=list)


def list_events(session: Session, *, actor: Actor, filters: AuditFilter, offset: int = 0,
                limit: int = 50) -> tuple[list[EventRow], int]:
    """One page of matching events, newest first, and how many match in all."""
    require_admin(actor)
    condition = _condition(session, filters)
    total = session.exec(select(sa.func.count()).select_from(AuditEvent).where(condition)).one()
    rows = session.exec(select(AuditEvent).where(condition).order_by(AuditEvent.id.desc())
                        .offset(max(offset, 0)).limit(min(limit, 500))).all()
    return [_event_row(e) for e in rows], total


def export_csv(session: Session, *, actor: Actor, filters: AuditFilter) -> bytes:
    """Every matching event (oldest first) as CSV bytes; the export itself is audited."""
    require_admin(actor)
    condition = _condition(session, filters)
    total = session.exec(select(sa.func.count()).select_from(AuditEvent).where(condition)).one()
    if total > EXPORT_LIMIT:
        raise InvalidInput(f'{total:,} events match; narrow the filter to at most {EXPORT_LIMIT:,} to export.')
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    last_id = 0
    while True:  # in batches: memory stays flat on a big log
        batch = session.exec(select(AuditEvent).where(condition, AuditEvent.id > last_id)
                             .order_by(AuditEvent.id).limit(1000)).all()
        if not batch:
            break
        for e in batch:
            writer.writerow([e.id, e.seq or '', e.at.isoformat(), e.account_id or '', _safe(e.actor), e.action,
                             e.object_type or '', _safe(e.object_id or ''), e.chart_id or '', e.document_id or '',
                             e.contact_id or '', e.ip_address or '', _safe(e.detail_json), e.hash])
        last_id = batch[-1].id
    audit.record(session, action='audit_exported', actor=actor, detail={'filters': _describe(filters), 'rows': total})
    return out.getvalue().encode('utf-8')


def actions(session: Session, *, actor: Actor) -> list[str]:
    """The distinct actions in the log (for the filter's choices)."""
    require_admin(actor)
    return list(session.exec(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all())


def chart_access_report(session: Session, *, actor: Actor, chart_id: int, since: date | None = None,
                        until: date | None = None) -> list[ReportLine]:
    """Who touched chart X (viewed, downloaded, shared its documents...), per account and action."""
    require_admin(actor)
    filters = AuditFilter(since=since, until=until, chart_id=chart_id)
    lines = _grouped(session, filters, (AuditEvent.actor, AuditEvent.account_id, AuditEvent.action))
    audit.record(session, action='audit_report_viewed', actor=actor,
                 detail={'report': 'chart_access', 'chart_id': chart_id})
    return lines


def account_activity_report(session: Session, *, actor: Actor, account: str, since: date | None = None,
                            until: date | None = None) -> list[ReportLine]:
    """What one account did, per action, with the charts it touched."""
    require_admin(actor)
    filters = AuditFilter(since=since, until=until, account=account)
    condition = _condition(session, filters)
    lines = _grouped(session, filters, (AuditEvent.actor, AuditEvent.account_id, AuditEvent.action))
    charts: dict[str, list[int]] = {}
    for action, chart_id in session.exec(select(AuditEvent.action, AuditEvent.chart_id).distinct()
                                         .where(condition, AuditEvent.chart_id.is_not(None))
                                         .order_by(AuditEvent.chart_id)).all():
        charts.setdefault(action, []).append(chart_id)
    audit.record(session, action='audit_report_viewed', actor=actor, detail={'report': 'account_activity',
                                                                              'account': account})
    return [ReportLine(**{**line.__dict__, 'charts': charts.get(line.action, [])}) for line in lines]


def _grouped(session: Session, filters: AuditFilter, keys: tuple) -> list[ReportLine]:
    query = (select(*keys, sa.func.count(), sa.func.min(AuditEvent.at), sa.func.max(AuditEvent.at))
             .where(_condition(session, filters)).group_by(*keys).order_by(*keys))
    return [ReportLine(actor=r[0], account_id=r[1], action=r[2], count=r[3], first_at=r[4], last_at=r[5])
            for r in session.exec(query).all()]


def _condition(session: Session, filters: AuditFilter) -> sa.ColumnElement[bool]:
    zone = ZoneInfo(get_settings(session).time_zone)
    parts: list[sa.ColumnElement[bool]] = [sa.true()]
    if filters.since:
        parts.append(AuditEvent.at >= datetime.combine(filters.since, time(), zone))
    if filters.until:
        parts.append(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time(), zone))
    if filters.account:
        if filters.account.isascii() and filters.account.isdigit() and len(filters.account) <= 18:
            parts.append(AuditEvent.account_id == int(filters.account))
        else:
            parts.append(sa.func.lower(AuditEvent.actor) == auth.normalize_username(filters.account))
    if filters.action:
        parts.append(AuditEvent.action == filters.action)
    if filters.contact_id is not None:
        parts.append(AuditEvent.contact_id == filters.contact_id)
    if filters.chart_id is not None:
        parts.append(AuditEvent.chart_id == filters.chart_id)
    if filters.document_id is not None:
        parts.append(AuditEvent.document_id == filters.document_id)
    if filters.chart:
        parts.append(AuditEvent.chart_id.in_(select(Chart.id).where(charts.search_condition(filters.chart))))
    if filters.document:
        parts.append(AuditEvent.document_id.in_(select(Document.id).where(_title_condition(filters.document))))
    return sa.and_(*parts)


def _title_condition(text: str) -> sa.ColumnElement[bool]:
    """Chart documents (not contacts' copies) whose title holds every word of `text`."""
    words = [f'%{_escape_like(w.lower())}%' for w in text.split()[:10]]
    return sa.and_(Document.contact_id.is_(None),
                   *[sa.func.lower(Document.title).like(w, escape='\\') for w in words])


def _escape_like(text: str) -> str:
    return text.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')


def _event_row(e: AuditEvent) -> EventRow:
    obj = f'{e.object_type} {e.object_id}' if e.object_type else ''
    return EventRow(id=e.id, at=e.at, actor=e.actor, account_id=e.account_id, action=e.action, object=obj,
                    chart_id=e.chart_id, contact_id=e.contact_id, ip_address=e.ip_address or '', detail=e.detail_json,
                    seq=e.seq, document_id=e.document_id)


def _safe(value: str) -> str:
    """Neutralize spreadsheet formulas (CSV injection) in free text."""
    return "'" + value if value[:1] in ('=', '+', '-', '@', '\t', '\r') else value


def _describe(filters: AuditFilter) -> dict:
    return json.loads(json.dumps({k: v for k, v in filters.__dict__.items() if v not in (None, '')}, default=str))


def _date(value: str | None, label: str) -> date | None:
    value = (value or '').strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f'{label} must be a date like 2026-11-26.') from None
    if not 1900 <= day.year <= 2999:
        raise InvalidInput(f'{label} must be a date between 1900 and 2999.')
    return day


def _number(value: str | int | None, label: str) -> int | None:
    if value is None or value == '':
        return None
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) > MAX_ID:
        raise InvalidInput(f'{label} must be a number.')
    return int(text)


# ----------------------------------------------------------------------------- access reports (staff and admins)

ACCESS_LABELS = {
    'document_created': 'created', 'document_viewed': 'viewed', 'document_downloaded': 'downloaded',
    'document_shared': 'shared', 'share_rescinded': 'rescinded', 'reply_created': 'replied',
    'share_expired': 'expired', 'share_expiry_changed': 'changed the expiry',
    'document_acknowledged': 'acknowledged having reviewed it',
    'reply_viewed': 'read a reply', 'reply_moved': 'moved a reply into the chart',
    'reply_worked': 'marked a reply worked', 'reply_unworked': 'marked a reply unworked',
    'reply_assigned': 'assigned a reply', 'reply_attachment_downloaded': 'downloaded a reply attachment',
    'share_access_denied': 'was refused access', 'chart_viewed': 'opened the chart',
    'chart_created': 'created the chart', 'chart_updated': 'changed the chart',
    'access_report_viewed': 'viewed the access report', 'access_report_exported': 'exported the access report',
}
ACCESS_CSV_COLUMNS = ['seq', 'when_utc', 'who', 'role', 'account_id', 'what', 'action', 'document_id', 'document',
                      'contact', 'from_address', 'detail']


@dataclass(frozen=True)
class AccessRow:
    """One line of an access report: who did what to which document, when and from which address."""

    seq: int | None
    at: datetime
    who: str  # the account's name as it is now (else the username recorded), '' for the system
    role: str  # the account's role now: contact, staff, admin ('' when unknown)
    account_id: int | None
    action: str
    what: str  # the action in words: viewed, downloaded, shared, rescinded, replied, moved...
    document_id: int | None
    document: str  # the chart document's title
    contact: str  # the contact a share or reply concerns
    ip_address: str
    detail: str


@dataclass(frozen=True)
class AccessReport:
    """Who accessed one chart or one chart document: one page of rows, newest first, and how many in all."""

    kind: str  # 'chart' | 'document'
    subject_id: int  # the chart id, or the chart document's id
    title: str  # "Doe, Jane" or the document title
    chart_id: int | None
    chart_name: str
    rows: list[AccessRow]
    total: int
    note: str = ''  # e.g. the document asked for was a contact's copy of this one


@dataclass(frozen=True)
class NamedId:
    """A search hit for the audit filter: an id and how people know it."""

    id: int
    label: str


def chart_access(session: Session, *, actor: Actor, chart_id: int, offset: int = 0, limit: int = 50,
                 since: date | None = None, until: date | None = None) -> AccessReport:
    """Everything recorded about one chart and its documents (contacts' copies included), newest first."""
    charts.require_staff(actor)
    chart = session.get(Chart, chart_id)
    if chart is None:
        raise NotAvailable('This chart does not exist.')
    filters = AuditFilter(since=since, until=until, chart_id=chart.id)
    if offset <= 0:
        audit.record(session, action='access_report_viewed', actor=actor, object_type='chart', object_id=chart.id,
                     chart_id=chart.id, detail={'report': 'chart_access'})
    rows, total = _access_rows(session, filters, offset, limit)
    return AccessReport(kind='chart', subject_id=chart.id, title=chart.display_name, chart_id=chart.id,
                        chart_name=chart.display_name, rows=rows, total=total)


def document_access(session: Session, *, actor: Actor, document_id: int, offset: int = 0, limit: int = 50,
                    since: date | None = None, until: date | None = None) -> AccessReport:
    """Everything recorded about one chart document, its copies, shares and replies, newest first.

    A contact's copy is reported under the document it was copied from (the report says so).
    """
    charts.require_staff(actor)
    document, note = _report_document(session, document_id)
    filters = AuditFilter(since=since, until=until, document_id=document.id)
    if offset <= 0:
        audit.record(session, action='access_report_viewed', actor=actor, object_type='document',
                     object_id=document.id, chart_id=document.chart_id, document_id=document.id,
                     detail={'report': 'document_access'})
    rows, total = _access_rows(session, filters, offset, limit)
    chart = session.get(Chart, document.chart_id) if document.chart_id else None
    return AccessReport(kind='document', subject_id=document.id, title=document.title, chart_id=document.chart_id,
                        chart_name=chart.display_name if chart else '', rows=rows, total=total, note=note)


def chart_access_csv(session: Session, *, actor: Actor, chart_id: int) -> files.FileContent:
    """The chart's whole access report as CSV (oldest first); the export is audited."""
    charts.require_staff(actor)
    chart = session.get(Chart, chart_id)
    if chart is None:
        raise NotAvailable('This chart does not exist.')
    data, count = _access_csv(session, AuditFilter(chart_id=chart.id))
    audit.record(session, action='access_report_exported', actor=actor, object_type='chart', object_id=chart.id,
                 chart_id=chart.id, detail={'report': 'chart_access', 'rows': count})
    return files.FileContent(data=data, mime_type='text/csv', file_name=f'access-report-chart-{chart.id}.csv')


def document_access_csv(session: Session, *, actor: Actor, document_id: int) -> files.FileContent:
    """The document's whole access report as CSV (oldest first); the export is audited."""
    charts.require_staff(actor)
    document, _ = _report_document(session, document_id)
    data, count = _access_csv(session, AuditFilter(document_id=document.id))
    audit.record(session, action='access_report_exported', actor=actor, object_type='document',
                 object_id=document.id, chart_id=document.chart_id, document_id=document.id,
                 detail={'report': 'document_access', 'rows': count})
    return files.FileContent(data=data, mime_type='text/csv', file_name=f'access-report-document-{document.id}.csv')


def find_charts(session: Session, *, actor: Actor, text: str, limit: int = 20) -> list[NamedId]:
    """Charts whose name, external id or date of birth match `text` (for the audit filter's chart choice)."""
    charts.require_staff(actor)
    condition = charts.search_condition(text)
    if condition is None:
        return []
    rows = session.exec(select(Chart).where(condition).order_by(Chart.last_name, Chart.first_name, Chart.id)
                        .limit(min(max(limit, 1), 100))).all()
    return [NamedId(c.id, f'{c.display_name}' + (f' ({c.date_of_birth})' if c.date_of_birth else '')) for c in rows]


def find_documents(session: Session, *, actor: Actor, text: str, chart_id: int | None = None,
                   limit: int = 20) -> list[NamedId]:
    """Chart documents whose title holds every word of `text` (optionally in one chart), with their chart."""
    charts.require_staff(actor)
    if not (text or '').strip():
        return []
    query = (select(Document, Chart).join(Chart, Chart.id == Document.chart_id)
             .where(_title_condition(text.strip()[:100])))
    if chart_id is not None:
        query = query.where(Document.chart_id == chart_id)
    rows = session.exec(query.order_by(Document.service_date.desc(), Document.id.desc())
                        .limit(min(max(limit, 1), 100))).all()
    return [NamedId(d.id, f'{d.title} · {d.service_date} · {c.display_name}') for d, c in rows]


def _report_document(session: Session, document_id: int) -> tuple[Document, str]:
    document = session.get(Document, document_id)
    if document is None:
        raise NotAvailable('This document does not exist.')
    if document.contact_id is None:
        return document, ''
    source = session.get(Document, document.source_document_id) if document.source_document_id else None
    if source is None:
        raise NotAvailable('This document does not exist.')
    return source, f'Document {document.id} is a contact\'s copy of this document; the report covers both.'


def _access_rows(session: Session, filters: AuditFilter, offset: int, limit: int) -> tuple[list[AccessRow], int]:
    condition = _condition(session, filters)
    total = session.exec(select(sa.func.count()).select_from(AuditEvent).where(condition)).one()
    events = session.exec(select(AuditEvent).where(condition).order_by(AuditEvent.seq.desc(), AuditEvent.id.desc())
                          .offset(max(offset, 0)).limit(min(max(limit, 1), 500))).all()
    return _access_lines(session, events), total


def _access_lines(session: Session, events: list[AuditEvent]) -> list[AccessRow]:
    """Name the people, documents and contacts of a batch of events (three queries, whatever the batch)."""
    accounts = _by_id(session, Account, {e.account_id for e in events})
    documents = _by_id(session, Document, {e.document_id for e in events})
    contacts = _by_id(session, Contact, {e.contact_id for e in events})
    rows = []
    for e in events:
        account = accounts.get(e.account_id)
        document = documents.get(e.document_id)
        contact = contacts.get(e.contact_id)
        rows.append(AccessRow(
            seq=e.seq, at=e.at, who=(account.display_name or account.username) if account else e.actor,
            role=account.role if account else '', account_id=e.account_id, action=e.action,
            what=ACCESS_LABELS.get(e.action, e.action.replace('_', ' ')), document_id=e.document_id,
            document=document.title if document else '', contact=contact.display_name if contact else '',
            ip_address=e.ip_address or '', detail=_access_detail(e)))
    return rows


def _access_detail(e: AuditEvent) -> str:
    detail = json.loads(e.detail_json or '{}')
    if e.action == 'share_rescinded' and detail.get('reason'):
        return f'reason: {detail["reason"]}'
    if e.action == 'reply_created':
        return f'{detail.get("attachments", 0)} attachment(s)'
    if e.action == 'share_access_denied':
        return str(detail.get('reason', ''))
    if detail.get('copy_document_id'):
        return f'contact\'s copy (document {detail["copy_document_id"]})'
    if detail.get('moved_document_id'):
        return f'now document {detail["moved_document_id"]}'
    return ''


def _by_id(session: Session, model: type, ids: set[int | None]) -> dict[int, object]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {row.id: row for row in session.exec(select(model).where(model.id.in_(wanted))).all()}  # type: ignore[var-annotated]


def _access_csv(session: Session, filters: AuditFilter) -> tuple[bytes, int]:
    condition = _condition(session, filters)
    total = session.exec(select(sa.func.count()).select_from(AuditEvent).where(condition)).one()
    if total > EXPORT_LIMIT:
        raise InvalidInput(f'{total:,} events match; the report is too long to export at once.')
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ACCESS_CSV_COLUMNS)
    last = 0
    while True:  # in batches, oldest first
        batch = session.exec(select(AuditEvent).where(condition, AuditEvent.seq > last)
                             .order_by(AuditEvent.seq).limit(1000)).all()
        if not batch:
            break
        for row in _access_lines(session, list(batch)):
            writer.writerow([row.seq, row.at.isoformat(), _safe(row.who), row.role, row.account_id or '', row.what,
                             row.action, row.document_id or '', _safe(row.document), _safe(row.contact),
                             row.ip_address, _safe(row.detail)])
        last = batch[-1].seq
    return out.getvalue().encode('utf-8'), total
