"""Issue 12 item 11: whatever a person types reaches no database unchecked.

Every text input of the services is either accepted or refused with a clear message (a PortalError), never a
database error, the same on SQLite (which ignores VARCHAR lengths) and PostgreSQL (which fails the transaction
on them, on NUL characters and on unencodable text). Hypothesis generates the text; the coverage check makes
sure a new text parameter of a service is added here.
"""
from __future__ import annotations

import ast
import contextlib
import itertools
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlmodel import select

from models import AuditEvent, Throttle
from services import (accounts_admin, activation, api_clients, api_reads, audit_query, auth, branding, charts, contact_accounts, contacts, db,
                      documents, email_admin, messages, outbox, passkeys, questionnaire, registration, registration_review,
                      replies, second_factor, settings as portal_settings, settings_admin, sharing, staff_alerts,
                      verification, webhooks, worklist)
from services.contact_accounts import NewAccount
from services.errors import PortalError
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get('SMP_PROPERTY_EXAMPLES', '12'))
GOOD = 'violet harbour kettle 93'

SPECIAL = ['', ' ', '\x00', 'a\x00b', '\ud800', 'x\udfffy', '\n\r\t', '\u202e', '²', '٣', '9' * 40, '-1', '1e309',
           'x' * 129, 'x' * 255, 'x' * 5001, 'é' * 300, '日本語' * 100, '🙂' * 200, "' OR 1=1 --", '%', '_', '\\',
           '<script>alert(1)</script>', '{{ 7*7 }}', '0001-01-01', '9999-12-31', '2026-02-30', 'a@b.cd',
           'x' * 250 + '@clinic.test', ('y' * 63 + '.') * 4 + 'test', 'A' * 64 + '@' + 'b' * 190 + '.test']
TEXT = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=40),
    st.text(min_size=100, max_size=600),
    st.builds(lambda ch, n: ch * n, st.sampled_from(['x', 'é', '\x00', '9', '@', ' ', '\ud800', '.']),
              st.integers(min_value=1, max_value=3000)),
)
_n = itertools.count()


def _unique() -> int:
    return next(_n)


# ----------------------------------------------------------------------------- the world the calls act in

def _world() -> dict[str, Any]:
    db.run(portal_settings.save_settings, changes={'registration_enabled': True, 'replies_enabled': True},
           account_id=None)

    def make(session):
        admin = factories.account(session, role='admin', email='boss@clinic.test')
        staff = factories.account(session, role='staff', email='nurse@clinic.test')
        contact = factories.contact(session, email='casey@outside.test')
        contact_account = factories.contact_account(session, contact)
        result = factories.share(session, contact_row=contact, sender=staff)
        chart = factories.chart(session)
        actor = factories.actor_for(session, contact_account)
        return {'admin': factories.actor_for(session, admin), 'staff': factories.actor_for(session, staff),
                'contact': actor, 'contact_id': contact.id, 'chart': chart.id, 'share': result.share_id,
                'document': factories.document(session, chart_row=chart).id}
    world = db.run(make)
    world['token'] = db.run(registration.start, actor=world['contact'])
    return world


def _code() -> str:
    def make(session):
        contact = factories.contact(session, email=f'c{_unique()}@outside.test')
        return activation.issue_code(session, contact=contact, actor=None).code
    return db.run(make)


def _with(session_fn: Callable[..., Any], **kwargs: Any) -> Any:
    return db.run(session_fn, **kwargs)


def _new(**fields: str) -> NewAccount:
    values = {'email': f'n{_unique()}@outside.test', 'password': GOOD, 'confirm': GOOD} | fields
    if 'password' in fields:
        values['confirm'] = fields['password']
    return NewAccount(**values)


def _definition(**field: str) -> dict:
    definition = questionnaire.default_definition()
    definition['sections'][0]['fields'][0].update(field)
    return definition


def _passkey_session(w: dict[str, Any]) -> str:
    return db.run(auth.create_session, account_id=w['contact'].account_id, ip_address=None)


def _passkey(w: dict[str, Any]) -> int:
    from models import Passkey
    if 'passkey' not in w:
        w['passkey'] = db.run(lambda session: _flushed(session, Passkey(
            account_id=w['contact'].account_id, credential_id='AAAA', public_key=b'k', user_handle='h', name='Key')))
    return w['passkey']


