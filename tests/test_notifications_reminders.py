"""Reminder to Review (merged, daily digest), unread reminders, code-expiry reminders and staff digests,
delivered through the outbox to a real SMTP server with an injected clock."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models import ActivationCode, OutboxEmail, Registration, Reply, Share, StaffAlertPref
from models.shapes import Actor
from services import db, notifications, outbox, settings
from tests import factories
from tests.smtp import html_body, text_body

ADMIN = Actor(username='admin@clinic.test', role='admin')

PHI = ('Zebediah', 'Quixote', 'HIV panel', 'positive result', '1980')


def _contact_with_account(session, *, mode: str = 'immediate'):
    contact = factories.contact(session)
    account = factories.contact_account(session, contact)
    account.notify_mode = mode
    session.add(account)
    session.flush()
    return contact


def _phi_share(session, contact, **fields):
    chart = factories.chart(session, first='Zebediah', last='Quixote')
    return factories.share(session, contact_row=contact, chart_row=chart, title='HIV panel', **fields)


def _assert_no_phi(message) -> None:
    everything = f'{message["Subject"]}\n{text_body(message)}\n{html_body(message)}'
    for word in PHI:
        assert word not in everything


def _kinds(session, contact_id: int) -> list[str]:
    rows, _ = outbox.list_emails(session, actor=ADMIN, contact_id=contact_id, limit=100)
    return [e.kind for e in reversed(rows)]


def test_a_share_sends_one_reminder_to_review(database, clock, smtp_server) -> None:
    with db.transaction() as session:
        contact = _contact_with_account(session)
        result = _phi_share(session, contact)
    assert result.email_kind == 'reminder_to_review'
    outbox.process_outbox()
    assert smtp_server.to(contact.email) == []  # still inside the merge window
    clock.advance(minutes=10)
    outbox.process_outbox()
    [message] = smtp_server.wait_for(contact.email)
    assert 'A new document is waiting' in message['Subject']
    assert '/login' in text_body(message)
    _assert_no_phi(message)
    clock.advance(minutes=30)
    outbox.process_outbox()
    assert len(smtp_server.to(contact.email)) == 1


def test_three_shares_in_the_window_send_one_email(database, clock, smtp_server) -> None:
    with db.transaction() as session:
        contact = _contact_with_account(session)
        for _ in range(3):
            _phi_share(session, contact)
            clock.advance(minutes=2)
    clock.advance(minutes=10)
    outbox.process_outbox()
    [message] = smtp_server.wait_for(contact.email)
    assert message['Subject'].startswith('3 new documents')
    assert '3 new documents have been shared with you' in text_body(message)
    _assert_no_phi(message)
    with db.transaction() as session:
        assert _kinds(session, contact.id) == ['reminder_to_review']


def test_a_share_after_the_window_sends_a_second_email(database, clock, smtp_server) -> None:
    with db.transaction() as session:
        contact = _contact_with_account(session)
        _phi_share(session, contact)
    clock.advance(minutes=11)
    outbox.process_outbox()
    with db.transaction() as session:
        _phi_share(session, contact)
    clock.advance(minutes=11)
    outbox.process_outbox()
    messages = smtp_server.wait_for(contact.email, count=2)
    assert all('A new document' in m['Subject'] for m in messages)


def test_daily_digest_contact_gets_one_email_a_day(database, clock, smtp_server) -> None:
    clock.current = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)  # after today's 08:00 digest
    with db.transaction() as session:
        contact = _contact_with_account(session, mode='daily')
        _phi_share(session, contact)
    for _ in range(3):  # shares through the day all join tomorrow's digest
        clock.advance(hours=4)
        outbox.process_outbox()
        with db.transaction() as session:
            _phi_share(session, contact)
    assert smtp_server.to(contact.email) == []
    clock.current = datetime(2026, 11, 27, 7, 59, tzinfo=UTC)
    outbox.process_outbox()
    assert smtp_server.to(contact.email) == []
    clock.current = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    outbox.process_outbox()
    [first] = smtp_server.wait_for(contact.email)
    assert first['Subject'].startswith('4 new documents')
    _assert_no_phi(first)
    clock.advance(minutes=5)
    with db.transaction() as session:  # a share right after the digest waits for the next day
        _phi_share(session, contact)
    clock.advance(hours=23, minutes=50)
    outbox.process_outbox()
    assert len(smtp_server.to(contact.email)) == 1
    clock.advance(minutes=10)
    outbox.process_outbox()
    messages = smtp_server.wait_for(contact.email, count=2)
    assert 'A new document is waiting' in messages[1]['Subject']


def test_daily_digest_follows_the_portal_time_zone(database) -> None:
    portal = settings.PortalSettings(time_zone='America/New_York')
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 07:00 in New York
    assert notifications.next_daily_digest(now, portal) == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    assert notifications.next_daily_digest(now + timedelta(hours=2), portal) == datetime(2026, 11, 27, 13, 0, tzinfo=UTC)


def test_unread_reminders_at_day_3_and_day_10_then_stop(database, clock, smtp_server) -> None:
    with db.transaction() as session:
        contact = _contact_with_account(session)
        _phi_share(session, contact)
    sent_days = []
    for day in range(1, 25):
        clock.advance(days=1)
        notifications.send_unread_reminders()
        outbox.process_outbox()
        if any(m['Subject'].startswith('Reminder') for m in smtp_server.to(contact.email)[len(sent_days) + 1:]):
            sent_days.append(day)
    assert sent_days == [3, 10]
    reminders = [m for m in smtp_server.to(contact.email) if m['Subject'].startswith('Reminder')]
    assert 'waiting 10 days' in text_body(reminders[1])
    for message in reminders:
        _assert_no_phi(message)
    with db.transaction() as session:
        share = session.exec(select(Share).where(Share.contact_id == contact.id)).one()
        assert share.unread_reminders_sent == 2
        assert _kinds(session, contact.id) == ['reminder_to_review', 'unread_reminder', 'unread_reminder']


def test_no_unread_reminder_after_reading_or_rescinding(database, clock, smtp_server) -> None:
    with db.transaction() as session:
        reader = _contact_with_account(session)
        read_share = _phi_share(session, reader)
        rescinded = _contact_with_account(session)
        gone = _phi_share(session, rescinded)
    clock.advance(days=2)
    with db.transaction() as session:
        session.get(Share, read_share.share_id).first_read_at = clock.current
        session.get(Share, gone.share_id).rescinded_at = clock.current
    for _ in range(20):
        clock.advance(days=1)
        assert notifications.send_unread_reminders() == 0


def test_reading_after_the_first_reminder_stops_the_second(database, clock, smtp_server) -> None:
    with db.transaction() as session:
        contact = _contact_with_account(session)
        result = _phi_share(session, contact)
    clock.advance(days=3)
    assert notifications.send_unread_reminders() == 1
    with db.transaction() as session:
        session.get(Share, result.share_id).first_read_at = clock.current
    clock.advance(days=10)
    assert notifications.send_unread_reminders() == 0


def test_unread_shares_of_one_contact_make_one_reminder(database, clock, smtp_server) -> None:
    with db.transaction() as session:
        contact = _contact_with_account(session)
        for _ in range(2):
            _phi_share(session, contact)
    clock.advance(days=3)
    assert notifications.send_unread_reminders() == 1
    outbox.process_outbox()
    reminder = [m for m in smtp_server.wait_for(contact.email, count=2) if m['Subject'].startswith('Reminder')]
    assert reminder[0]['Subject'].startswith('Reminder: 2 documents')


def test_code_expiry_reminder_is_sent_once_before_expiry(database, clock, smtp_server) -> None:
    with db.transaction() as session:
        contact = factories.contact(session)  # no account: the share issues an activation code
        result = _phi_share(session, contact)
    assert result.email_kind == 'invitation'
    clock.advance(days=26, hours=23)
    assert notifications.send_code_expiry_reminders() == 0
    clock.advance(hours=2)  # now less than 3 days before the 30-day expiry
    assert notifications.send_code_expiry_reminders() == 1
    assert notifications.send_code_expiry_reminders() == 0
    clock.advance(days=1)
    assert notifications.send_code_expiry_reminders() == 0
    outbox.process_outbox()
    messages = smtp_server.wait_for(contact.email, count=2)
    assert 'expires soon' in messages[1]['Subject']
    _assert_no_phi(messages[1])
    assert result.activation_code not in text_body(messages[1])  # the code itself is never repeated
    with db.transaction() as session:
        code = session.exec(select(ActivationCode).where(ActivationCode.contact_id == contact.id)).one()
        assert code.expiry_reminder_sent_at is not None
        assert _kinds(session, contact.id) == ['invitation', 'code_expiring']


def test_no_code_expiry_reminder_for_a_used_code(database, clock) -> None:
    with db.transaction() as session:
        contact = factories.contact(session)
        factories.share(session, contact_row=contact)
        code = session.exec(select(ActivationCode).where(ActivationCode.contact_id == contact.id)).one()
        code.used_at = clock.current
    clock.advance(days=28)
    assert notifications.send_code_expiry_reminders() == 0


def _reply(session, share_id: int, account_id: int) -> Reply:
    row = Reply(share_id=share_id, account_id=account_id, author_name='Zebediah Quixote',
                body='The HIV panel shows a positive result.')
    session.add(row)
    session.flush()
    return row


def _registration(session, n: int) -> Registration:
    row = Registration(reference=f'R-TEST{n}', answers_json='{"first_name": "Zebediah", "last_name": "Quixote"}')
    session.add(row)
    session.flush()
    return row


def test_reminders_are_safe_with_two_processes(database, clock) -> None:
    """Two workers running the same jobs at once never queue the same reminder twice."""
    import threading
    with db.transaction() as session:
        contacts = [_contact_with_account(session) for _ in range(5)]
        for contact in contacts:
            _phi_share(session, contact)
        factories.contact(session)
        nurse = factories.account(session, role='staff')
        session.add(StaffAlertPref(account_id=nurse.id, registration='immediate'))
        _registration(session, 99)
    clock.advance(days=3)
    results: list[int] = []

    def work() -> None:
        results.append(notifications.send_unread_reminders())

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 5
    with db.transaction() as session:
        assert len(session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'unread_reminder')).all()) == 5


def test_the_jobs_are_registered_and_run_from_one_tick(database, clock, smtp_server) -> None:
    from services import jobs, scheduler
    jobs.register_all()
    assert {'outbox', 'unread_reminders', 'code_expiry_reminders', 'staff_alerts'} <= {j.job_id for j in scheduler.jobs()}
    with db.transaction() as session:
        contact = _contact_with_account(session)
        _phi_share(session, contact)
    clock.advance(days=3)
    scheduler.run_all_once()  # queues the unread reminder; the outbox tick may run before or after it
    scheduler.run_all_once()
    assert len(smtp_server.wait_for(contact.email, count=2)) == 2
