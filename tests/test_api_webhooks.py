"""Webhooks as a service, on SQLite and PostgreSQL: every event type is queued once per webhook from the audit log
and the outbox, carries ids only, is signed, and is retried with backoff until the receiver answers 2xx."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from models import Contact, OutboxEmail, Share, Webhook, WebhookDelivery
from services import audit, config, db, messages, replies, webhooks
from services.errors import InvalidInput
from tests import factories

PUBLIC = '93.184.216.34'
DNS: dict[str, list[str]] = {}


@pytest.fixture(autouse=True)
def stub_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Host names resolve from DNS above (no lookups leave the machine); the EHR's host is public."""
    DNS.clear()
    DNS['ehr.clinic.test'] = [PUBLIC]

    def resolve(host: str, port: int) -> list[str]:
        if host not in DNS:
            raise OSError('no such host')
        return DNS[host]
    monkeypatch.setattr(webhooks, 'resolve', resolve)
    return DNS


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


# ----------------------------------------------------------------------------- where webhooks may post (SSRF)

def _admin():
    return db.run(lambda session: factories.actor_for(session, factories.account(session, role='admin')))


def _save(admin, url: str) -> int:
    return db.run(webhooks.create_webhook, actor=admin, url=url, events=['share.read'])[0]


def _hooks() -> list[str]:
    return db.run(lambda session: [h.url for h in session.exec(select(Webhook)).all()])


REFUSED = [
    ('https://127.0.0.1/in', 'loopback'), ('https://[::1]/in', 'loopback'), ('https://localhost.test/in', 'loopback'),
    ('https://10.1.2.3/in', 'private'), ('https://192.168.0.10/in', 'private'), ('https://[fc00::5]/in', 'private'),
    ('https://169.254.169.254/latest/meta-data', 'link-local'), ('https://[fe80::1]/in', 'link-local'),
    ('https://224.0.0.1/in', 'multicast'), ('https://[ff02::1]/in', 'multicast'),
    ('https://240.0.0.1/in', 'reserved'), ('https://0.0.0.0/in', 'unspecified'), ('https://[::]/in', 'unspecified'),
    ('https://[::ffff:127.0.0.1]/in', 'loopback'), ('https://100.64.0.1/in', 'non-public'),
    ('https://split.clinic.test/in', 'private'),  # one public and one private address: refused
]


OTHER_REFUSED = [
    ('http://ehr.clinic.test/in', 'Webhooks use https'), ('ftp://ehr.clinic.test/in', 'Write the full address'),
    ('file:///etc/passwd', 'Write the full address'), ('gopher://ehr.clinic.test/', 'Write the full address'),
    ('https://nowhere.clinic.test/in', 'cannot be found'), ('https://user:pw@ehr.clinic.test/', 'Write the full'),
]


def test_a_webhook_to_an_internal_address_or_another_scheme_is_refused(database) -> None:
    """Each refused class (literal addresses, and names resolved by the stub) says why and stores nothing."""
    DNS['localhost.test'] = ['127.0.0.1']
    DNS['split.clinic.test'] = [PUBLIC, '10.0.0.7']
    admin = _admin()
    for url, kind in REFUSED:
        with pytest.raises(webhooks.Refused, match=f'is at a {kind} address .*SMP_WEBHOOK_ALLOW_HOSTS'):
            _save(admin, url)
    for url, message in OTHER_REFUSED:
        with pytest.raises(InvalidInput, match=message):
            _save(admin, url)
    assert _hooks() == []


def test_the_allow_list_lets_the_clinics_internal_host_in(database, monkeypatch: pytest.MonkeyPatch) -> None:
    DNS['ehr.clinic.local'] = ['10.20.0.5']
    admin = _admin()
    monkeypatch.setenv('SMP_WEBHOOK_ALLOW_HOSTS', 'ehr.clinic.local, 192.168.7.0/24')
    config.reload_config()
    _save(admin, 'https://ehr.clinic.local/in')
    _save(admin, 'https://192.168.7.20:8443/in')
    with pytest.raises(webhooks.Refused, match='private address'):
        _save(admin, 'https://192.168.8.20/in')  # (outside the allowed network)
    with pytest.raises(webhooks.Refused, match='https'):
        _save(admin, 'http://ehr.clinic.local/in')  # allowed hosts still need https ...
    monkeypatch.setenv('SMP_WEBHOOK_ALLOW_HTTP', 'true')
    config.reload_config()
    _save(admin, 'http://ehr.clinic.local/in')  # ... unless http is allowed too
    assert _hooks() == ['https://ehr.clinic.local/in', 'https://192.168.7.20:8443/in', 'http://ehr.clinic.local/in']


def test_delivery_checks_again_and_connects_to_the_checked_address(database, clock) -> None:
    world = _world()
    _happen(world)
    db.run(webhooks.collect_events)
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)
    with httpx.Client(transport=httpx.MockTransport(receiver)) as client:
        DNS['ehr.clinic.test'] = ['169.254.169.254']  # the name now points at the cloud's metadata service
        first, *others = webhooks.claim_due()
        assert webhooks.deliver(first, client) == 'pending'
        assert seen == []
        refused = db.run(lambda session: session.get(WebhookDelivery, first))
        assert refused.last_status == 'refused: link-local address' and refused.attempts == 1
        DNS['ehr.clinic.test'] = [PUBLIC]  # and back
        assert webhooks.deliver(others[0], client) == 'delivered'
    assert seen[0].url.host == PUBLIC and seen[0].headers['host'] == 'ehr.clinic.test'
    assert seen[0].extensions['sni_hostname'] == 'ehr.clinic.test'  # (TLS checks the certificate for the name)