def _flushed(session, row) -> int:
    session.add(row)
    session.flush()
    return row.id


def _passkey_ceremony_answer(credential: Any, text: str) -> Any:
    db.run(passkeys.begin_authentication, binding='tab')
    return passkeys.verify_response(binding='tab', session_token=text, credential=credential, ip_address=text)


W = dict[str, Any]
# 'module.function.parameter' -> call with the generated text in that parameter
CASES: dict[str, Callable[[W, str], Any]] = {
    'auth.sign_in.username': lambda w, t: auth.sign_in(username=t, password='x', ip_address='10.0.0.1'),
    'auth.sign_in.password': lambda w, t: auth.sign_in(username='nurse@clinic.test', password=t, ip_address='10.0.0.2'),
    'auth.sign_in.ip_address': lambda w, t: auth.sign_in(username='nurse@clinic.test', password='x', ip_address=t),
    'auth.resolve_session.token': lambda w, t: auth.resolve_session(t, ip_address=t),
    'auth.end_session.token': lambda w, t: auth.end_session(t, ip_address=t),
    'auth.complete_setup.token': lambda w, t: auth.complete_setup(token=t, email=t, password=t, confirm=t,
                                                                  ip_address=t),
    'auth.setup_token_valid.token': lambda w, t: _with(auth.setup_token_valid, token=t),
    'activation.check_code.code': lambda w, t: activation.check_code(code=t, ip_address='10.0.1.1'),
    'activation.check_code.ip_address': lambda w, t: activation.check_code(code=t[:20], ip_address=t),
    'contact_accounts.start_email_check.email': lambda w, t: contact_accounts.start_email_check(
        code=_code(), email=t, ip_address=None),
    'contact_accounts.start_email_check.code': lambda w, t: contact_accounts.start_email_check(
        code=t, email='a@b.cd', ip_address='10.0.2.1'),
    'contact_accounts.confirm_email.verification_code': lambda w, t: contact_accounts.confirm_email(
        code=_code(), email='a@b.cd', verification_code=t, ip_address=None),
    'contact_accounts.confirm_email.email': lambda w, t: contact_accounts.confirm_email(
        code=_code(), email=t, verification_code='123456', ip_address=None),
    'contact_accounts.create_account.email': lambda w, t: contact_accounts.create_account(
        code=_code(), new=_new(email=t), ip_address=None),
    'contact_accounts.create_account.password': lambda w, t: contact_accounts.create_account(
        code=_code(), new=_new(password=t), ip_address=None),
    'contact_accounts.create_account.username': lambda w, t: contact_accounts.create_account(
        code=_code(), new=_new(username=t), ip_address=None),
    'contact_accounts.create_account.delegate': lambda w, t: contact_accounts.create_account(
        code=_code(), new=NewAccount(email=f'd{_unique()}@outside.test', password=GOOD, confirm=GOOD,
                                     for_someone_else=True, delegate_name=t, delegate_relationship=t),
        ip_address=None),
    'contact_accounts.link_code.code': lambda w, t: contact_accounts.link_code(actor=w['contact'], code=t,
                                                                               ip_address=None),
    'contact_accounts.sign_in_and_link.username': lambda w, t: contact_accounts.sign_in_and_link(
        username=t, password=t, code=t, ip_address='10.0.3.1'),
    'contact_accounts.change_password.new': lambda w, t: contact_accounts.change_password(
        actor=w['contact'], current='wrong', new=t, confirm=t),
    'contact_accounts.change_password.current': lambda w, t: contact_accounts.change_password(
        actor=w['contact'], current=t, new=GOOD, confirm=GOOD),
    'contact_accounts.request_password_reset.email': lambda w, t: contact_accounts.request_password_reset(
        email=t, ip_address=t),
    'contact_accounts.reset_password.email': lambda w, t: contact_accounts.reset_password(
        email=t, code=t, password=t, confirm=t, ip_address=t),
    'contact_accounts.reset_password.password': lambda w, t: contact_accounts.reset_password(
        email='casey@outside.test', code='123456', password=t, confirm=t, ip_address=None),
    'contact_accounts.set_notify_mode.mode': lambda w, t: _with(contact_accounts.set_notify_mode, actor=w['contact'],
                                                                mode=t),
    'verification.confirm.code': lambda w, t: verification.confirm(purpose=verification.EMAIL_VERIFY, email=t, code=t),
    'accounts_admin.list_accounts.search': lambda w, t: _with(accounts_admin.list_accounts, actor=w['admin'],
                                                              kind=t, search=t),
    'accounts_admin.create_staff_account.email': lambda w, t: _with(
        accounts_admin.create_staff_account, actor=w['admin'], email=t, display_name='N', role='staff'),
    'accounts_admin.create_staff_account.display_name': lambda w, t: _with(
        accounts_admin.create_staff_account, actor=w['admin'], email=f's{_unique()}@clinic.test', display_name=t,
        role=t if len(t) > 20 else 'staff'),
    'accounts_admin.change_role.role': lambda w, t: _with(accounts_admin.change_role, actor=w['admin'],
                                                          account_id=w['staff'].account_id, role=t),
    'audit_query.AuditFilter.from_form': lambda w, t: _with(
        audit_query.list_events, actor=w['admin'],
        filters=audit_query.AuditFilter.from_form(since=t, until='', account=t, action=t)),
    'audit_query.AuditFilter.from_form.until': lambda w, t: _with(
        audit_query.list_events, actor=w['admin'], filters=audit_query.AuditFilter.from_form(until=t)),
    'audit_query.AuditFilter.from_form.ids': lambda w, t: _with(
        audit_query.export_csv, actor=w['admin'],
        filters=audit_query.AuditFilter.from_form(contact_id=t, chart_id=t if t.isdigit() else '')),
    'audit_query.account_activity_report.account': lambda w, t: _with(
        audit_query.account_activity_report, actor=w['admin'], account=t),
    'branding.save_logo.file_name': lambda w, t: _with(branding.save_logo, actor=w['admin'],
                                                       data=factories.MINIMAL_PNG, file_name=t),
    'charts.search_charts.query': lambda w, t: _with(charts.search_charts, actor=w['staff'], query=t),
    'charts.save_chart.names': lambda w, t: _with(charts.save_chart, actor=w['staff'], first_name=t, last_name=t),
    'charts.save_chart.others': lambda w, t: _with(charts.save_chart, actor=w['staff'], first_name='A', last_name='B',
                                                   date_of_birth=t, external_id=t, email='', phone='', employer=t),
    'charts.save_chart.contact': lambda w, t: _with(charts.save_chart, actor=w['staff'], first_name='A',
                                                    last_name='B', email=t, phone=t),
    'contacts.search_contacts.query': lambda w, t: _with(contacts.search_contacts, actor=w['staff'], query=t),
    'contacts.add_contact.names': lambda w, t: _with(contacts.add_contact, actor=w['staff'], first_name=t,
                                                     last_name=t, email=f'x{_unique()}@outside.test',
                                                     organization=t, confirm_same_name=True),
    'contacts.add_contact.email': lambda w, t: _with(contacts.add_contact, actor=w['staff'], first_name='A',
                                                     last_name='B', email=t, phone=t, confirm_same_name=True),
    'documents.create_document.text': lambda w, t: _with(
        documents.create_document, actor=w['staff'], chart_id=w['chart'], service_date=date(2026, 1, 2),
        doc_type=t, title=t, service_location=t, body_kind='text', body=t),
    'documents.create_document.html': lambda w, t: _with(
        documents.create_document, actor=w['staff'], chart_id=w['chart'], service_date=t,
        doc_type='Physician Note', title='x', body_kind=t if len(t) < 3 else 'html', body=t),
    'documents.create_document.file_name': lambda w, t: _with(
        documents.create_document, actor=w['staff'], chart_id=w['chart'], service_date=date(2026, 1, 2),
        doc_type='Physician Note', title='x', body_kind='file', file_data=factories.MINIMAL_PDF, file_name=t),
    'email_admin.template_view.kind': lambda w, t: _with(email_admin.template_view, actor=w['admin'], kind=t),
    'email_admin.preview.kind': lambda w, t: _with(email_admin.preview, actor=w['admin'], kind=t, subject=t,
                                                   html=t, text=t),
    'email_admin.save_template.text': lambda w, t: _with(email_admin.save_template, actor=w['admin'],
                                                         kind='test_email', subject=t, html=t, text=t),
    'email_admin.reset_template.kind': lambda w, t: _with(email_admin.reset_template, actor=w['admin'], kind=t),
    'email_admin.send_test_email.to': lambda w, t: email_admin.send_test_email(to=t, actor=w['admin'], kind=t),
    'email_admin.send_test_email.edited': lambda w, t: email_admin.send_test_email(
        to='a@b.cd', actor=w['admin'], edited=(t, t, t)),
    'email_admin.save_smtp': lambda w, t: _with(email_admin.save_smtp, actor=w['admin'], host=t, port=t, tls=t,
                                                user=t, mail_from=t, password=t),
    'email_admin.save_smtp.valid': lambda w, t: _with(email_admin.save_smtp, actor=w['admin'], host='', port=25,
                                                      tls='none', user=t, mail_from='', password=t),
    'messages.list_messages.search': lambda w, t: _with(messages.list_messages, actor=w['contact'], sort=t, search=t),
    'messages.open_message.share_id': lambda w, t: messages.open_message(actor=w['contact'], share_id=t),
    'messages.print_message.share_id': lambda w, t: messages.print_message(actor=w['contact'], share_id=t),
    'outbox.list_emails.filters': lambda w, t: _with(outbox.list_emails, actor=w['admin'], status=t, kind=t),
    'questionnaire.save_definition.label': lambda w, t: _with(questionnaire.save_definition, actor=w['admin'],
                                                              definition=_definition(label=t, help=t)),
    'questionnaire.save_definition.key': lambda w, t: _with(questionnaire.save_definition, actor=w['admin'],
                                                            definition=_definition(key=t) | {'title': t}),
    'registration.wizard_state.token': lambda w, t: _with(registration.wizard_state, token=t),
    'registration.save_section.answers': lambda w, t: _with(
        registration.save_section, token=w['token'], section_key='person',
        answers={'first_name': t, 'last_name': t, 'date_of_birth': t, 'sex': t}),
    'registration.save_section.section_key': lambda w, t: _with(registration.save_section, token=t, section_key=t,
                                                                answers={t: t}),
    'registration.add_file.file_name': lambda w, t: _with(registration.add_file, token=w['token'], field_key=t,
                                                          data=factories.MINIMAL_PDF, file_name=t),
    'registration.submit.token': lambda w, t: _with(registration.submit, token=t, ip_address=t),
    'registration_review.search_charts.query': lambda w, t: _with(registration_review.search_charts,
                                                                  actor=w['staff'], query=t),
    'registration_review.list_registrations.status': lambda w, t: _with(registration_review.list_registrations,
                                                                        actor=w['staff'], status=t),
    'replies.create_reply.text': lambda w, t: replies.create_reply(actor=w['contact'], share_id=w['share'], text=t),
    'settings_admin.save_section.general': lambda w, t: _with(
        settings_admin.save_section, actor=w['admin'], section='general',
        values={'portal_name': t, 'base_url': t, 'time_zone': t, 'help_desk_phone': t, 'support_email': t}),
    'settings_admin.save_section.text': lambda w, t: _with(
        settings_admin.save_section, actor=w['admin'], section='branding',
        values={'logo_alt': t, 'header_text': t, 'footer_text': t, 'primary_color': t, 'footer_links': t}),
    'settings_admin.save_section.features': lambda w, t: _with(
        settings_admin.save_section, actor=w['admin'], section='features',
        values={'terms_text': t, 'document_types': [t, 'Other']}),
    'settings_admin.save_section.section': lambda w, t: _with(settings_admin.save_section, actor=w['admin'],
                                                              section=t, values={t: t}),
    'settings_admin.parse_footer_links.text': lambda w, t: settings_admin.parse_footer_links(t),
    'sharing.rescind.reason': lambda w, t: _with(sharing.rescind, actor=w['staff'], share_id=w['share'], reason=t),
    'sharing.rescind_many.reason': lambda w, t: _with(sharing.rescind_many, actor=w['staff'], share_ids=[w['share']],
                                                      reason=t),
    'sharing.change_expiry.expires_on': lambda w, t: _with(sharing.change_expiry, actor=w['staff'],
                                                           share_id=w['share'], expires_on=t),
    'sharing.share_document.expires_on': lambda w, t: _with(sharing.share_document, actor=w['staff'],
                                                            document_id=w['document'], contact_id=w['contact_id'],
                                                            expires_on=t),
    'messages.acknowledge.share_id': lambda w, t: messages.acknowledge(actor=w['contact'], share_id=t),
    'registration_review.reject.reason': lambda w, t: _with(registration_review.reject, actor=w['staff'],
                                                            registration_id=1, reason=t),
    'worklist.list_replies.show': lambda w, t: _with(worklist.list_replies, actor=w['staff'], show=t),
    'api_clients.create_client.name': lambda w, t: _with(api_clients.create_client, actor=w['admin'], name=t,
                                                         scopes=t, allowed_addresses=t, expires_on=t),
    'api_clients.create_client.allowed_addresses': lambda w, t: _with(
        api_clients.create_client, actor=w['admin'], name='EHR', scopes=['charts:write'], allowed_addresses=t),
    'api_clients.create_client.expires_on': lambda w, t: _with(
        api_clients.create_client, actor=w['admin'], name='EHR', scopes=['charts:write'], expires_on=t),
    'api_clients.authenticate.secret': lambda w, t: _with(api_clients.authenticate, secret='smp_' + t, ip_address=t),
    'api_reads.list_charts.query': lambda w, t: _with(api_reads.list_charts, actor=w['staff'], query=t),
    'api_reads.decode_cursor.cursor': lambda w, t: api_reads.decode_cursor(t),
    'api_reads.upsert_chart.external_id': lambda w, t: _with(api_reads.upsert_chart, actor=w['staff'], external_id=t,
                                                             first_name=t, last_name='Lee', date_of_birth=t),
    'api_reads.upsert_contact.email': lambda w, t: _with(api_reads.upsert_contact, actor=w['staff'], email=t,
                                                         first_name=t, last_name=t, phone=t, organization=t),
    'api_reads.send_once.key': lambda w, t: _with(api_reads.send_once, actor=w['staff'], key=t, request_hash='h',
                                                  document_ids=[w['document']], contact_ids=[w['contact_id']],
                                                  expires_on=t),
    'api_reads.list_registrations.status': lambda w, t: _with(api_reads.list_registrations, actor=w['staff'],
                                                              status=t),
    'webhooks.create_webhook.url': lambda w, t: _with(webhooks.create_webhook, actor=w['admin'], url=t,
                                                      events=['share.read', t]),
    'contacts.edit_contact.first_name': lambda w, t: _with(contacts.edit_contact, actor=w['staff'],
                                                           contact_id=w['contact_id'], first_name=t, last_name='L',
                                                           email='edited@outside.test'),
    'contacts.edit_contact.organization': lambda w, t: _with(contacts.edit_contact, actor=w['staff'],
                                                             contact_id=w['contact_id'], first_name='F',
                                                             last_name='L', email='edited@outside.test',
                                                             organization=t),
    'contacts.save_contact_notes.notes': lambda w, t: _with(contacts.save_contact_notes, actor=w['staff'],
                                                            contact_id=w['contact_id'], notes=t),
    'documents.create_documents.title': lambda w, t: _with(documents.create_documents, actor=w['staff'],
                                                           chart_id=w['chart'], service_date='2026-11-02',
                                                           doc_type='Work Status Report', title=t,
                                                           uploads=[('a.pdf', factories.MINIMAL_PDF)]),
    'staff_alerts.save_choices.modes': lambda w, t: _with(staff_alerts.save_choices, actor=w['staff'],
                                                          modes={'reply_any': t}, unread_days=3, digest_minutes=60),
    'staff_alerts.save_choices.unread_days': lambda w, t: _with(staff_alerts.save_choices, actor=w['staff'],
                                                                modes={}, unread_days=t, digest_minutes=60),
    # two-step sign-in: what is typed at the second step, at enrolment, and the cookies a browser sends
    'second_factor.verify_code.code': lambda w, t: second_factor.verify_code(
        token=_pending_token(w), code=t, ip_address='10.0.4.1'),
    'second_factor.verify_code.recovery': lambda w, t: second_factor.verify_code(
        token=_pending_token(w), code=t, ip_address='10.0.4.2', recovery=True, trust_browser=True),
    'second_factor.verify_code.token': lambda w, t: second_factor.verify_code(token=t, code=t, ip_address=t),
    'second_factor.use_trusted_browser.trust_token': lambda w, t: second_factor.use_trusted_browser(
        token=_pending_token(w), trust_token=t, ip_address=t),
    'second_factor.pending.token': lambda w, t: _with(second_factor.pending, token=t, ip_address=t),
    'second_factor.complete_second_step.token': lambda w, t: second_factor.complete_second_step(
        t, method=t, ip_address=t),
    'second_factor.begin_enrolment.token': lambda w, t: _with(second_factor.begin_enrolment, token=t),
    'second_factor.finish_passkey_enrolment.token': lambda w, t: _with(second_factor.finish_passkey_enrolment,
                                                                       token=t, ip_address=t),
    'second_factor.finish_enrolment.code': lambda w, t: _with(second_factor.finish_enrolment, token=t, code=t,
                                                              ip_address=t),
    'second_factor.confirm_totp.code': lambda w, t: (_with(second_factor.start_totp, actor=w['staff']),
                                                     _with(second_factor.confirm_totp, actor=w['staff'], code=t)),
    'passkeys.begin_registration.name': lambda w, t: _with(passkeys.begin_registration, actor=w['contact'], name=t,
                                                           binding='tab', session_token=_passkey_session(w)),
    'passkeys.begin_registration.binding': lambda w, t: _with(passkeys.begin_registration, actor=w['contact'],
                                                              name='Key', binding=t, session_token=t),
    'passkeys.rename_passkey.name': lambda w, t: _with(passkeys.rename_passkey, actor=w['contact'],
                                                       passkey_id=_passkey(w), name=t),
    'passkeys.begin_authentication.binding': lambda w, t: _with(passkeys.begin_authentication, binding=t),
    'passkeys.options_for.binding': lambda w, t: _with(passkeys.options_for, binding=t, session_token=t),
    'passkeys.verify_response.binding': lambda w, t: passkeys.verify_response(binding=t, session_token=t,
                                                                              credential=t, ip_address=t),
    'passkeys.verify_response.credential': lambda w, t: _passkey_ceremony_answer({'id': t, 'response': t}, t),
    'passkeys.complete_sign_in.binding': lambda w, t: passkeys.complete_sign_in(binding=t, ip_address=t),
    'passkeys.complete_second_step.binding': lambda w, t: passkeys.complete_second_step(binding=t, account_id=1),
}


