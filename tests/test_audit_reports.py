"""'Who saw this document': the access reports per chart and per document (staff and admins), their CSV export,
and the admin's audit filter by chart and document name. Every event about a document carries its chart, so
staff opening a contact's copy shows in the chart's report (it was logged without a chart before)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from sqlmodel import select

from models import AuditEvent
from models.shapes import Actor
from services import audit_query, db, documents, messages, replies, sharing, worklist
from services.errors import Forbidden, NotAvailable
from tests import factories, portal_data


@dataclass
class Story:
    staff: Actor
    admin: Actor
    contact: Actor
    chart_id: int
    other_chart_id: int
    document_id: int
    copy_id: int
    share_id: int


@pytest.fixture
def story(database: str) -> Story:
    """A document written, shared, opened, downloaded and replied to by the contact, opened by staff in the
    contact's chart, the reply moved into the chart, and the share rescinded; plus another chart's document."""
    db.run(portal_data.enable, replies_enabled=True)
    with db.transaction() as session:
        nurse = factories.account(session, role='staff', email='nurse@clinic.test', name='Nina Nurse')
        boss = factories.account(session, role='admin', email='boss@clinic.test', name='Bo Boss')
        chart = factories.chart(session, first='Jane', last='Roe')
        other = factories.chart(session, first='John', last='Moe')
        contact = factories.contact(session, first='Ada', last='Adjuster')
        account = factories.contact_account(session, contact)
        staff = factories.actor_for(session, nurse)
        staff = Actor(**{**staff.__dict__, 'ip_address': '10.0.0.5'})
        admin = factories.actor_for(session, boss)
        document_id = documents.create_document(session, actor=staff, chart_id=chart.id, service_date='2026-11-02',
                                                doc_type='Work Status Report', title='Work status after surgery',
                                                body_kind='text', body='Fit for light duty.')
        documents.create_document(session, actor=staff, chart_id=other.id, service_date='2026-11-03',
                                  doc_type='Lab Result', title='Lab panel', body_kind='text', body='Normal.')
        [sent] = sharing.send_documents(session, document_ids=[document_id], contact_ids=[contact.id], actor=staff)
        contact_actor = Actor(**{**factories.actor_for(session, account).__dict__, 'ip_address': '198.51.100.7'})
    messages.open_message(actor=contact_actor, share_id=sent.share_id)
    messages.message_file(actor=contact_actor, share_id=sent.share_id)
    reply_id = replies.create_reply(actor=contact_actor, share_id=sent.share_id, text='Received, thanks.')
    with db.transaction() as session:
        documents.get_document(session, actor=staff, document_id=sent.copy_document_id)  # the contact's copy
        worklist.move_reply(session, actor=staff, reply_id=reply_id)
        sharing.rescind(session, share_id=sent.share_id, reason='Sent too early', actor=staff)
    return Story(staff, admin, contact_actor, chart.id, other.id, document_id, sent.copy_document_id, sent.share_id)


def test_the_document_report_says_who_did_what_when_and_from_where(story: Story) -> None:
    with db.transaction() as session:
        report = audit_query.document_access(session, actor=story.staff, document_id=story.document_id)
    assert (report.kind, report.title, report.chart_name) == ('document', 'Work status after surgery', 'Roe, Jane')
    lines = [(r.who, r.role, r.what, r.ip_address) for r in reversed(report.rows)]  # oldest first
    assert lines == [
        ('Nina Nurse', 'staff', 'created', '10.0.0.5'),
        ('Nina Nurse', 'staff', 'shared', '10.0.0.5'),
        ('Ada Adjuster', 'contact', 'viewed', '198.51.100.7'),
        ('Ada Adjuster', 'contact', 'downloaded', '198.51.100.7'),
        ('Ada Adjuster', 'contact', 'replied', '198.51.100.7'),
        ('Nina Nurse', 'staff', 'viewed', '10.0.0.5'),
        ('Nina Nurse', 'staff', 'moved a reply into the chart', '10.0.0.5'),
        ('Nina Nurse', 'staff', 'rescinded', '10.0.0.5'),
        ('Nina Nurse', 'staff', 'viewed the access report', '10.0.0.5'),
    ]
    assert report.total == len(lines)
    assert all(r.document == 'Work status after surgery' for r in report.rows)
    staff_copy_view = report.rows[3]
    assert staff_copy_view.detail == f"contact's copy (document {story.copy_id})"
    assert report.rows[1].detail == 'reason: Sent too early' and report.rows[-2].contact == 'Ada Adjuster'


def test_staff_opening_the_contacts_copy_is_in_the_charts_report(story: Story) -> None:
    with db.transaction() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == 'document_viewed',
                                                      AuditEvent.object_id == str(story.copy_id))).one()
        assert (event.chart_id, event.document_id) == (story.chart_id, story.document_id)
        report = audit_query.chart_access(session, actor=story.staff, chart_id=story.chart_id)
    assert report.title == 'Roe, Jane' and report.kind == 'chart'
    whats = [(r.who, r.what) for r in report.rows]
    assert ('Nina Nurse', 'viewed') in whats and ('Ada Adjuster', 'downloaded') in whats
    assert all(r.document in ('Work status after surgery', '') for r in report.rows)
    with db.transaction() as session:
        other = audit_query.chart_access(session, actor=story.staff, chart_id=story.other_chart_id)
    assert [r.what for r in other.rows] == ['viewed the access report', 'created']


def test_the_report_of_a_copy_is_the_report_of_its_document(story: Story) -> None:
    with db.transaction() as session:
        report = audit_query.document_access(session, actor=story.staff, document_id=story.copy_id)
    assert report.subject_id == story.document_id and "contact's copy" in report.note


def test_reports_page_on_the_server(story: Story) -> None:
    with db.transaction() as session:
        first = audit_query.document_access(session, actor=story.staff, document_id=story.document_id, limit=4)
        rest = audit_query.document_access(session, actor=story.staff, document_id=story.document_id, offset=4,
                                           limit=100)
    assert len(first.rows) == 4 and first.total == rest.total == len(first.rows) + len(rest.rows)
    assert [r.seq for r in first.rows + rest.rows] == sorted((r.seq for r in first.rows + rest.rows), reverse=True)


def test_csv_exports_the_whole_report_oldest_first_and_is_audited(story: Story) -> None:
    with db.transaction() as session:
        content = audit_query.document_access_csv(session, actor=story.staff, document_id=story.document_id)
        chart_csv = audit_query.chart_access_csv(session, actor=story.staff, chart_id=story.chart_id)
    assert content.mime_type == 'text/csv' and content.file_name == f'access-report-document-{story.document_id}.csv'
    rows = list(csv.DictReader(io.StringIO(content.data.decode())))
    assert list(rows[0]) == audit_query.ACCESS_CSV_COLUMNS
    assert [r['what'] for r in rows][:3] == ['created', 'shared', 'viewed']
    assert rows[2]['who'] == 'Ada Adjuster' and rows[2]['from_address'] == '198.51.100.7'
    assert [int(r['seq']) for r in rows] == sorted(int(r['seq']) for r in rows)
    assert len(list(csv.DictReader(io.StringIO(chart_csv.data.decode())))) > len(rows)
    with db.transaction() as session:
        exported = session.exec(select(AuditEvent).where(AuditEvent.action == 'access_report_exported')
                                .order_by(AuditEvent.seq)).all()
    assert [(e.document_id, e.chart_id) for e in exported] == [(story.document_id, story.chart_id),
                                                               (None, story.chart_id)]


def test_only_staff_and_admins_get_reports(story: Story) -> None:
    with db.transaction() as session:
        for call, kwargs in ((audit_query.chart_access, {'chart_id': story.chart_id}),
                             (audit_query.document_access, {'document_id': story.document_id}),
                             (audit_query.chart_access_csv, {'chart_id': story.chart_id}),
                             (audit_query.document_access_csv, {'document_id': story.document_id}),
                             (audit_query.find_charts, {'text': 'Roe'}),
                             (audit_query.find_documents, {'text': 'Work'})):
            with pytest.raises(Forbidden):
                call(session, actor=story.contact, **kwargs)
            with pytest.raises(Forbidden):
                call(session, actor=Actor(), **kwargs)
        assert audit_query.chart_access(session, actor=story.admin, chart_id=story.chart_id).total > 0
        with pytest.raises(NotAvailable):
            audit_query.document_access(session, actor=story.staff, document_id=999_999)
        with pytest.raises(NotAvailable):
            audit_query.chart_access_csv(session, actor=story.staff, chart_id=999_999)


def test_the_admin_filters_by_chart_and_document_name(story: Story) -> None:
    with db.transaction() as session:
        assert [c.label for c in audit_query.find_charts(session, actor=story.admin, text='roe')] == \
            ['Roe, Jane (1980-05-17)']
        hits = audit_query.find_documents(session, actor=story.admin, text='work surgery')
        assert (story.document_id, 'Work status after surgery · 2026-11-02 · Roe, Jane') in [(h.id, h.label) for h in hits]
        assert {h.label.split(' · ')[0] for h in hits} == {'Work status after surgery',
                                                           'Reply to: Work status after surgery'}  # the moved reply
        assert audit_query.find_documents(session, actor=story.admin, text='work', chart_id=story.other_chart_id) == []
        by_name = audit_query.AuditFilter.from_form(chart='Roe Jane')
        by_id = audit_query.AuditFilter.from_form(chart=str(story.chart_id))
        named, total = audit_query.list_events(session, actor=story.admin, filters=by_name, limit=500)
        numbered, _ = audit_query.list_events(session, actor=story.admin, filters=by_id, limit=500)
        assert total > 5 and [r.id for r in named] == [r.id for r in numbered]
        assert all(r.chart_id == story.chart_id for r in named)
        docs, _ = audit_query.list_events(session, actor=story.admin,
                                          filters=audit_query.AuditFilter.from_form(document='status after'), limit=500)
        assert docs and all(r.document_id == story.document_id for r in docs)
        assert {r.action for r in docs} >= {'document_created', 'document_shared', 'document_viewed',
                                            'document_downloaded', 'reply_created', 'reply_moved', 'share_rescinded'}
        nothing, total = audit_query.list_events(session, actor=story.admin,
                                                 filters=audit_query.AuditFilter.from_form(document='no such title'))
        assert (nothing, total) == ([], 0)
