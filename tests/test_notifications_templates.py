"""Email templates carry no PHI; admin edits are validated (nothing saved on error); SMTP settings are audited
with masked secrets and the password is stored encrypted."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from models import AuditEvent, EmailTemplate, Setting
from models.shapes import Actor
from services import db, email_admin, email_templates, outbox, settings
from services.errors import InvalidInput
from tests import factories

ADMIN = Actor(account_id=None, username='admin@clinic.test', role='admin')
PHI_CONTEXT = {
    'chart_name': 'Zebediah Quixote', 'regarding': 'Quixote, Zebediah', 'patient_name': 'Zebediah Quixote',
    'title': 'HIV panel', 'document_title': 'HIV panel', 'doc_type': 'Psychiatric evaluation',
    'reply_text': 'Positive for hepatitis C', 'body': 'Diagnosis: major depressive disorder',
    'date_of_birth': '1961-02-29', 'answers': {'diagnosis': 'HIV positive'}, 'contact_name': 'Ozymandias Fennimore',
}
PHI_WORDS = ['Zebediah', 'Quixote', 'HIV', 'Psychiatric', 'hepatitis', 'depressive', '1961-02-29', 'Ozymandias']


@pytest.mark.parametrize('kind', sorted(email_templates.KINDS))
def test_no_template_lets_phi_into_the_email(database, kind: str) -> None:
    with db.transaction() as session:
        context = PHI_CONTEXT | email_templates.KINDS[kind].sample
        rendered = email_templates.render(session, kind, context)
    for part in (rendered.subject, rendered.html, rendered.text):
        for word in PHI_WORDS:
            assert word not in part, f'{kind} leaks {word!r}'
    assert rendered.subject and rendered.html and rendered.text


@pytest.mark.parametrize('kind', sorted(email_templates.KINDS))
def test_every_template_renders_its_documented_variables_only(kind: str) -> None:
    source = email_templates.default_source(kind)
    email_templates.check_source(kind, source)  # no unknown variable, no syntax error


def test_an_admin_cannot_add_a_phi_variable(database) -> None:
    with db.transaction() as session:
        view = email_admin.template_view(session, actor=ADMIN, kind='reminder_to_review')
        with pytest.raises(InvalidInput, match='unknown variable chart_name'):
            email_admin.save_template(session, kind='reminder_to_review', subject=view.subject,
                                      html=view.html + '{{ chart_name }}', text=view.text, actor=ADMIN)


def test_a_template_with_a_syntax_error_is_refused_and_nothing_is_saved(database) -> None:
    with db.transaction() as session:
        view = email_admin.template_view(session, actor=ADMIN, kind='test_email')
        with pytest.raises(InvalidInput, match='syntax error on line 1'):
            email_admin.save_template(session, kind='test_email', subject='Hello {{ portal_name',
                                      html=view.html, text=view.text, actor=ADMIN)
    with db.transaction() as session:
        assert session.exec(select(EmailTemplate)).all() == []
        assert session.exec(select(AuditEvent).where(AuditEvent.action.like('email_template%'))).all() == []


def test_an_edited_template_is_used_and_can_be_reset(database) -> None:
    with db.transaction() as session:
        view = email_admin.template_view(session, actor=ADMIN, kind='reminder_to_review')
        email_admin.save_template(session, kind='reminder_to_review', subject='News from {{ portal_name }}',
                                  html=view.html, text='{{ document_count }} new. {{ sign_in_url }}', actor=ADMIN)
    with db.transaction() as session:
        contact = factories.contact(session)
        factories.contact_account(session, contact)
        factories.share(session, contact_row=contact)
        [email] = outbox.list_emails(session, actor=ADMIN, contact_id=contact.id)[0]
        assert email.subject == 'News from Secure Message Portal'
        assert email.body_text.startswith('1 new. http')
        assert email_admin.template_view(session, actor=ADMIN, kind='reminder_to_review').customized
    with db.transaction() as session:
        view = email_admin.reset_template(session, kind='reminder_to_review', actor=ADMIN)
        assert not view.customized
        assert view.subject == email_templates.default_source('reminder_to_review').subject
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.action.like('email_template%'))).all()
        assert sorted(actions) == ['email_template_changed', 'email_template_reset']


def test_the_preview_uses_the_sample_values(database) -> None:
    with db.transaction() as session:
        rendered = email_admin.preview(session, actor=ADMIN, kind='reminder_to_review', subject='{{ document_count }} waiting',
                                       html='<p>{{ document_count }} <b>new</b></p>', text='x')
    assert rendered.subject == '3 waiting'
    assert rendered.html == '<p>3 <b>new</b></p>'


def test_a_test_email_of_an_edited_template_is_checked_first(database, smtp_server) -> None:
    with pytest.raises(InvalidInput, match='syntax error'):
        email_admin.send_test_email(to='admin@clinic.test', actor=ADMIN, kind='invitation',
                                    edited=('{% if %}', '<p>x</p>', 'x'))
    result = email_admin.send_test_email(to='admin@clinic.test', actor=ADMIN, kind='invitation',
                                         edited=('Code {{ activation_code }}', '<p>x</p>', 'x'))
    assert result.ok
    [message] = smtp_server.wait_for('admin@clinic.test')
    assert message['Subject'] == '[Test] Code K7QF-M2XD-9RTW-4HPA'


def test_smtp_settings_are_saved_with_an_encrypted_password_and_a_masked_audit(database) -> None:
    with db.transaction() as session:
        diff = email_admin.save_smtp(session, host='Mail.Clinic.test', port='2525', tls='tls', user='portal',
                                     password='s3cret-pass', mail_from='portal@clinic.test', actor=ADMIN)
    assert diff['smtp_password'] == ('********', '********')
    with db.transaction() as session:
        stored = session.get(Setting, 'smtp_password').value_json
        assert 's3cret-pass' not in stored and stored.startswith('"enc:')
        event = session.exec(select(AuditEvent).where(AuditEvent.action == 'settings_changed')).one()
        assert 's3cret-pass' not in event.detail_json
        assert json.loads(event.detail_json)['smtp_host']['new'] == 'mail.clinic.test'
        view = email_admin.smtp_view(session, actor=ADMIN)
    assert settings.get_settings().smtp_password == 's3cret-pass'
    assert (view.host, view.port, view.tls, view.password_set) == ('mail.clinic.test', 2525, 'tls', True)
    assert 'mail.clinic.test:2525' in view.effective
    assert not hasattr(view, 'password')
    with db.transaction() as session:  # an empty password keeps the stored one
        email_admin.save_smtp(session, host='mail.clinic.test', port=2525, tls='tls', user='portal', password='',
                              mail_from='portal@clinic.test', actor=ADMIN)
    assert settings.get_settings().smtp_password == 's3cret-pass'
    with db.transaction() as session:
        email_admin.save_smtp(session, host='mail.clinic.test', port=2525, tls='tls', user='portal', password='',
                              clear_password=True, mail_from='portal@clinic.test', actor=ADMIN)
    assert settings.get_settings().smtp_password == ''


@pytest.mark.parametrize('field, value, message', [
    ('port', '70000', 'SMTP port must be a number'), ('port', 'abc', 'SMTP port must be a number'),
    ('host', 'mail server', 'SMTP host must be'), ('mail_from', 'not-an-address', 'From address is not a valid'),
    ('tls', 'ssl3', 'Choose STARTTLS'),
])
def test_bad_smtp_settings_are_refused_and_nothing_is_stored(database, field, value, message) -> None:
    values = dict(host='mail.clinic.test', port=587, tls='starttls', user='', password='x', mail_from='')
    values[field] = value
    with pytest.raises(InvalidInput, match=message):
        with db.transaction() as session:
            email_admin.save_smtp(session, actor=ADMIN, **values)
    with db.transaction() as session:
        assert session.exec(select(Setting)).all() == []


def test_environment_overrides_are_shown(database, smtp_server) -> None:
    with db.transaction() as session:
        view = email_admin.smtp_view(session, actor=ADMIN)
    assert view.overridden == {'smtp_host': 'SMP_SMTP_HOST', 'smtp_port': 'SMP_SMTP_PORT',
                               'smtp_tls': 'SMP_SMTP_TLS', 'mail_from': 'SMP_MAIL_FROM'}
    assert f'127.0.0.1:{smtp_server.port}' in view.effective
