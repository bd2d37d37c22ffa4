"""The admin's email pages through NiceGUI's User fixture: template editor, SMTP settings, outbox."""
from __future__ import annotations

import pytest
from nicegui.testing import User
from sqlmodel import select

from models import AuditEvent, EmailTemplate, OutboxEmail, Setting
from services import db, outbox
from tests import factories
from tests.portal import seed, sign_in, table_rows

WAIT = 50  # retries of 0.1 s: the test machine is shared and slow


async def _admin(user: User) -> None:
    seed(lambda session: factories.account(session, role='admin', email='boss@clinic.test'))
    await sign_in(user, 'boss@clinic.test')
    await user.should_see(marker='admin-home', retries=WAIT)


async def _open_templates(user: User, kind: str) -> None:
    """Open the editor and wait until it has loaded the template (typing earlier would be overwritten)."""
    await user.open(f'/admin/templates?kind={kind}')
    await user.should_see('Shipped default', retries=WAIT)


def _stored_templates() -> list[EmailTemplate]:
    with db.transaction() as session:
        return list(session.exec(select(EmailTemplate)).all())


@pytest.mark.parametrize('path', ['/admin/templates', '/admin/email', '/admin/outbox'])
async def test_staff_cannot_open_the_email_pages(user: User, path: str) -> None:
    seed(lambda session: factories.account(session, role='staff', email='nurse@clinic.test'))
    await sign_in(user, 'nurse@clinic.test')
    await user.should_see(marker='staff-home', retries=WAIT)
    await user.open(path)
    await user.should_see(marker='staff-home', retries=WAIT)


async def test_a_template_with_a_syntax_error_is_refused_on_the_page(user: User) -> None:
    await _admin(user)
    await _open_templates(user, 'test_email')
    await user.should_see(marker='templates-page', retries=WAIT)
    await user.should_see('Test email from Secure Message Portal')  # preview of the default
    user.find(marker='subject').clear().type('Hello {{ portal_name')
    await user.should_see('Subject: syntax error on line 1', retries=WAIT)
    user.find(marker='save').click()
    await user.should_see('Not saved. Subject: syntax error on line 1', retries=WAIT)
    assert _stored_templates() == []


async def test_an_unknown_variable_is_refused_on_the_page(user: User) -> None:
    await _admin(user)
    await _open_templates(user, 'reminder_to_review')
    user.find(marker='text').clear().type('{{ chart_name }}')
    user.find(marker='save').click()
    await user.should_see('Not saved. Text: unknown variable chart_name', retries=WAIT)
    assert _stored_templates() == []


async def test_an_edit_shows_a_live_preview_saves_and_resets(user: User) -> None:
    await _admin(user)
    await _open_templates(user, 'reminder_to_review')
    rows = await table_rows(user, 'variables')
    assert {'{{ document_count }}', '{{ portal_name }}'} <= {row['name'] for row in rows}
    user.find(marker='subject').clear().type('{{ document_count }} documents wait on {{ portal_name }}')
    await user.should_see('3 documents wait on Secure Message Portal', retries=WAIT)
    user.find(marker='save').click()
    await user.should_see('Template saved.', retries=WAIT)
    [row] = _stored_templates()
    assert row.subject == '{{ document_count }} documents wait on {{ portal_name }}'
    user.find(marker='reset').click()
    user.find(marker='confirm-reset').click()
    await user.should_see('The default template is back.', retries=WAIT)
    assert _stored_templates() == []


async def test_a_test_email_from_the_template_editor_reaches_the_server(user: User, smtp_server) -> None:
    await _admin(user)
    await _open_templates(user, 'reminder_to_review')
    user.find(marker='test-to').clear().type('inbox@clinic.test')
    user.find(marker='send-test').click()
    await user.should_see('Server answered: 250', retries=WAIT)
    assert len(smtp_server.to('inbox@clinic.test')) == 1


async def test_smtp_settings_save_without_showing_the_password_back(user: User) -> None:
    await _admin(user)
    await user.open('/admin/email')
    await user.should_see('No mail server: emails stay in the outbox.', retries=WAIT)
    user.find(marker='host').clear().type('mail.clinic.test')
    user.find(marker='port').clear().type('2525')
    user.find(marker='user').clear().type('portal')
    user.find(marker='password').type('s3cret-pass')
    user.find(marker='mail-from').clear().type('portal@clinic.test')
    user.find(marker='save').click()
    await user.should_see('Saved.', retries=WAIT)
    await user.should_see('Mail goes to: mail.clinic.test:2525', retries=WAIT)
    assert user.find(marker='password').elements.pop().value == ''
    await user.open('/admin/email')
    await user.should_see('A password is stored. Leave empty to keep it.', retries=WAIT)
    assert user.find(marker='password').elements.pop().value == ''
    with db.transaction() as session:
        assert session.get(Setting, 'smtp_password').value_json.startswith('"enc:')
        events = session.exec(select(AuditEvent).where(AuditEvent.action == 'settings_changed')).all()
        assert len(events) == 1 and 's3cret-pass' not in events[0].detail_json


async def test_bad_smtp_settings_show_a_message_and_store_nothing(user: User) -> None:
    await _admin(user)
    await user.open('/admin/email')
    user.find(marker='port').clear().type('99999')
    user.find(marker='save').click()
    await user.should_see('Not saved. SMTP port must be a number from 1 to 65535.', retries=WAIT)
    with db.transaction() as session:
        assert session.exec(select(Setting).where(Setting.key.like('smtp%'))).all() == []


async def test_the_smtp_page_shows_overrides_and_the_servers_answer(user: User, smtp_server) -> None:
    await _admin(user)
    await user.open('/admin/email')
    await user.should_see(marker='overrides', retries=WAIT)
    await user.should_see(f'Mail goes to: 127.0.0.1:{smtp_server.port}', retries=WAIT)
    user.find(marker='test-to').clear().type('inbox at clinic')
    user.find(marker='send-test').click()
    await user.should_see('Not sent. Test address is not a valid email address.', retries=WAIT)
    user.find(marker='test-to').clear().type('inbox@clinic.test')
    user.find(marker='send-test').click()
    await user.should_see('Server answered: 250', retries=WAIT)
    assert len(smtp_server.to('inbox@clinic.test')) == 1


async def test_the_outbox_shows_a_failed_email_and_retries_it(user: User, smtp_server) -> None:
    smtp_server.reject.add('gone@outside.test')
    await _admin(user)

    def queue(session):
        outbox.enqueue(session, kind='test_email', to='gone@outside.test', context={'sent_at': 'now'})
    seed(queue)
    outbox.process_outbox()
    await user.open('/admin/outbox')
    [row] = await table_rows(user, 'outbox')
    assert (row['kind'], row['to'], row['status'], row['attempts']) == ('test_email', 'gone@outside.test', 'failed', 1)
    assert '550' in row['error']
    smtp_server.reject.clear()
    with db.transaction() as session:
        email_id = session.exec(select(OutboxEmail.id)).one()
    user.find(marker='outbox').trigger('rowClick', [None, {'id': email_id}, 0])
    await user.should_see(marker='email-state', retries=WAIT)
    await user.should_see('Failed after 1 attempt', retries=WAIT)
    user.find(marker='retry').click()
    await user.should_see(f'Email {email_id} is now pending.', retries=WAIT)
    outbox.process_outbox()
    smtp_server.wait_for('gone@outside.test')
