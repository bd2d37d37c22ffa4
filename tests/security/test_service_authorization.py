"""Issue 12 item 10: services check the actor's role themselves; a page that forgets its guard still gets nothing.

Every service that reads or changes admin or staff data is called here with a contact's and (for admin
services) a staff member's actor, and must answer Forbidden (or NotAvailable) and change nothing.
"""
from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from models import AuditEvent, Registration, RegistrationFile, Reply, ReplyAttachment, Setting
from models.shapes import Actor
from services import (accounts_admin, api_clients, api_reads, audit_query, branding, charts, contact_accounts, contacts, db, documents,
                      email_admin, messages, outbox, passkeys, questionnaire, registration_review, second_factor, settings_admin,
                      sharing, staff_alerts, webhooks, worklist)
from services.errors import Forbidden, NotAvailable
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
Call = Callable[[Any, Actor, dict[str, int]], Any]

ADMIN_ONLY: dict[str, Call] = {
    'second_factor.admin_reset': lambda s, a, w: second_factor.admin_reset(s, actor=a, account_id=w['staff']),
    'second_factor.admin_force': lambda s, a, w: second_factor.admin_force(s, actor=a, account_id=w['staff'],
                                                                           forced=True),
    'api_clients.create_client': lambda s, a, w: api_clients.create_client(s, actor=a, name='X', scopes=['charts:write']),
    'api_clients.rotate_secret': lambda s, a, w: api_clients.rotate_secret(s, actor=a, client_id=1),
    'api_clients.revoke_client': lambda s, a, w: api_clients.revoke_client(s, actor=a, client_id=1),
    'api_clients.list_clients': lambda s, a, w: api_clients.list_clients(s, actor=a),
    'webhooks.create_webhook': lambda s, a, w: webhooks.create_webhook(s, actor=a, url='https://evil.test/',
                                                                       events=['reply.received']),
    'webhooks.set_active': lambda s, a, w: webhooks.set_active(s, actor=a, webhook_id=1, active=False),
    'webhooks.list_webhooks': lambda s, a, w: webhooks.list_webhooks(s, actor=a),
    'webhooks.list_deliveries': lambda s, a, w: webhooks.list_deliveries(s, actor=a),
    'settings_admin.save_section': lambda s, a, w: settings_admin.save_section(
        s, section='general', values={'portal_name': 'Taken over'}, actor=a),
    'accounts_admin.list_accounts': lambda s, a, w: accounts_admin.list_accounts(s, actor=a, kind='staff'),
    'accounts_admin.account_detail': lambda s, a, w: accounts_admin.account_detail(s, actor=a, account_id=w['staff']),
    'accounts_admin.create_staff_account': lambda s, a, w: accounts_admin.create_staff_account(
        s, actor=a, email='mallory@clinic.test', display_name='M', role='admin'),
    'accounts_admin.reset_password': lambda s, a, w: accounts_admin.reset_password(s, actor=a, account_id=w['admin']),
    'accounts_admin.set_active': lambda s, a, w: accounts_admin.set_active(s, actor=a, account_id=w['admin'],
                                                                          active=False),
    'accounts_admin.change_role': lambda s, a, w: accounts_admin.change_role(s, actor=a, account_id=w['staff'],
                                                                            role='admin'),
    'accounts_admin.unlock': lambda s, a, w: accounts_admin.unlock(s, actor=a, account_id=w['staff']),
    'accounts_admin.end_sessions': lambda s, a, w: accounts_admin.end_sessions(s, actor=a, account_id=w['admin']),
    'audit_query.list_events': lambda s, a, w: audit_query.list_events(s, actor=a, filters=audit_query.AuditFilter()),
    'audit_query.export_csv': lambda s, a, w: audit_query.export_csv(s, actor=a, filters=audit_query.AuditFilter()),
    'audit_query.actions': lambda s, a, w: audit_query.actions(s, actor=a),
    'audit_query.chart_access_report': lambda s, a, w: audit_query.chart_access_report(s, actor=a,
                                                                                      chart_id=w['chart']),
    'audit_query.account_activity_report': lambda s, a, w: audit_query.account_activity_report(
        s, actor=a, account='boss@clinic.test'),
    'branding.save_logo': lambda s, a, w: branding.save_logo(s, data=factories.MINIMAL_PNG, file_name='x.png',
                                                             actor=a),
    'branding.remove_logo': lambda s, a, w: branding.remove_logo(s, actor=a),
    'email_admin.template_view': lambda s, a, w: email_admin.template_view(s, actor=a, kind='invitation'),
    'email_admin.preview': lambda s, a, w: email_admin.preview(s, actor=a, kind='test_email', subject='x',
                                                               html='<p>x</p>', text='x'),
    'email_admin.save_template': lambda s, a, w: email_admin.save_template(
        s, actor=a, kind='test_email', subject='Click here', html='<p>x</p>', text='x'),
    'email_admin.reset_template': lambda s, a, w: email_admin.reset_template(s, actor=a, kind='test_email'),
    'email_admin.send_test_email': lambda s, a, w: email_admin.send_test_email(to='mallory@evil.test', actor=a),
    'email_admin.smtp_view': lambda s, a, w: email_admin.smtp_view(s, actor=a),
    'email_admin.save_smtp': lambda s, a, w: email_admin.save_smtp(
        s, actor=a, host='smtp.evil.test', port=25, tls='none', user='', mail_from='', password=None),
    'email_admin.retry_email': lambda s, a, w: email_admin.retry_email(s, actor=a, email_id=w['email']),
    'email_admin.cancel_email': lambda s, a, w: email_admin.cancel_email(s, actor=a, email_id=w['email']),
    'questionnaire.save_definition': lambda s, a, w: questionnaire.save_definition(
        s, actor=a, definition=questionnaire.default_definition() | {'title': 'Taken over'}),
    'questionnaire.reset_definition': lambda s, a, w: questionnaire.reset_definition(s, actor=a),
    'outbox.list_emails': lambda s, a, w: outbox.list_emails(s, actor=a),
    'outbox.get_email': lambda s, a, w: outbox.get_email(s, actor=a, email_id=w['email']),
    'outbox.retry_all_failed': lambda s, a, w: outbox.retry_all_failed(s, actor=a),
    'outbox.pause_banner': lambda s, a, w: outbox.pause_banner(s, actor=a),
    'passkeys.remove_all': lambda s, a, w: passkeys.remove_all(s, actor=a, account_id=w['admin']),
}

