"""SMTP answers classified, against a real aiosmtpd server on 127.0.0.1: a server that refuses every email pauses
the outbox (nothing fails, admins are told, all goes out once it is fixed); a refused mailbox fails that email only."""
from __future__ import annotations

import smtplib

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from models import AuditEvent, OutboxEmail
from models.shapes import Actor
from services import db, mailer, outbox
from tests import factories
from tests.smtp import SmtpServer

ADMIN = Actor(account_id=None, username='admin@clinic.test', role='admin')


class _RefusingHandler:
    """Answers every RCPT with `server.refuse_all` while it is set; otherwise accepts like tests.smtp."""

    def __init__(self, server: 'RefusingServer') -> None:
        self.server = server

    async def handle_RCPT(self, _server, _session, envelope, address, _options):  # noqa: N802 (aiosmtpd API)
        if self.server.refuse_all:
            return self.server.refuse_all
        if address.lower() in self.server.reject:
            return '550 5.1.1 No such user here'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802
        import email
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        for rcpt in envelope.rcpt_tos:
            self.server.messages.append((rcpt, message))
        return '250 Message accepted for delivery'


class RefusingServer(SmtpServer):
    def __init__(self) -> None:
        super().__init__()
        self.refuse_all: str | None = None

    def start(self) -> None:
        self._controller = Controller(_RefusingHandler(self), hostname='127.0.0.1', port=self.port)
        self._controller.start()


@pytest.fixture
def relay(smtp_server, monkeypatch) -> RefusingServer:
    """The conftest's SMTP settings, pointed at a server that can refuse every email."""
    smtp_server.stop()
    server = RefusingServer()
    server.port = smtp_server.port
    server.start()
    yield server
    server.stop()


def _queue(count: int, prefix: str = 'person') -> list[int]:
    with db.transaction() as session:
        return [outbox.enqueue(session, kind='test_email', to=f'{prefix}{n}@outside.test',
                               context={'sent_at': f'test {n}'}).id for n in range(count)]


def _rows() -> list[OutboxEmail]:
    with db.transaction() as session:
        return session.exec(select(OutboxEmail).order_by(OutboxEmail.id)).all()


def test_relaying_denied_for_everything_pauses_fails_nothing_and_all_go_out_after_the_fix(database, clock,
                                                                                       relay) -> None:
    relay.refuse_all = '554 5.7.1 <invited@outside.test>: Relay access denied'  # as Postfix says it
    with db.transaction() as session:
        admin = factories.account(session, role='admin', email='admin@clinic.test')
        contact = factories.contact(session, email='invited@outside.test')
        factories.share(session, contact_row=contact)  # an invitation
        admin_email = admin.email
    _queue(8)
    assert outbox.process_outbox() == {'pending': 9}  # none failed
    assert outbox.paused()
    found = outbox.pause()
    assert 'relay' in found.reason.lower() and '5.7.1' in found.reason
    assert '@' not in found.reason  # no address in the reason, the banner, the alert or the log
    with db.transaction() as session:
        banner = outbox.pause_banner(session, actor=ADMIN)
    assert banner.startswith('Email delivery is paused since') and '@' not in banner
    for _ in range(2):  # retried with backoff, never failed, never more than 10 minutes apart
        clock.advance(minutes=10)
        outbox.process_outbox()
    rows = _rows()
    assert {r.status for r in rows} == {'pending'}
    assert {r.failure_reason for r in rows} == {'server'}
    assert {r.attempts for r in rows if r.kind != 'outbox_paused'} == {3}
    # the admins were alerted once, by an email that waits for the next working route
    alerts = [r for r in rows if r.kind == 'outbox_paused']
    assert [a.to_address for a in alerts] == [admin_email]
    assert relay.messages == []

    relay.refuse_all = None  # the relay is fixed
    clock.advance(minutes=10)
    counts = outbox.process_outbox()
    assert counts == {'sent': 10}
    assert not outbox.paused()
    assert {r.status for r in _rows()} == {'sent'}
    assert len(relay.to('invited@outside.test')) == 1
    [alert] = relay.to(admin_email)
    assert 'paused' in alert['Subject']


