"""Outbox delivery against a real SMTP server: outages, refusals, deferrals, concurrency and rollback."""
from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from models import AuditEvent, OutboxEmail
from models.shapes import Actor
from services import db, email_admin, idempotency, outbox
from services.errors import InvalidInput
from tests import factories

ADMIN = Actor(account_id=None, username='admin@clinic.test', role='admin')


def _enqueue(session, to: str, n: int = 0, **kw) -> OutboxEmail:
    return outbox.enqueue(session, kind='test_email', to=to, context={'sent_at': f'test {n}'}, **kw)


def test_a_test_email_reaches_the_server(database, smtp_server) -> None:
    result = email_admin.send_test_email(to='Admin@Clinic.test', actor=ADMIN)
    assert result.ok
    assert result.answer.startswith('250')
    [message] = smtp_server.wait_for('admin@clinic.test')
    assert message['Subject'] == 'Test email from Secure Message Portal'
    with db.transaction() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == 'test_email_sent')).one()
        assert '250' in event.detail_json


def test_the_same_test_email_submit_sent_twice_sends_one_email(database, smtp_server) -> None:
    with pytest.raises(InvalidInput):  # a refused address claims nothing: the corrected submit may use the key
        email_admin.send_test_email(to='not an address', actor=ADMIN, idempotency_key='submit-1')
    first = email_admin.send_test_email(to='admin@clinic.test', actor=ADMIN, idempotency_key='submit-1')
    again = email_admin.send_test_email(to='admin@clinic.test', actor=ADMIN, idempotency_key='submit-1')
    assert first.ok and again is idempotency.REPLAYED
    smtp_server.wait_for('admin@clinic.test')
    assert len(smtp_server.to('admin@clinic.test')) == 1
    with db.transaction() as session:
        assert len(session.exec(select(AuditEvent).where(AuditEvent.action == 'test_email_sent')).all()) == 1


def test_a_test_email_shows_the_error_when_the_server_is_down(database, smtp_server) -> None:
    smtp_server.stop()
    result = email_admin.send_test_email(to='admin@clinic.test', actor=ADMIN)
    assert not result.ok
    assert 'refused' in result.answer.lower() or 'error' in result.answer.lower()


def test_a_test_email_without_a_server_says_so(database) -> None:
    result = email_admin.send_test_email(to='admin@clinic.test', actor=ADMIN)
    assert not result.ok
    assert 'No mail server is configured' in result.answer


def test_smtp_down_then_up_delivers_everything_once_in_order(database, clock, smtp_server) -> None:
    smtp_server.stop()
    with db.transaction() as session:
        ids = [_enqueue(session, f'person{n}@outside.test', n).message_id for n in range(6)]
    assert outbox.process_outbox() == {'pending': 6}
    clock.advance(seconds=31)
    assert outbox.process_outbox() == {'pending': 6}  # still down: backoff grows
    with db.transaction() as session:
        rows = session.exec(select(OutboxEmail).order_by(OutboxEmail.id)).all()
        assert {r.attempts for r in rows} == {2}
        assert all(r.status == 'pending' and r.last_error for r in rows)
    smtp_server.start()
    clock.advance(seconds=59)
    assert outbox.process_outbox() == {}  # not due yet
    clock.advance(seconds=2)
    assert outbox.process_outbox() == {'sent': 6}
    clock.advance(hours=1)
    assert outbox.process_outbox() == {}
    assert [m['Message-ID'] for _, m in smtp_server.messages] == ids


def test_a_550_recipient_is_marked_failed_on_the_contact_chart(database, clock, smtp_server) -> None:
    smtp_server.reject.add('gone@outside.test')
    with db.transaction() as session:
        contact = factories.contact(session, email='gone@outside.test')
        factories.share(session, contact_row=contact)  # invitation
    assert outbox.process_outbox() == {'failed': 1}
    clock.advance(hours=7)
    assert outbox.process_outbox() == {}  # never retried
    with db.transaction() as session:
        rows, total = outbox.list_emails(session, actor=ADMIN, contact_id=contact.id)
    assert total == 1
    assert rows[0].status == 'failed'
    assert rows[0].kind == 'invitation'
    assert '550' in rows[0].last_error
    assert rows[0].attempts == 1


def test_a_4xx_answer_is_retried_later_with_the_same_message_id(database, clock, smtp_server) -> None:
    smtp_server.defer_next = 1
    with db.transaction() as session:
        email = _enqueue(session, 'later@outside.test')
    assert outbox.process_outbox() == {'pending': 1}
    with db.transaction() as session:
        stored = session.get(OutboxEmail, email.id)
        assert stored.status == 'pending' and '451' in stored.last_error
    assert smtp_server.to('later@outside.test') == []
    clock.advance(seconds=31)
    assert outbox.process_outbox() == {'sent': 1}
    [message] = smtp_server.wait_for('later@outside.test')
    assert message['Message-ID'] == email.message_id
    with db.transaction() as session:
        assert session.get(OutboxEmail, email.id).attempts == 2


def test_an_email_in_a_failed_transaction_is_not_stored(database) -> None:
    with pytest.raises(RuntimeError):
        with db.transaction() as session:
            _enqueue(session, 'never@outside.test')
            raise RuntimeError('the share failed after the email was queued')
    with db.transaction() as session:
        assert session.exec(select(OutboxEmail)).all() == []


def test_two_workers_deliver_200_emails_exactly_once(database, smtp_server) -> None:
    with db.transaction() as session:
        ids = {_enqueue(session, f'many{n % 7}@outside.test', n).message_id for n in range(200)}
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            outbox.process_outbox(limit=10)
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    received = [m['Message-ID'] for _, m in smtp_server.messages]
    assert len(received) == 200
    assert set(received) == ids
    with db.transaction() as session:
        rows = session.exec(select(OutboxEmail)).all()
        assert {r.status for r in rows} == {'sent'}
        assert {r.attempts for r in rows} == {1}
        assert len({r.claimed_at for r in rows}) > 1


def test_retry_and_cancel_from_the_outbox(database, clock, smtp_server) -> None:
    smtp_server.reject.add('typo@outside.test')
    with db.transaction() as session:
        failed = _enqueue(session, 'typo@outside.test')
        waiting = _enqueue(session, 'wait@outside.test', not_before=clock.current.replace(year=2099))
    outbox.process_outbox()
    with db.transaction() as session:
        assert email_admin.cancel_email(session, email_id=waiting.id, actor=ADMIN).status == 'cancelled'
        assert email_admin.retry_email(session, email_id=failed.id, actor=ADMIN).status == 'pending'
    smtp_server.reject.clear()
    assert outbox.process_outbox() == {'sent': 1}
    with db.transaction() as session:
        assert email_admin.cancel_email(session, email_id=failed.id, actor=ADMIN).status == 'sent'  # too late
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.action.like('outbox_%'))).all()
        assert sorted(actions) == ['outbox_cancel', 'outbox_cancel', 'outbox_retry']