STAFF_ONLY: dict[str, Call] = {
    'api_reads.list_charts': lambda s, a, w: api_reads.list_charts(s, actor=a),
    'api_reads.upsert_chart': lambda s, a, w: api_reads.upsert_chart(s, actor=a, external_id='M1', first_name='A',
                                                                     last_name='B'),
    'api_reads.upsert_contact': lambda s, a, w: api_reads.upsert_contact(s, actor=a, email='m@evil.test',
                                                                         first_name='A', last_name='B'),
    'api_reads.list_shares': lambda s, a, w: api_reads.list_shares(s, actor=a),
    'api_reads.get_share': lambda s, a, w: api_reads.get_share(s, actor=a, share_id=w['share']),
    'api_reads.send_once': lambda s, a, w: api_reads.send_once(s, actor=a, key='k', request_hash='h',
                                                               document_ids=[w['document']], contact_ids=[w['contact']]),
    'api_reads.list_replies': lambda s, a, w: api_reads.list_replies(s, actor=a),
    'api_reads.reply_attachment': lambda s, a, w: api_reads.reply_attachment(s, actor=a, reply_id=w['reply'],
                                                                             attachment_id=w['attachment']),
    'api_reads.attachment_hashes': lambda s, a, w: api_reads.attachment_hashes(s, actor=a, reply_id=w['reply']),
    'api_reads.list_registrations': lambda s, a, w: api_reads.list_registrations(s, actor=a),
    'charts.search_charts': lambda s, a, w: charts.search_charts(s, actor=a, query=''),
    'charts.get_chart': lambda s, a, w: charts.get_chart(s, actor=a, chart_id=w['chart']),
    'charts.save_chart': lambda s, a, w: charts.save_chart(s, actor=a, first_name='A', last_name='B'),
    'charts.list_documents': lambda s, a, w: charts.list_documents(s, actor=a, chart_id=w['chart']),
    'documents.create_document': lambda s, a, w: documents.create_document(
        s, actor=a, chart_id=w['chart'], service_date=date(2026, 1, 2), doc_type='Physician Note', title='x',
        body='x'),
    'documents.get_document': lambda s, a, w: documents.get_document(s, actor=a, document_id=w['document']),
    'documents.document_file': lambda s, a, w: documents.document_file(s, actor=a, document_id=w['document']),
    'contacts.search_contacts': lambda s, a, w: contacts.search_contacts(s, actor=a, query=''),
    'contacts.add_contact': lambda s, a, w: contacts.add_contact(s, actor=a, first_name='A', last_name='B',
                                                                 email='ab@outside.test'),
    'contacts.get_contacts': lambda s, a, w: contacts.get_contacts(s, actor=a, contact_ids=[w['contact']]),
    'contacts.contact_chart': lambda s, a, w: contacts.contact_chart(s, actor=a, contact_id=w['contact']),
    'contacts.received_documents': lambda s, a, w: contacts.received_documents(s, actor=a,
                                                                               contact_id=w['contact']),
    'contacts.contact_emails': lambda s, a, w: contacts.contact_emails(s, actor=a, contact_id=w['contact']),
    'contacts.send_new_code': lambda s, a, w: contacts.send_new_code(s, actor=a, contact_id=w['contact']),
    'sharing.share_document': lambda s, a, w: sharing.share_document(s, actor=a, document_id=w['document'],
                                                                     contact_id=w['contact']),
    'sharing.send_documents': lambda s, a, w: sharing.send_documents(s, actor=a, document_ids=[w['document']],
                                                                     contact_ids=[w['contact']]),
    'sharing.rescind': lambda s, a, w: sharing.rescind(s, actor=a, share_id=w['share'], reason='mine now'),
    'sharing.send_history': lambda s, a, w: sharing.send_history(s, actor=a, document_id=w['document']),
    'sharing.rescind_many': lambda s, a, w: sharing.rescind_many(s, actor=a, share_ids=[w['share']], reason='mine'),
    'sharing.change_expiry': lambda s, a, w: sharing.change_expiry(s, actor=a, share_id=w['share'], expires_on=None),
    'sharing.unread_sent_by': lambda s, a, w: sharing.unread_sent_by(s, actor=a, days=0),
    'worklist.unworked_count': lambda s, a, w: worklist.unworked_count(s, actor=a),
    'worklist.list_replies': lambda s, a, w: worklist.list_replies(s, actor=a),
    'worklist.get_reply': lambda s, a, w: worklist.get_reply(s, actor=a, reply_id=w['reply']),
    'worklist.move_reply': lambda s, a, w: worklist.move_reply(s, actor=a, reply_id=w['reply']),
    'worklist.mark_worked': lambda s, a, w: worklist.mark_worked(s, actor=a, reply_id=w['reply'], worked=True),
    'worklist.mark_many_worked': lambda s, a, w: worklist.mark_many_worked(s, actor=a, reply_ids=[w['reply']]),
    'worklist.assign_many': lambda s, a, w: worklist.assign_many(s, actor=a, reply_ids=[w['reply']],
                                                                 account_id=w['staff']),
    'worklist.assign': lambda s, a, w: worklist.assign(s, actor=a, reply_id=w['reply'], account_id=w['staff']),
    'worklist.staff_members': lambda s, a, w: worklist.staff_members(s, actor=a),
    'worklist.attachment_file': lambda s, a, w: worklist.attachment_file(s, actor=a, attachment_id=w['attachment']),
    'contacts.edit_contact': lambda s, a, w: contacts.edit_contact(s, actor=a, contact_id=w['contact'], first_name='X',
                                                                   last_name='Y', email='taken@outside.test'),
    'contacts.contact_notes': lambda s, a, w: contacts.contact_notes(s, actor=a, contact_id=w['contact']),
    'contacts.save_contact_notes': lambda s, a, w: contacts.save_contact_notes(s, actor=a, contact_id=w['contact'],
                                                                               notes='mine'),
    'contacts.contact_replies': lambda s, a, w: contacts.contact_replies(s, actor=a, contact_id=w['contact']),
    'documents.print_view': lambda s, a, w: documents.print_view(s, actor=a, document_id=w['document']),
    'documents.create_documents': lambda s, a, w: documents.create_documents(
        s, actor=a, chart_id=w['chart'], service_date='2026-11-02', doc_type='Work Status Report', title='T',
        uploads=[('a.pdf', b'%PDF-1.4')]),
    'staff_alerts.get_choices': lambda s, a, w: staff_alerts.get_choices(s, actor=a),
    'staff_alerts.save_choices': lambda s, a, w: staff_alerts.save_choices(s, actor=a, modes={'reply_any': 'off'},
                                                                           unread_days=3, digest_minutes=60),
    'staff_alerts.waiting_counts': lambda s, a, w: staff_alerts.waiting_counts(s, actor=a),
    'registration_review.list_registrations': lambda s, a, w: registration_review.list_registrations(s, actor=a),
    'registration_review.get_registration': lambda s, a, w: registration_review.get_registration(
        s, actor=a, registration_id=w['registration']),
    'registration_review.read_file': lambda s, a, w: registration_review.read_file(
        s, actor=a, registration_file_id=w['registration_file']),
    'registration_review.search_charts': lambda s, a, w: registration_review.search_charts(s, actor=a, query='Pat'),
    'registration_review.accept': lambda s, a, w: registration_review.accept(s, actor=a,
                                                                            registration_id=w['registration']),
    'registration_review.merge': lambda s, a, w: registration_review.merge(
        s, actor=a, registration_id=w['registration'], chart_id=w['chart']),
    'registration_review.reject': lambda s, a, w: registration_review.reject(
        s, actor=a, registration_id=w['registration'], reason='no'),
}