def _pending_token(w: W) -> str:
    """A pending session (the second step is due) of an account with an authenticator app, one per test; wrong
    codes do not lock it within the examples."""
    if 'pending_token' in w:
        return w['pending_token']
    email = f'two{_unique()}@clinic.test'
    db.run(portal_settings.save_settings, changes={'signin_max_failures': 100}, account_id=None)
    portal_settings.invalidate_cache()

    def make(session):
        from models import TotpFactor
        from services import secretbox
        account = factories.account(session, role='staff', email=email)
        session.add(TotpFactor(account_id=account.id, secret_sealed=secretbox.encrypt('JBSWY3DPEHPK3PXP'),
                               confirmed=True))
    db.run(make)
    w['pending_token'] = auth.sign_in(username=email, password=factories.PASSWORD, ip_address=None).token
    return w['pending_token']

# text parameters of services that only ever get what the program made (never what a person typed)
INTERNAL = {
    # operations (issue 20): setting names, route templates, job ids and log formats come from the program
    'config.env_name', 'config.shown_value', 'metrics.page_build', 'metrics.job_ran', 'health.scheduler_started',
    'logging_setup.configure', 'logging_setup.configuration_changed',
    'access_log.record_denied', 'activation.format_code', 'activation.normalize_code', 'activation.code_hash',
    'activation.use_code', 'activation.find_usable', 'audit.record', 'auth.token_hash', 'auth.normalize_username',
    'auth.create_account', 'auth.set_password', 'auth.account_actor', 'auth.create_session', 'branding.check_logo',
    'branding.sanitize_svg', 'config.persistent_secret', 'contacts.get_contacts', 'db.make_engine', 'db.init',
    'db.alembic_config', 'db.migrate', 'db.prepared', 'db.rows', 'demo.demo_pdf', 'email_admin.sample_context',
    'email_templates.default_source', 'email_templates.current_source', 'email_templates.render',
    'email_templates.render_source', 'email_templates.check_source', 'files.detect_type', 'files.check_upload',
    'files.safe_file_name', 'files.store', 'files.store_verified', 'idempotency.claim', 'idempotency.run_once',
    'idempotency.was_used', 'logsafe.redact', 'mailer.send', 'messages.authorized_share', 'messages.audited',
    'messages.message_file', 'messages.reply_attachment_file', 'outbox.placeholder', 'outbox.enqueue',
    'outbox.rerender', 'outbox.claim_due', 'outbox.deliver', 'outbox.emails_page', 'outbox.renew', 'outbox.release',
    'outbox.process_outbox', 'mailer.classify', 'passwords.hash_password',
    'passwords.verify_password', 'passwords.password_problem', 'passwords.check_new_password',
    'passwords.accept_new_password', 'passwords.strength', 'questionnaire.check_definition',
    'questionnaire.key_from_label', 'questionnaire.section', 'questionnaire.check_section',
    'questionnaire.check_answer', 'questionnaire.display', 'registration.token_hash', 'registration.remove_file',
    'replies.check_text', 'sanitize.clean_html', 'sanitize.clean_document', 'messages.needs_acknowledgement',
    'second_factor.last_factor_refusal', 'scheduler.register', 'secretbox.encrypt', 'secretbox.decrypt',
    'settings.save_settings', 'settings.get_value', 'settings.set_value', 'settings_admin.clean_values',
    'settings_admin.bounds', 'settings_admin.is_color', 'settings_admin.footer_links_text', 'sharing.send_documents',
    'throttle.storable_key', 'throttle.address_key', 'throttle.locked_until', 'throttle.register_failure',
    'throttle.reset', 'validate.storable', 'validate.plausible_username', 'validate.email', 'validate.phone',
    'validate.text', 'validate.username', 'verification.code_hash', 'verification.issue',
    'verification.verified_recently', 'audit.content_hash', 'audit.anchor_mac', 'audit_verify.verify',
    'charts.search_condition', 'cookie_tickets.issue', 'cookie_tickets.redeem',
    'contacts.excerpt', 'worklist.excerpt', 'documents.markdown_html',
    'sharing.expiry_moment',  # reached through share_document and change_expiry above
    'api_clients.secret_hash', 'api_clients.check_scopes', 'api_clients.check_addresses',
    'api_clients.address_allowed', 'api_clients.client_actor', 'api_clients.record_call', 'webhooks.check_url',
    'webhooks.check_events', 'webhooks.sign',  # reached through create_client / authenticate / create_webhook
    'webhooks.check_destination', 'webhooks.resolve', 'webhooks.address_class',  # (after check_url's length check)
    'api_clients.count_call',  # keys the API builds from a client id or an address (throttle.storable_key)
    'passwords.hashing', 'passwords.is_hashing',  # take a service function, not text
    'passkeys.relying_party', 'passkeys.binding_hash',  # the settings; the page's connection id
    # called only with a checked #rrggbb colour (save_section's colour check, and the page before it)
    'settings_admin.contrast_ratio', 'settings_admin.color_contrast_problem',
    'second_factor.offered',  # a role from the account row
}
# checked through another entry above (the parameter is typed into it)
COVERED_ELSEWHERE = {
    'auth.complete_setup': 'auth.complete_setup.token', 'activation.check_code': 'activation.check_code.code',
    'contact_accounts.sign_in_and_link': 'contact_accounts.sign_in_and_link.username',
    'email_admin.preview': 'email_admin.preview.kind', 'email_admin.save_template': 'email_admin.save_template.text',
    'email_admin.save_smtp': 'email_admin.save_smtp', 'audit_query.account_activity_report': 'audit_query',
    'registration.save_section': 'registration.save_section.answers', 'outbox.list_emails': 'outbox',
    'settings_admin.save_section': 'settings_admin', 'settings_admin.parse_footer_links': 'settings_admin',
    'replies.create_reply': 'replies', 'messages.list_messages': 'messages', 'messages.open_message': 'messages',
    'sharing.rescind': 'sharing', 'worklist.list_replies': 'worklist', 'verification.confirm': 'verification',
    'questionnaire.save_definition': 'questionnaire', 'registration_review.reject': 'registration_review',
    'email_admin.live_preview': 'email_admin.preview.kind', 'audit_query.find_charts': 'audit_query',
    'audit_query.find_documents': 'audit_query',
    'messages.main_screen': 'messages.list_messages.search',  # hands its search to list_messages
    'second_factor.normalize_recovery': 'second_factor.verify_code.recovery',
}


