"""Webhooks as a service, on SQLite and PostgreSQL: every event type is queued once per webhook from the audit log
and the outbox, carries ids only, is signed, and is retried with backoff until the receiver answers 2xx."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import httpx
from sqlmodel import select

from models import Contact, OutboxEmail, Share, WebhookDelivery
from services import audit, db, messages, replies, webhooks
from tests import factories


def _world() -> dict:
    def make(session):
        admin = factories.actor_for(session, factories.account(session, role='admin', email='boss@clinic.test'))
        _, secret = webhooks.create_webhook(session, actor=admin, url='https://ehr.clinic.test/in',
                                            events=list(webhooks.EVENTS))
        staff = factories.account(session, role='staff')
        casey = factories.contact(session, email='casey@outside.test', first='Casey', last='Adjuster')
        read = factories.share(session, contact_row=casey, sender=staff)
        account = factories.contact_account(session, casey)
        gone = factories.contact(session, email='gone@outside.test')
        bounced = factories.share(session, contact_row=gone, sender=staff)
        return {'admin': admin, 'secret': secret, 'casey': factories.actor_for(session, account),
                'share': read.share_id, 'bounced_email': bounced.notice_email_id, 'bounced_share': bounced.share_id}
    return db.run(make)


def _happen(world: dict) -> None:
    from services.settings import invalidate_cache, save_settings
    db.run(save_settings, changes={'replies_enabled': True}, account_id=None)
    invalidate_cache()
    for _ in range(2):  # read twice: 'share.read' is one event
        messages.open_message(actor=world['casey'], share_id=world['share'])
    messages.acknowledge(actor=world['casey'], share_id=world['share'])
    replies.create_reply(actor=world['casey'], share_id=world['share'], text='Done.')

    def elsewhere(session):
        session.get(OutboxEmail, world['bounced_email']).status = 'failed'
        audit.record(session, action='registration_submit', object_type='registration', object_id=77)
    db.run(elsewhere)


def _deliveries() -> list[WebhookDelivery]:
    return db.run(lambda session: list(session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()))


def test_each_event_is_queued_once_with_ids_only_signed_and_retried(database, clock) -> None:
    world = _world()
    _happen(world)
    db.run(webhooks.collect_events)
    db.run(webhooks.collect_events)  # a second tick finds nothing new
    queued = _deliveries()
    assert sorted(d.event_type for d in queued) == sorted(webhooks.EVENTS)
    data = {d.event_type: json.loads(d.payload_json)['data'] for d in queued}
    reply_id = data['reply.received']['reply_id']
    assert data == {'share.read': {'share_id': world['share']}, 'share.acknowledged': {'share_id': world['share']},
                    'reply.received': {'reply_id': reply_id, 'share_id': world['share']},
                    'registration.submitted': {'registration_id': 77},
                    'invitation.bounced': {'email_id': world['bounced_email'], 'contact_id': db.run(
                        lambda session: session.get(Share, world['bounced_share']).contact_id),
                        'share_ids': [world['bounced_share']]}}
    names = db.run(lambda session: [c.first_name for c in session.exec(select(Contact)).all()])
    assert not any(name in d.payload_json for d in queued for name in names + ['casey', 'Done.'])

    seen: list[httpx.Request] = []
    answers = iter([500] * len(queued) + [204] * len(queued))

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(answers))
    with httpx.Client(transport=httpx.MockTransport(receiver)) as client:
        for delivery_id in webhooks.claim_due():
            assert webhooks.deliver(delivery_id, client) == 'pending'
        assert webhooks.claim_due() == []  # backing off
        assert all(d.next_attempt_at == clock() + timedelta(seconds=2) and d.last_status == 'HTTP 500'
                   for d in _deliveries())
        clock.advance(seconds=2)
        for delivery_id in webhooks.claim_due():
            assert webhooks.deliver(delivery_id, client) == 'delivered'
        assert webhooks.claim_due() == []
    assert len(seen) == 2 * len(queued)
    for request in seen:
        stamp = request.headers['x-smp-timestamp']
        expected = hmac.new(world['secret'].encode(), stamp.encode() + b'.' + request.content, hashlib.sha256)
        assert request.headers['x-smp-signature'] == 'v1=' + expected.hexdigest()
        assert request.headers['x-smp-event'] == json.loads(request.content)['type']
    rows = db.run(webhooks.list_webhooks, actor=world['admin'])
    assert rows[0].pending == rows[0].failed == 0 and 'delivered' in rows[0].last_status


def test_backoff_grows_and_a_paused_webhook_queues_nothing(database, clock) -> None:
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3)] == [2, 8, 32]
    assert webhooks.backoff(40) == timedelta(hours=6)
    world = _world()
    db.run(webhooks.set_active, actor=world['admin'], webhook_id=1, active=False)
    _happen(world)
    db.run(webhooks.collect_events)
    assert _deliveries() == []
    db.run(webhooks.set_active, actor=world['admin'], webhook_id=1, active=True)
    db.run(webhooks.collect_events)
    assert [d.event_type for d in _deliveries()] == ['invitation.bounced']  # (a state, not an audit event)


def test_stored_idempotent_answers_are_dropped_after_a_week(database, clock) -> None:
    from models import ApiClient, ApiIdempotentResult
    from services import api_reads

    def store(session):
        client = ApiClient(name='EHR', secret_hash='0' * 64)
        session.add(client)
        session.flush()
        session.add(ApiIdempotentResult(key='api1:k', api_client_id=client.id, request_hash='h', status_code=201,
                                        body_json='{}'))
    db.run(store)
    clock.advance(days=6)
    assert api_reads.forget_old_results() == 0
    clock.advance(days=2)
    assert api_reads.forget_old_results() == 1