SIGNED_IN_ONLY: dict[str, Call] = {
    'contact_accounts.preferences': lambda s, a, w: contact_accounts.preferences(s, actor=a),
    'contact_accounts.set_notify_mode': lambda s, a, w: contact_accounts.set_notify_mode(s, actor=a, mode='daily'),
    'contact_accounts.accept_terms': lambda s, a, w: contact_accounts.accept_terms(s, actor=a),
    'second_factor.status': lambda s, a, w: second_factor.status(s, actor=a),
    'second_factor.start_totp': lambda s, a, w: second_factor.start_totp(s, actor=a),
    'second_factor.confirm_totp': lambda s, a, w: second_factor.confirm_totp(s, actor=a, code='123456'),
    'second_factor.remove_totp': lambda s, a, w: second_factor.remove_totp(s, actor=a),
    'second_factor.regenerate_recovery_codes': lambda s, a, w: second_factor.regenerate_recovery_codes(s, actor=a),
    'passkeys.list_passkeys': lambda s, a, w: passkeys.list_passkeys(s, actor=a),
    'passkeys.rename_passkey': lambda s, a, w: passkeys.rename_passkey(s, actor=a, passkey_id=1, name='Mine'),
    'passkeys.may_remove_passkey': lambda s, a, w: passkeys.may_remove_passkey(s, actor=a, passkey_id=1),
    'passkeys.remove_passkey': lambda s, a, w: passkeys.remove_passkey(s, actor=a, passkey_id=1),
    'passkeys.begin_registration': lambda s, a, w: passkeys.begin_registration(s, actor=a, name='Mine', binding='t',
                                                                               session_token='t'),
}