@pytest.fixture
def world(database) -> W:
    return _world()


@pytest.mark.parametrize('case', CASES)
def test_any_text_is_accepted_or_refused_clearly(world: W, case: str) -> None:
    call = CASES[case]

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(text=TEXT)
    def check(text: str) -> None:
        try:
            call(world, text)
        except PortalError:
            pass  # a clear answer; nothing half-written (each call is one transaction)

    check()
    # the database is still usable and every refused sign-in was recorded
    assert db.run(lambda session: session.exec(select(AuditEvent.id)).first()) is not None


def test_an_over_long_username_at_sign_in_is_counted_and_audited(database) -> None:
    """The crash of the issue: 129+ characters raised StringDataRightTruncation on PostgreSQL, unrecorded."""
    db.run(lambda session: factories.account(session, role='staff', email='nurse@clinic.test'))
    long_name = 'a' * 200 + '@clinic.test'
    for _ in range(5):
        assert auth.sign_in(username=long_name, password='wrong password', ip_address='10.0.0.5') is None
    assert auth.sign_in(username=long_name, password='wrong password', ip_address='10.0.0.5') is None

    def read(session):
        failed = session.exec(select(AuditEvent).where(AuditEvent.action == 'sign_in_failed')).all()
        rows = session.exec(select(Throttle).where(Throttle.scope == 'sign_in')).all()
        return failed, rows
    failed, rows = db.run(read)
    assert len(failed) == 6 and failed[0].actor.startswith('a' * 200) and len(failed[0].actor) <= 254
    assert len(rows) == 1 and rows[0].key.startswith('sha256:') and rows[0].locked_until is not None
    assert sum('"locked"' in e.detail_json for e in failed) == 1  # the sixth try met the lock
    # and the real account is not affected
    assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address='10.0.0.6')


