"""The accounts and audit log pages through the User fixture."""
from __future__ import annotations

import csv
import io
import json

from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from models import Account, AuditEvent, OutboxEmail, UserSession
from services import audit, auth, throttle
from tests import factories
from tests.admin_portal import click, click_and_see, see, sign_in_as, until
from tests.portal import seed

ADMIN = 'boss@clinic.test'


def table_rows(user: User, marker: str) -> list[dict]:
    (table,) = [e for e in user.find(marker=marker).elements if isinstance(e, ui.table)]
    return list(table.rows)


async def open_accounts(user: User) -> None:
    await sign_in_as(user, 'admin', ADMIN)
    await user.open('/admin/accounts')
    await see(user, marker='admin-accounts')
    assert await until(lambda: has(user, 'accounts-contact') and table_rows(user, 'accounts-staff'))


def has(user: User, marker: str) -> bool:
    try:
        return bool(user.find(marker=marker).elements)
    except AssertionError:
        return False


async def click_row(user: User, marker: str, row_id: int) -> None:
    assert await until(lambda: any(r['id'] == row_id for r in table_rows(user, marker)))  # the page loads its rows
    row = next(r for r in table_rows(user, marker) if r['id'] == row_id)
    user.find(marker=marker).trigger('rowClick', [None, row, 0])  # what Quasar sends for a row click


async def test_admin_creates_a_staff_account_that_gets_a_reset_email(user: User) -> None:
    await open_accounts(user)
    user.find(marker='new-email').type('new.nurse@clinic.test')
    user.find(marker='new-name').type('New Nurse')
    await click_and_see(user, 'create-account', 'Account new.nurse@clinic.test created')
    email = seed(lambda session: session.exec(select(OutboxEmail)).one())
    assert (email.kind, email.to_address) == ('password_reset', 'new.nurse@clinic.test')
    account = seed(lambda session: session.exec(select(Account).where(Account.username == 'new.nurse@clinic.test')).one())
    assert account.role == 'staff'

    user.find(marker='new-email').type('not an email')
    user.find(marker='new-name').type('Someone')
    await click(user, 'create-account')
    await see(user, 'Email is not a valid email address.')
    assert seed(lambda session: len(session.exec(select(Account)).all())) == 2

    user.find(marker='new-email').clear().type('night.nurse@clinic.test')  # the corrected submit goes through
    await click_and_see(user, 'create-account', 'Account night.nurse@clinic.test created')
    assert seed(lambda session: len(session.exec(select(Account)).all())) == 3


async def test_disabling_from_the_page_ends_sessions_and_keeps_the_last_admin(user: User) -> None:
    nurse = seed(lambda session: factories.account(session, role='staff', email='nurse@clinic.test'))
    seed(lambda session: auth.create_session(session, account_id=nurse.id, ip_address=None))
    await open_accounts(user)
    await click_row(user, 'accounts-staff', nurse.id)
    await see(user, marker='account-detail')
    await click_and_see(user, 'disable', 'Done.')
    assert seed(lambda session: session.exec(select(UserSession).where(UserSession.account_id == nurse.id)).all()) == []
    assert not seed(lambda session: session.get(Account, nurse.id)).is_active

    boss_id = seed(lambda session: session.exec(select(Account.id).where(Account.username == ADMIN)).one())
    await click_row(user, 'accounts-staff', boss_id)
    await see(user, '(boss@clinic.test)')
    await click_and_see(user, 'change-role', 'This is the last active administrator')
    assert seed(lambda session: session.get(Account, boss_id)).role == 'admin'
    actions = seed(lambda session: session.exec(select(AuditEvent.action)).all())
    assert 'account_disabled' in actions and 'account_role_changed' not in actions


async def test_contact_accounts_search_linked_contacts_and_unlock(user: User) -> None:
    def make(session):
        contact = factories.contact(session, email='doc@outside.test', organization='Harbor Physicians')
        account = factories.contact_account(session, contact)
        for _ in range(5):
            throttle.register_failure(session, 'sign_in', account.username, max_failures=5, lock_seconds=60)
        factories.contact_account(session, factories.contact(session, email='other@outside.test'))
        return account.id

    account_id = seed(make)
    await open_accounts(user)
    user.find(marker='tab-contacts').click()
    user.find(marker='search-contact').type('harbor')
    await until(lambda: [r['id'] for r in table_rows(user, 'accounts-contact')] == [account_id])
    assert [r['id'] for r in table_rows(user, 'accounts-contact')] == [account_id]
    await click_row(user, 'accounts-contact', account_id)
    await see(user, marker='linked-contact')
    await see(user, marker='locked')
    await click_and_see(user, 'unlock', 'Done.')
    assert seed(lambda session: throttle.locked_until(session, 'sign_in', 'doc@outside.test')) is None