# public service functions that take a session but no actor, and why that is right
NO_ACTOR = {
    'access_log.record_denied': 'records a refusal the caller observed',
    'api_clients.authenticate': 'the bearer secret is the credential (it builds the actor)',
    'api_clients.count_call': 'rate count of API calls, before and without an actor (also unknown secrets)',
    'api_clients.forget_call_counts': 'rate counts only (tests; no data of anyone)',
    'webhooks.collect_events': 'scheduler job (ids of audited events only)',
    'accounts_admin.send_password_reset': 'internal step of the admin services, given an account row they checked',
    'activation.issue_code': 'internal step of sharing/contacts, given a contact row they checked',
    'activation.find_usable': 'the code is the credential', 'activation.mark_used': 'the code is the credential',
    'db.rows': 'runs a statement the calling service built and checked (its prepared reads)',
    'audit.record': 'writes the audit log for the caller', 'audit.verify_chain': 'command line (check-audit)',
    'audit.lock_chain': 'internal step of appending', 'audit.head': 'internal step of appending and anchoring',
    'audit.document_refs': 'internal step of the services that audit a document',
    'audit_anchor.recorded_anchors': 'command line (check-audit)', 'audit_anchor.after_append': 'internal',
    'audit_verify.verify': 'command line (check-audit)',
    'auth.create_account': 'internal step of setup, activation and admin services',
    'auth.set_password': 'internal step of the password services', 'auth.account_actor': 'builds the actor itself',
    'auth.create_session': 'internal step of sign-in', 'auth.end_all_sessions': 'internal step of admin services',
    'auth.setup_needed': 'public fact (is there an admin yet)', 'auth.issue_setup_token': 'command line / start-up',
    'auth.setup_token_valid': 'the token is the credential',
    'auth.resolve_session': 'the session token is the credential (joins the page open\'s transaction)',
    'branding.current_logo': 'public: the sign-in page shows it',
    'contact_accounts.terms_pending': 'about the caller\'s own account id', 'contact_accounts.terms_text': 'public text',
    'documents.document_types': 'the configured type names (no data)',
    'email_admin.sample_context': 'documented sample values (no data)',
    'email_templates.current_source': 'internal step of rendering', 'email_templates.common_context': 'public values',
    'email_templates.render': 'internal step of the outbox',
    'files.store': 'internal step of upload services', 'files.store_verified': 'internal step of upload services',
    'idempotency.claim': 'internal step of actions', 'idempotency.run_once': 'internal step of actions',
    'idempotency.was_used': 'internal step of actions', 'idempotency.forget_old': 'scheduler job',
    'messages.mark_read': 'internal step of open_message (checked)',
    'notifications.notify_new_share': 'internal step of sharing', 'notifications.wants_daily_digest': 'internal',
    'outbox.enqueue': 'internal step of the services that send email', 'outbox.rerender': 'internal',
    'outbox.retry_now': 'internal step of email_admin.retry_email (checked)',
    'outbox.cancel': 'internal step of email_admin.cancel_email (checked)',
    'outbox.pause_in': 'internal step of pause (no actor: the scheduler and /readyz) and pause_banner (checked)',
    'outbox.emails_page': 'internal step of list_emails and contacts.contact_emails (both checked)',
    'questionnaire.current_definition': 'public: every registering contact is asked it',
    'questionnaire.is_default': 'public fact',
    'registration.wizard_state': 'the wizard token is the credential', 'registration.save_section': 'token',
    'registration.add_file': 'token', 'registration.remove_file': 'token', 'registration.submit': 'token',
    'registration.purge_expired': 'scheduler job',
    'sharing.expiry_moment': 'checks a date against the settings (no data)',
    'sharing.receipts': 'internal step of send_history and contacts.received_documents (both checked)',
    'settings.get_settings': 'public settings', 'settings.save_settings': 'internal step of the admin services',
    'settings.get_value': 'internal', 'settings.set_value': 'internal',
    'verification.issue': 'internal step of the code services', 'verification.verified_recently': 'internal',
    'passkeys.count_for': 'about an account the caller resolved (the second-factor check)',
    'passkeys.begin_authentication': 'a sign-in has no actor yet; only a passkey of the account completes it',
    'passkeys.options_for': 'the browser tab\'s ceremony (and for an enrolment the session token) is the credential',
    'throttle.locked_until': 'internal', 'throttle.register_failure': 'internal', 'throttle.reset': 'internal',
    'second_factor.enrolled_factors': 'about the account id the caller resolved (sign-in, its own session)',
    'second_factor.usable_factors': 'internal step of sign-in and the checked services',
    'second_factor.second_step_due': 'internal step of sign-in (after the right password)',
    'second_factor.pending': 'the session token is the credential',
    'second_factor.complete_second_step': 'the pending session token is the credential (its factor was checked)',
    'second_factor.begin_enrolment': 'the pending session token is the credential',
    'second_factor.finish_enrolment': 'the pending session token and the first code are the credentials',
    'second_factor.finish_passkey_enrolment': 'the pending session token is the credential (services/passkeys '
                                              'verified the new passkey)',
    'second_factor.last_factor_refusal': 'a rule read by the services that remove a factor (they check the actor)',
    'second_factor.forget_trusted_browsers': 'internal step of ending every session and of the admin reset',
    'second_factor.recovery_codes_left': 'internal step of the checked services',
    'second_factor.enrolled_accounts': 'internal step of accounts_admin.list_accounts (checked)',
}