def test_a_refused_mailbox_fails_that_email_only(database, clock, relay) -> None:
    relay.reject.add('gone@outside.test')
    with db.transaction() as session:
        contact = factories.contact(session, email='gone@outside.test')
        factories.share(session, contact_row=contact)  # its invitation bounces
    ids = _queue(4)
    assert outbox.process_outbox() == {'sent': 4, 'failed': 1}
    assert not outbox.paused()
    failed = [r for r in _rows() if r.status == 'failed']
    assert [(r.to_address, r.kind, r.failure_reason) for r in failed] == \
        [('gone@outside.test', 'invitation', 'mailbox')]
    assert '5.1.1' in failed[0].last_error
    assert {r.status for r in _rows() if r.id in ids} == {'sent'}


def test_an_unreachable_server_pauses_and_fails_nothing(database, clock, relay) -> None:
    relay.stop()
    _queue(3)
    for _ in range(14):  # more than MAX_ATTEMPTS: an outage never fails an email
        outbox.process_outbox()
        clock.advance(minutes=10)
    assert {r.status for r in _rows()} == {'pending'}
    assert 'cannot be reached' in outbox.pause().reason
    relay.start()
    assert outbox.process_outbox() == {'sent': 3}
    assert not outbox.paused()


def test_a_policy_refusal_of_one_recipient_fails_it_once_others_go_out(database, clock, relay) -> None:
    """5.7.x usually means "everything"; when other emails go out meanwhile, it was about this recipient."""
    relay.refuse_all = '550 5.7.1 Relaying denied'
    [first] = _queue(1, 'blocked')
    outbox.process_outbox()
    assert outbox.paused()
    relay.refuse_all = None
    _queue(2, 'fine')
    clock.advance(minutes=1)
    # make the blocked one refuse with policy again while others succeed
    handler_rcpt = _RefusingHandler.handle_RCPT

    async def per_recipient(self, server, session, envelope, address, options):
        if address.startswith('blocked'):
            return '550 5.7.1 Recipient policy'
        return await handler_rcpt(self, server, session, envelope, address, options)

    _RefusingHandler.handle_RCPT = per_recipient
    try:
        outbox.process_outbox()  # the others go out and lift the pause; the blocked one is tried again at once
        outbox.process_outbox()
    finally:
        _RefusingHandler.handle_RCPT = handler_rcpt
    rows = {r.id: r for r in _rows()}
    assert rows[first].status == 'failed' and rows[first].failure_reason == 'rejected'
    assert not outbox.paused()


@pytest.mark.parametrize(('code', 'text', 'error', 'expected'), [
    (550, '5.7.1 Relaying denied', None, ('refusal', 'policy')),
    (554, '5.7.1 Message rejected by policy', None, ('refusal', 'policy')),
    (530, '5.7.0 Authentication required', None, ('refusal', 'authentication')),
    (535, '5.7.8 Authentication credentials invalid', None, ('refusal', 'authentication')),
    (None, '', smtplib.SMTPAuthenticationError(535, b'5.7.8 bad credentials'), ('refusal', 'authentication')),
    (None, '', ConnectionRefusedError(111, 'Connection refused'), ('refusal', 'unreachable')),
    (None, '', TimeoutError('timed out'), ('refusal', 'unreachable')),
    (421, '4.3.2 Service not available', None, ('refusal', 'unreachable')),
    (550, '5.1.1 No such user here', None, ('permanent', 'mailbox')),
    (553, '5.1.3 Bad destination mailbox address syntax', None, ('permanent', 'mailbox')),
    (552, '5.2.2 Mailbox full', None, ('permanent', 'rejected')),
    (451, '4.3.0 Try again later', None, ('transient', None)),
])
def test_smtp_answers_are_classified(code, text, error, expected) -> None:
    found = mailer.classify(code, text, error)
    if isinstance(found, mailer.ServerRefusalError):
        assert expected == ('refusal', found.kind)
    elif isinstance(found, mailer.PermanentMailError):
        assert expected == ('permanent', found.reason)
    else:
        assert type(found) is mailer.TransientMailError and expected == ('transient', None)


def test_retry_all_failed_queues_every_failed_email_again(database, clock, relay) -> None:
    relay.reject.update({'person0@outside.test', 'person1@outside.test'})
    _queue(3)
    assert outbox.process_outbox() == {'sent': 1, 'failed': 2}
    relay.reject.clear()
    with db.transaction() as session:
        assert outbox.retry_all_failed(session, actor=ADMIN) == 2
    assert outbox.process_outbox() == {'sent': 2}
    with db.transaction() as session:
        assert outbox.retry_all_failed(session, actor=ADMIN) == 0
        assert len(session.exec(select(AuditEvent).where(AuditEvent.action == 'outbox_retry_all')).all()) == 2
    assert {r.status for r in _rows()} == {'sent'}
