"""Issue 17, services on SQLite and PostgreSQL: per-share options, expiry (job, notice, extend), acknowledgement,
receipts for staff (email state, views, downloads), withdraw many, 'sent by me, unread after N days'."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from models import Account, AuditEvent, Document, OutboxEmail, Share
from services import auth, contacts, db, idempotency, jobs, messages, notifications, outbox, scheduler, sharing
from services.errors import InvalidInput, NotAvailable
from tests import factories, portal_data


def _actor(account_id: int):
    with db.transaction() as session:
        return auth.account_actor(session, session.get(Account, account_id))


def _events(action: str) -> list[AuditEvent]:
    with db.transaction() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all())


def _share(share_id: int) -> Share:
    with db.transaction() as session:
        return session.get(Share, share_id)


@pytest.fixture
def sent(database, clock):
    """Staff sent one document to Casey (who has an account): replies off, expiring in 2 days, acknowledgement."""
    def seed(session):
        staff = factories.account(session, role='staff', email='nurse@clinic.test')
        contact = factories.contact(session, email='casey@outside.test')
        casey = factories.contact_account(session, contact)
        document = factories.document(session, chart_row=factories.chart(session), author=staff, title='Work status')
        portal_data.enable(session, replies_enabled=True)
        today = sharing.portal_today(sharing.get_settings(session))
        [result] = sharing.send_documents(session, document_ids=[document.id], contact_ids=[contact.id],
                                          actor=factories.actor_for(session, staff), replies_allowed=False,
                                          expires_on=(today + timedelta(days=2)).isoformat(),
                                          acknowledgement_required=True)
        return staff.id, casey.id, document.id, result.share_id
    staff_id, casey_id, document_id, share_id = db.run(seed)
    return _actor(staff_id), _actor(casey_id), document_id, share_id


def test_the_options_are_stored_audited_and_shown_to_the_contact(sent) -> None:
    staff, casey, _document_id, share_id = sent
    share = _share(share_id)
    assert share.replies_allowed is False and share.acknowledgement_required and share.expires_at is not None
    [event] = _events('document_shared')
    detail = json.loads(event.detail_json)
    assert detail['replies_allowed'] is False and detail['acknowledgement_required'] is True
    assert detail['expires_at'] == share.expires_at.isoformat()
    [row] = db.run(messages.list_messages, actor=casey).rows
    assert row.can_reply is False and row.unread and row.action_needed
    view = messages.open_message(actor=casey, share_id=share_id)
    assert view.can_reply is False and view.acknowledgement_required and view.acknowledged_at is None
    # opened but not acknowledged: still NEW / action needed
    [row] = db.run(messages.list_messages, actor=casey).rows
    assert row.unread and row.action_needed


def test_expiry_dates_are_checked_against_today_and_the_admins_maximum(sent) -> None:
    staff, _casey, document_id, _share_id = sent
    db.run(portal_data.enable, share_expiry_max_days=10)
    today = sharing.portal_today(sharing.get_settings())
    for bad, message in ((today - timedelta(days=1), 'passed'), (today + timedelta(days=11), 'at most 10 days'),
                         ('next week', 'YYYY-MM-DD'), (None, 'Choose an expiry date')):
        with pytest.raises(InvalidInput, match=message):
            db.run(sharing.send_documents, document_ids=[document_id], contact_ids=[_share(_share_id).contact_id],
                   actor=staff, expires_on=bad)
    db.run(portal_data.enable, share_expiry_max_days=0, share_expiry_default_days=5)
    assert sharing.default_expiry(sharing.get_settings()) == today + timedelta(days=5)


def test_acknowledging_stores_the_time_once_audits_it_and_clears_the_mark(sent, clock) -> None:
    staff, casey, document_id, share_id = sent
    first = messages.acknowledge(actor=casey, share_id=share_id, idempotency_key='k1')
    assert messages.acknowledge(actor=casey, share_id=share_id, idempotency_key='k1') is idempotency.REPLAYED
    clock.advance(minutes=5)
    assert messages.acknowledge(actor=casey, share_id=share_id) == first  # a second press keeps the first time
    assert len(_events('document_acknowledged')) == 1
    [row] = db.run(messages.list_messages, actor=casey).rows
    assert not row.unread and not row.action_needed
    [record] = db.run(sharing.send_history, document_id=document_id, actor=staff)
    assert record.receipt.acknowledged == f'{first:%Y-%m-%d %H:%M}'
    with pytest.raises(NotAvailable):  # staff cannot acknowledge for the contact
        messages.acknowledge(actor=staff, share_id=share_id)


def test_an_unacknowledged_share_counts_for_the_unread_reminders(sent, clock) -> None:
    staff, casey, _document_id, share_id = sent
    db.run(sharing.change_expiry, share_id=share_id, expires_on=None, actor=staff)  # no expiry in the way
    messages.open_message(actor=casey, share_id=share_id)
    db.run(portal_data.enable, unread_reminder_after_days=1, unread_reminder_every_days=1, unread_reminder_max=5)
    clock.advance(days=1, hours=1)
    assert notifications.send_unread_reminders() == 1  # opened, but not acknowledged
    messages.acknowledge(actor=casey, share_id=share_id)
    clock.advance(days=2)
    assert notifications.send_unread_reminders() == 0


def test_the_expiry_job_withdraws_the_share_as_expired_and_staff_can_extend_it(sent, clock) -> None:
    staff, casey, document_id, share_id = sent
    jobs.register_all()
    assert sharing.expire_shares in [j.func for j in scheduler.jobs()]  # the very job the scheduler runs
    assert sharing.expire_shares() == 0
    clock.advance(days=3)
    assert sharing.expire_shares() == 1
    assert sharing.expire_shares() == 0  # claimed once
    share = _share(share_id)
    assert share.rescind_reason == 'expired' and share.expired_at is not None and share.rescinded_by_account_id is None
    with db.transaction() as session:
        assert session.get(Document, share.document_id).deleted_at is not None
    assert db.run(messages.list_messages, actor=casey).total == 0
    for read in (messages.open_message, messages.message_file):
        with pytest.raises(NotAvailable, match='not available'):
            read(actor=casey, share_id=share_id)
    [event] = _events('share_expired')
    assert event.object_id == str(share_id) and event.document_id == document_id
    [record] = db.run(sharing.send_history, document_id=document_id, actor=staff)
    assert record.receipt.state.startswith('expired') and record.rescinded.startswith('expired')
    # extended after expiry: the contact sees it again
    later = sharing.portal_today(sharing.get_settings()) + timedelta(days=7)
    db.run(sharing.change_expiry, share_id=share_id, expires_on=later.isoformat(), actor=staff)
    assert db.run(messages.list_messages, actor=casey).total == 1
    assert messages.open_message(actor=casey, share_id=share_id).title == 'Work status'
    [changed] = _events('share_expiry_changed')
    assert json.loads(changed.detail_json)['reopened'] is True
    with pytest.raises(Exception):
        db.run(sharing.change_expiry, share_id=share_id, expires_on=later.isoformat(), actor=casey)


def test_a_share_past_its_date_is_not_available_even_before_the_job_runs(sent, clock) -> None:
    _staff, casey, _document_id, share_id = sent
    clock.advance(days=3)
    with pytest.raises(NotAvailable):
        messages.open_message(actor=casey, share_id=share_id)
    assert db.run(messages.list_messages, actor=casey).total == 0


def test_the_contact_gets_one_phi_free_notice_before_expiry(sent, clock) -> None:
    assert notifications.send_share_expiry_notices() == 0  # the last day is the day after tomorrow: 2+ days away
    clock.advance(days=1)
    assert notifications.send_share_expiry_notices() == 1  # within the 2 days of notice
    assert notifications.send_share_expiry_notices() == 0
    with db.transaction() as session:
        [email] = session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'share_expiring')).all()
    assert email.to_address == 'casey@outside.test'
    assert 'Work status' not in email.body_text + email.body_html + email.subject
    assert 'no longer available' in email.body_text


def test_receipts_show_views_downloads_and_the_email_state(sent, clock, smtp_server) -> None:
    staff, casey, document_id, share_id = sent
    clock.advance(minutes=11)  # past the Reminder to Review merge window
    [record] = db.run(sharing.send_history, document_id=document_id, actor=staff)
    assert record.receipt.email == 'reminder to review: queued'
    assert outbox.process_outbox() == {'sent': 1}
    messages.open_message(actor=casey, share_id=share_id)
    messages.message_file(actor=casey, share_id=share_id)
    messages.message_file(actor=staff, share_id=share_id)  # staff's own look is not the contact's download
    [record] = db.run(sharing.send_history, document_id=document_id, actor=staff)
    receipt = record.receipt
    assert receipt.email.startswith('reminder to review: sent')
    assert receipt.first_viewed is not None and receipt.last_viewed is not None and receipt.downloads == 1
    assert receipt.acknowledged == 'waiting' and receipt.replies == 0 and receipt.expires.startswith('expires')
    rows, _ = db.run(contacts.received_documents, actor=staff, contact_id=_share(share_id).contact_id)
    assert rows[0].receipt.downloads == 1


def test_a_bounced_invitation_shows_the_servers_answer(database, clock, smtp_server) -> None:
    smtp_server.reject.add('gone@outside.test')

    def seed(session):
        staff = factories.account(session, role='staff')
        contact = factories.contact(session, email='gone@outside.test')
        document = factories.document(session, chart_row=factories.chart(session), author=staff)
        sharing.send_documents(session, document_ids=[document.id], contact_ids=[contact.id],
                               actor=factories.actor_for(session, staff))
        return staff.id, document.id
    staff_id, document_id = db.run(seed)
    assert outbox.process_outbox() == {'failed': 1}
    [record] = db.run(sharing.send_history, document_id=document_id, actor=_actor(staff_id))
    assert record.receipt.email.startswith('invitation: bounced: ') and '550' in record.receipt.email
    # the contact never got the code: the history says so instead of 'pending until ...'
    assert record.receipt.code_state == 'not received (the invitation bounced)'
    assert record.receipt.access == 'bounced email: the invitation did not arrive'


def test_withdraw_many_rescinds_each_with_one_reason(database) -> None:
    def seed(session):
        staff = factories.account(session, role='staff')
        contact = factories.contact(session)
        ids = [factories.share(session, contact_row=contact, sender=staff).share_id for _ in range(3)]
        return staff.id, ids
    staff_id, ids = db.run(seed)
    staff = _actor(staff_id)
    with pytest.raises(InvalidInput):
        db.run(sharing.rescind_many, share_ids=ids, reason='  ', actor=staff)
    assert db.run(sharing.rescind_many, share_ids=ids[:2], reason='Sent to the wrong adjuster', actor=staff) == 2
    assert db.run(sharing.rescind_many, share_ids=ids, reason='Again', actor=staff) == 1  # the third one only
    with pytest.raises(InvalidInput, match='already withdrawn'):
        db.run(sharing.rescind_many, share_ids=ids, reason='Again', actor=staff)
    reasons = [json.loads(e.detail_json)['reason'] for e in _events('share_rescinded')]
    assert reasons == ['Sent to the wrong adjuster'] * 2 + ['Again']


def test_sent_by_me_not_yet_read_after_n_days(sent, clock) -> None:
    staff, casey, _document_id, share_id = sent
    assert db.run(sharing.unread_sent_by, actor=staff, days=1) == ([], 0)
    clock.advance(days=1, minutes=1)
    rows, total = db.run(sharing.unread_sent_by, actor=staff, days=1)
    assert total == 1 and rows[0].share_id == share_id and rows[0].days_waiting == 1
    assert db.run(sharing.unread_sent_by, actor=_actor_other(), days=1)[1] == 0
    messages.open_message(actor=casey, share_id=share_id)
    assert db.run(sharing.unread_sent_by, actor=staff, days=1)[1] == 0


def _actor_other():
    return _actor(db.run(lambda session: factories.account(session, role='staff').id))


def test_the_sharing_settings_have_bounds_and_are_audited(database) -> None:
    from services import settings_admin
    admin = _actor(db.run(lambda session: factories.account(session, role='admin').id))
    with pytest.raises(InvalidInput, match='between 0 and 3650'):
        db.run(settings_admin.save_section, section='sharing', values={'share_expiry_max_days': 5000}, actor=admin)
    db.run(settings_admin.save_section, section='sharing', actor=admin,
           values={'share_replies_default': False, 'share_expiry_max_days': 30, 'share_expiry_notice_days': 3})
    settings = sharing.get_settings()
    assert not settings.share_replies_default and settings.share_expiry_max_days == 30
    [event] = _events('settings_changed')
    assert json.loads(event.detail_json)['section'] == 'sharing'


def test_the_expiry_notice_goes_out_over_smtp_without_phi(sent, clock, smtp_server) -> None:
    from tests.smtp import text_body
    clock.advance(days=1)
    assert notifications.send_share_expiry_notices() == 1
    outbox.process_outbox()
    received = smtp_server.wait_for('casey@outside.test', count=1)
    notice = [m for m in received if 'no longer be available' in m['Subject']]
    assert len(notice) == 1
    body = text_body(notice[0])
    assert 'no longer available' in body and 'Work status' not in body and 'Pat' not in body