@pytest.fixture
def world(database) -> dict[str, Any]:
    def make(session):
        admin = factories.account(session, role='admin', email='boss@clinic.test')
        staff = factories.account(session, role='staff')
        contact = factories.contact(session)
        contact_account = factories.contact_account(session, contact)
        result = factories.share(session, contact_row=contact, sender=staff)
        chart = factories.chart(session)
        document = factories.document(session, chart_row=chart)
        stored = factories.share(session, contact_row=contact, sender=staff)  # a second share for the reply
        reply = Reply(share_id=stored.share_id, account_id=contact_account.id, author_name='C', body='hello')
        session.add(reply)
        session.flush()
        from services import files
        png = files.store(session, factories.MINIMAL_PNG, 'a.png', max_bytes=10_000, allowed=('png',))
        attachment = ReplyAttachment(reply_id=reply.id, file_id=png.id, file_name='a.png')
        registration = Registration(reference='R-1', contact_id=contact.id, chart_id=factories.chart(session).id)
        session.add_all([attachment, registration])
        session.flush()
        registration_file = RegistrationFile(registration_id=registration.id, field_key='documents', file_id=png.id,
                                             file_name='a.png')
        session.add(registration_file)
        session.flush()
        session.get(type(chart), registration.chart_id).status = 'pending_review'
        email = session.exec(sa.text('SELECT id FROM outbox_email ORDER BY id')).scalars().first()
        return {'admin': admin.id, 'staff': staff.id, 'contact': contact.id, 'chart': chart.id,
                'document': document.id, 'share': result.share_id, 'reply': reply.id, 'attachment': attachment.id,
                'registration': registration.id, 'registration_file': registration_file.id, 'email': email,
                'actors': {'admin': factories.actor_for(session, admin), 'staff': factories.actor_for(session, staff),
                           'contact': factories.actor_for(session, contact_account)}}
    return db.run(make)


