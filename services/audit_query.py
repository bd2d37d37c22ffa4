"""Reading the audit log: filters, paging, CSV export and the access reports HIPAA reviews need."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from models import AuditEvent
from models.shapes import Actor

from . import audit, auth
from .errors import InvalidInput
from .settings import get_settings
from .settings_admin import require_admin

CSV_COLUMNS = ['id', 'at_utc', 'account_id', 'actor', 'action', 'object_type', 'object_id', 'chart_id', 'contact_id',
               'ip_address', 'detail', 'hash']
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

    @classmethod
    def from_form(cls, *, since: str | None = '', until: str | None = '', account: str | None = '',
                  action: str | None = '', contact_id: str | int | None = '', chart_id: str | int | None = '') -> AuditFilter:
        """Build a filter from text fields; InvalidInput names the field that is wrong."""
        return cls(since=_date(since, 'From'), until=_date(until, 'To'), account=(account or '').strip(),
                   action=(action or '').strip(), contact_id=_number(contact_id, 'Contact id'),
                   chart_id=_number(chart_id, 'Chart id'))


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
            writer.writerow([e.id, e.at.isoformat(), e.account_id or '', _safe(e.actor), e.action,
                             e.object_type or '', _safe(e.object_id or ''), e.chart_id or '', e.contact_id or '',
                             e.ip_address or '', _safe(e.detail_json), e.hash])
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
    return sa.and_(*parts)


def _event_row(e: AuditEvent) -> EventRow:
    obj = f'{e.object_type} {e.object_id}' if e.object_type else ''
    return EventRow(id=e.id, at=e.at, actor=e.actor, account_id=e.account_id, action=e.action, object=obj,
                    chart_id=e.chart_id, contact_id=e.contact_id, ip_address=e.ip_address or '', detail=e.detail_json)


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