@pytest.mark.parametrize('value', ['x' * 101, 'a\x00b', '\ud800'])
def test_a_field_the_service_forgot_is_refused_before_the_database(database, value: str) -> None:
    """The net under the services: any row with an over-long or unstorable text is refused alike on both."""
    from models import Contact
    from services.errors import InvalidInput
    with pytest.raises(InvalidInput, match='First name (can have at most 100 characters|contains a character)'):
        with db.transaction() as session:
            session.add(Contact(first_name=value, last_name='B', email='b@outside.test'))
    # a search for it: an over-long text simply finds nothing; unstorable text is refused before the query
    with pytest.raises(InvalidInput) if value != 'x' * 101 else contextlib.nullcontext():
        with db.transaction() as session:
            assert session.exec(select(Contact).where(Contact.first_name == value)).all() == []


def test_every_text_input_of_the_services_is_covered() -> None:
    """A service function with a text parameter is either exercised above or only ever gets program-made text."""
    missing = []
    for path in sorted((ROOT / 'services').glob('*.py')):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith('_'):
                continue
            params = node.args.args + node.args.kwonlyargs
            if not any(p.annotation is not None and any(word in ast.unparse(p.annotation)
                                                        for word in ('str', 'Any', 'NewAccount', 'dict'))
                       for p in params):
                continue
            name = f'{path.stem}.{node.name}'
            if name in INTERNAL or name in COVERED_ELSEWHERE or any(case.startswith(name + '.') for case in CASES):
                continue
            missing.append(name)
    assert missing == []