def _state() -> tuple:
    """What a refused call must not change: the audit log, the settings, the accounts, the outbox."""
    def read(session):
        return (session.exec(select(sa.func.count()).select_from(AuditEvent)).one(),
                tuple(session.exec(select(Setting.key, Setting.value_json).order_by(Setting.key)).all()),
                tuple(session.exec(sa.text('SELECT id, role, is_active FROM account ORDER BY id')).all()),
                tuple(session.exec(sa.text('SELECT id, status FROM outbox_email ORDER BY id')).all()))
    return db.run(read)


OWN_TRANSACTIONS = {'email_admin.send_test_email'}  # services that open their own transactions


def _refused(name: str, call: Call, actor: Actor, world: dict[str, Any]) -> None:
    before = _state()
    with pytest.raises((Forbidden, NotAvailable)):
        if name in OWN_TRANSACTIONS:
            call(None, actor, world)
        else:
            with db.transaction() as session:
                call(session, actor, world)
    assert _state() == before


@pytest.mark.parametrize('name', ADMIN_ONLY)
@pytest.mark.parametrize('role', ['contact', 'staff', 'anonymous'])
def test_admin_services_refuse_everyone_else(world, name: str, role: str) -> None:
    actor = world['actors'].get(role, Actor(ip_address='10.0.0.1'))
    _refused(name, ADMIN_ONLY[name], actor, world)


