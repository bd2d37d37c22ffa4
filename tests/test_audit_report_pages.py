"""The access report pages and their CSV downloads (pages/staff/access_report.py) through the User fixture."""
from __future__ import annotations

import csv
import io

from nicegui.testing import User

from models import Share
from models.shapes import Actor
from services import messages
from tests import factories
from tests.admin_portal import landed_on, see, sign_in_as, until
from tests.portal import seed


def a_shared_and_opened_document(session) -> dict:
    nurse = factories.account(session, role='staff', email='sender@clinic.test', name='Sam Sender')
    chart = factories.chart(session, first='Jane', last='Roe')
    contact = factories.contact(session, first='Ada', last='Adjuster')
    account = factories.contact_account(session, contact)
    sent = factories.share(session, contact_row=contact, sender=nurse, chart_row=chart, title='Work status')
    share = session.get(Share, sent.share_id)
    return {'chart_id': chart.id, 'document_id': share.source_document_id, 'share_id': sent.share_id,
            'contact': Actor(**{**factories.actor_for(session, account).__dict__, 'ip_address': '198.51.100.7'})}


def rows_of(user: User) -> list[dict]:
    return list(user.find(marker='access-table').elements.pop().rows)


async def test_staff_see_who_opened_a_document_and_from_where(user: User) -> None:
    story = seed(a_shared_and_opened_document)
    for _ in range(3):
        messages.open_message(actor=story['contact'], share_id=story['share_id'])
    await sign_in_as(user, 'staff', 'reader@clinic.test')
    await user.open(f'/staff/document/{story["document_id"]}/access-report')
    await see(user, marker='access-report')
    rows = rows_of(user)
    assert [(r['role'], r['what']) for r in rows] == [('staff', 'viewed the access report')] + \
        [('contact', 'viewed')] * 3 + [('staff', 'shared')]
    assert [r['who'] for r in rows[1:]] == ['Ada Adjuster'] * 3 + ['Sam Sender']
    assert rows[1]['address'] == '198.51.100.7' and rows[1]['document'] == 'Work status'
    user.find(marker='report-subject')  # links back to the document


async def test_the_chart_report_pages_on_the_server_and_downloads_as_csv(user: User) -> None:
    story = seed(a_shared_and_opened_document)
    for _ in range(60):
        messages.open_message(actor=story['contact'], share_id=story['share_id'])
    await sign_in_as(user, 'staff', 'reader@clinic.test')
    await user.open(f'/staff/chart/{story["chart_id"]}/access-report')
    await see(user, marker='access-report')
    table = user.find(marker='access-table').elements.pop()
    assert len(table.rows) == 50 and table.pagination['rowsNumber'] > 60
    user.find(marker='access-table').trigger('request', {'pagination': {'page': 2, 'rowsPerPage': 50}})
    assert await until(lambda: table.pagination['page'] == 2)
    assert 0 < len(table.rows) < 50 and table.rows[-1]['what'] == 'shared'
    response = await user.http_client.get(f'/staff/chart/{story["chart_id"]}/access-report.csv')
    assert response.status_code == 200 and response.headers['content-type'].startswith('text/csv')
    assert response.headers['content-disposition'].startswith('attachment;')
    assert response.headers['cache-control'] == 'no-store'
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert lines[0]['what'] == 'shared' and sum(line['what'] == 'viewed' for line in lines) == 60


async def test_an_unknown_chart_is_not_available(user: User) -> None:
    await sign_in_as(user, 'staff', 'reader@clinic.test')
    await user.open('/staff/chart/999999/access-report')
    await see(user, 'This chart does not exist.')
    response = await user.http_client.get('/staff/document/999999/access-report.csv')
    assert response.status_code == 404


async def test_contacts_get_neither_the_page_nor_the_csv(user: User) -> None:
    story = seed(a_shared_and_opened_document)
    await sign_in_as(user, 'contact', 'nosy@outside.test')
    await user.open(f'/staff/chart/{story["chart_id"]}/access-report')
    assert await landed_on(user, '/')
    response = await user.http_client.get(f'/staff/chart/{story["chart_id"]}/access-report.csv')
    assert response.status_code == 403 and 'Ada' not in response.text


async def test_the_chart_and_document_pages_link_to_their_reports(user: User) -> None:
    story = seed(a_shared_and_opened_document)
    await sign_in_as(user, 'staff', 'reader@clinic.test')
    for page, report in ((f'/staff/chart/{story["chart_id"]}', f'/staff/chart/{story["chart_id"]}/access-report'),
                         (f'/staff/document/{story["document_id"]}',
                          f'/staff/document/{story["document_id"]}/access-report')):
        await user.open(page)
        await see(user, marker='access-report-link')
        link = user.find(marker='access-report-link').elements.pop()
        assert link.props['href'] == report
        await user.open(report)
        await see(user, marker='access-report')