async def test_audit_page_filters_and_exports_exactly_the_matching_rows(user: User) -> None:
    def make(session):
        ann = factories.actor_for(session, factories.account(session, role='staff', email='ann@clinic.test'))
        for chart_id in (1, 2, 1, 3):
            audit.record(session, action='document_viewed', actor=ann, chart_id=chart_id, contact_id=chart_id + 10)
    seed(make)
    await sign_in_as(user, 'admin', ADMIN)
    await user.open('/admin/audit')
    await see(user, marker='admin-audit')
    assert await until(lambda: has(user, 'audit-table') and table_rows(user, 'audit-table'))
    expected = seed(lambda session: session.exec(select(AuditEvent.id).where(AuditEvent.chart_id == 1)
                                                 .order_by(AuditEvent.id.desc())).all())
    user.find(marker='filter-chart').type('1')
    user.find(marker='apply-filter').click()
    await until(lambda: [r['id'] for r in table_rows(user, 'audit-table')] == expected)
    assert [r['id'] for r in table_rows(user, 'audit-table')] == expected

    user.find(marker='export-csv').click()
    response = await user.download.next(timeout=5)
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(int(r['id']) for r in rows) == sorted(expected)
    assert {r['chart_id'] for r in rows} == {'1'}
    exported = seed(lambda session: session.exec(select(AuditEvent).where(AuditEvent.action == 'audit_exported')).one())
    assert json.loads(exported.detail_json)['rows'] == 2

    # staff know charts by name, not id
    seed(lambda session: factories.chart(session, first='Robin', last='Quill', id=1))
    user.find(marker='filter-chart').clear().type('Quill, Robin')
    await click(user, 'apply-filter')
    await until(lambda: [r['id'] for r in table_rows(user, 'audit-table')] == expected)
    assert [r['id'] for r in table_rows(user, 'audit-table')] == expected
    user.find(marker='filter-chart').clear().type('Nobody Here')
    await click(user, 'apply-filter')
    assert await until(lambda: table_rows(user, 'audit-table') == [])


async def test_chart_access_report_on_the_page(user: User) -> None:
    def make(session):
        ann = factories.actor_for(session, factories.account(session, role='staff', email='ann@clinic.test'))
        for _ in range(3):
            audit.record(session, action='document_viewed', actor=ann, chart_id=5)
    seed(make)
    await sign_in_as(user, 'admin', ADMIN)
    await user.open('/admin/audit')
    await see(user, marker='reports')
    assert await until(lambda: has(user, 'report-chart'))
    user.find(marker='report-chart').type('5')
    user.find(marker='run-chart-report').click()
    await see(user, 'Access to chart 5')
    rows = table_rows(user, 'report-table')
    assert [(r['actor'], r['action'], r['count']) for r in rows] == [('ann@clinic.test', 'document_viewed', 3)]


async def test_audit_page_pages_on_the_server(user: User) -> None:
    def make(session):
        ann = factories.actor_for(session, factories.account(session, role='staff', email='ann@clinic.test'))
        for n in range(60):
            audit.record(session, action='document_viewed', actor=ann, chart_id=n)
    seed(make)
    await sign_in_as(user, 'admin', ADMIN)
    await user.open('/admin/audit')
    await see(user, marker='admin-audit')
    assert await until(lambda: has(user, 'audit-table') and table_rows(user, 'audit-table'))
    total = seed(lambda session: len(session.exec(select(AuditEvent.id)).all()))
    assert await until(lambda: len(table_rows(user, 'audit-table')) == 50)
    (table,) = [e for e in user.find(marker='audit-table').elements if isinstance(e, ui.table)]
    assert table.pagination['rowsNumber'] == total
    user.find(marker='audit-table').trigger('request', {'pagination': {'page': 2, 'rowsPerPage': 50}})
    assert await until(lambda: len(table_rows(user, 'audit-table')) == total - 50)
    assert min(r['id'] for r in table_rows(user, 'audit-table')) == 1