@pytest.mark.parametrize('name', STAFF_ONLY)
@pytest.mark.parametrize('role', ['contact', 'anonymous'])
def test_staff_services_refuse_contacts(world, name: str, role: str) -> None:
    actor = world['actors'].get(role, Actor(ip_address='10.0.0.1'))
    _refused(name, STAFF_ONLY[name], actor, world)


@pytest.mark.parametrize('name', SIGNED_IN_ONLY)
def test_own_account_services_refuse_the_signed_out(world, name: str) -> None:
    _refused(name, SIGNED_IN_ONLY[name], Actor(ip_address='10.0.0.1'), world)


def test_the_admin_services_work_for_an_admin(world) -> None:
    """The refusals above are about the role: the same calls go through for an admin (read-only ones here)."""
    admin = world['actors']['admin']
    with db.transaction() as session:
        for name in ('accounts_admin.list_accounts', 'audit_query.list_events', 'email_admin.template_view',
                     'email_admin.smtp_view', 'outbox.list_emails', 'outbox.get_email'):
            ADMIN_ONLY[name](session, admin, world)
        for name in ('charts.search_charts', 'worklist.unworked_count', 'contacts.contact_emails'):
            STAFF_ONLY[name](session, world['actors']['staff'], world)


def test_replies_of_a_share_are_for_its_contact_and_staff(world) -> None:
    stranger = Actor(account_id=999, username='x@outside.test', role='contact', contact_ids=(424242,))
    with db.transaction() as session:
        share_id = session.get(Reply, world['reply']).share_id
        with pytest.raises(NotAvailable):
            messages.list_replies(session, actor=stranger, share_id=share_id)
        assert messages.list_replies(session, actor=world['actors']['contact'], share_id=share_id).replies
        assert messages.list_replies(session, actor=world['actors']['staff'], share_id=share_id).replies


def test_every_service_with_a_session_takes_the_actor_or_says_why_not() -> None:
    """A new service that reads or changes data without an actor fails here until it checks one (or is listed)."""
    missing = []
    for path in sorted((ROOT / 'services').glob('*.py')):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith('_'):
                continue
            names = [a.arg for a in node.args.args + node.args.kwonlyargs]
            if 'session' in names and 'actor' not in names and f'{path.stem}.{node.name}' not in NO_ACTOR:
                missing.append(f'{path.stem}.{node.name}')
    assert missing == []


def test_the_checked_services_take_the_actor_as_a_required_keyword() -> None:
    import importlib
    for name in [*ADMIN_ONLY, *STAFF_ONLY, *SIGNED_IN_ONLY]:
        module, function = name.split('.')
        parameter = inspect.signature(getattr(importlib.import_module(f'services.{module}'), function)).parameters['actor']
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameter.default is inspect.Parameter.empty, name
