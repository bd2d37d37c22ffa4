"""The EHR API's gate, in process (NiceGUI's `user` fixture serves main.py): every endpoint refuses a client
without its scope, a revoked, rotated-away or expired secret, a wrong address; errors are problem+json; a client
over its rate gets 429 with Retry-After; calls are audited with the client as the actor."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from nicegui.testing import User
from sqlmodel import select

import api
from api import auth
from models import Account, ApiClient, AuditEvent
from services import api_clients, clock, db
from services.errors import InvalidInput
from tests import factories
from tests.portal import seed

PROBLEM = 'application/problem+json'


def make_client(scopes=api_clients.SCOPES, **options) -> tuple[int, str]:
    def create(session):
        admin = session.exec(select(Account).where(Account.email == 'api-admin@clinic.test')).first() \
            or factories.account(session, role='admin', email='api-admin@clinic.test')
        issued = api_clients.create_client(session, actor=factories.actor_for(session, admin), name='EHR',
                                           scopes=list(scopes), **options)
        return issued.client_id, issued.secret
    return seed(create)


def concrete(path: str) -> str:
    return re.sub(r'\{[^}]+\}', '1', path)


def every_endpoint() -> list[tuple[str, str, str]]:
    return sorted((method, path, needed) for (method, path), needed in api.v1.endpoint_scopes().items())


def test_every_endpoint_declares_a_scope_and_every_scope_is_used() -> None:
    routes = {(m, r.path) for r in api.v1.router.routes for m in r.methods if r.endpoint is not api.v1.unknown}
    assert routes == set(api.v1.endpoint_scopes())
    assert {needed for _, _, needed in every_endpoint()} == set(api_clients.SCOPES)


async def call(user: User, method: str, path: str, secret: str | None, **kwargs):
    headers = kwargs.pop('headers', {}) | ({'authorization': f'Bearer {secret}'} if secret else {})
    return await user.http_client.request(method, path, headers=headers, **kwargs)


async def test_every_endpoint_refuses_a_client_without_its_scope(user: User) -> None:
    auth.limiter.reset()
    problems = []
    for method, path, needed in every_endpoint():
        _, secret = make_client([s for s in api_clients.SCOPES if s != needed])
        answer = await call(user, method, concrete(path), secret, headers={'idempotency-key': 'k1'})
        body = answer.json()
        if answer.status_code != 403 or body.get('type', '').rsplit('/', 1)[-1] != 'insufficient-scope' \
                or answer.headers['content-type'] != PROBLEM or body.get('scope') != needed:
            problems.append(f'{method} {path}: {answer.status_code} {body}')
    assert problems == []
    with db.transaction() as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == 'api_call')).all()
    assert len(refused) == len(every_endpoint())
    assert all(e.actor == 'api:EHR' and e.account_id is None and '"status": 403' in e.detail_json for e in refused)
    await revoked_rotated_expired_and_missing_secrets_get_the_same_401(user)


async def revoked_rotated_expired_and_missing_secrets_get_the_same_401(user: User) -> None:
    auth.limiter.reset()
    revoked_id, revoked = make_client()
    rotated_id, rotated = make_client(['charts:write'])
    expired_id, expired = make_client(['charts:write', 'shares:read'], expires_on=clock.now().date())

    def change(session):
        admin = factories.actor_for(session, factories.account(session, role='admin', email='x@clinic.test'))
        api_clients.revoke_client(session, actor=admin, client_id=revoked_id)
        new = api_clients.rotate_secret(session, actor=admin, client_id=rotated_id)
        session.get(ApiClient, expired_id).expires_at = clock.now() - timedelta(seconds=1)
        return new.secret
    fresh = seed(change)
    for index, (method, path, _) in enumerate(every_endpoint()):
        # every endpoint with a revoked and an expired secret, and one other dead secret in turn
        others = (rotated, None, 'smp_made-up', 'not even a prefix')
        for secret in (revoked, expired, others[index % len(others)]):
            answer = await call(user, method, concrete(path), secret)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json()['type'].endswith('/unauthorized')
            assert answer.headers['www-authenticate'] == 'Bearer'
        auth.limiter.reset()  # (the unknown-secret limit per address)
    answer = await call(user, 'GET', '/api/v1/charts', fresh)
    assert answer.status_code == 200 and answer.json()['items'] == []


async def test_errors_addresses_rate_docs_resources_and_the_admin_page(user: User,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """One in-process portal: objects the client may not see look missing and errors name the field; then the
    address check, the rate limit, the docs, the other resources and the admin page (each a helper below)."""
    from services import webhooks
    monkeypatch.setattr(webhooks, 'resolve', lambda host, port: {'ehr.clinic.test': ['93.184.216.34']}[host])
    auth.limiter.reset()
    _, secret = make_client()
    for path in ('/api/v1/nothing-here', '/api/v1/charts/1/2/3'):
        nowhere = await call(user, 'POST', path, None)
        assert nowhere.status_code == 404 and nowhere.json()['type'].endswith('/not-found')
    missing = await call(user, 'GET', '/api/v1/charts/999', secret)
    assert missing.status_code == 404 and missing.headers['content-type'] == PROBLEM
    assert missing.json()['type'].endswith('/not-found') and 'Traceback' not in missing.text
    bad = await call(user, 'POST', '/api/v1/charts/upsert', secret,
                     json={'external_id': 'MRN1', 'first_name': 'Pat', 'last_name': 'Lee', 'date_of_birth': 'yesterday'})
    assert bad.status_code == 422 and bad.json()['type'].endswith('/validation-error')
    assert [e['field'] for e in bad.json()['errors']] == ['date_of_birth']
    unknown = await call(user, 'POST', '/api/v1/charts/upsert', secret,
                         json={'external_id': 'MRN1', 'first_name': 'Pat', 'last_name': 'Lee', 'shoe_size': 9})
    assert [e['field'] for e in unknown.json()['errors']] == ['shoe_size']
    rule = await call(user, 'POST', '/api/v1/charts/upsert', secret,
                      json={'external_id': 'MRN1', 'first_name': ' ', 'last_name': 'Lee'})
    assert rule.status_code == 422 and rule.json()['type'].endswith('/invalid-input')
    assert 'First name' in rule.json()['detail']
    cursor = await call(user, 'GET', '/api/v1/replies?cursor=garbage', secret)
    assert cursor.status_code == 422 and 'cursor' in cursor.json()['detail']
    assert db.run(lambda session: session.exec(select(api_clients.ApiClient)).first().last_used_at) is not None
    await an_address_outside_the_allowed_networks_is_refused(user)
    await a_client_over_its_rate_gets_429_with_retry_after(user)
    await openapi_and_docs_are_served_for_the_api_only(user)
    await the_other_resources_through_the_api(user)
    await the_admin_page_creates_rotates_and_revokes_clients_and_adds_webhooks(user)


async def an_address_outside_the_allowed_networks_is_refused(user: User) -> None:
    auth.limiter.reset()
    _, secret = make_client(allowed_addresses='10.9.0.0/16')
    answer = await call(user, 'GET', '/api/v1/charts', secret)
    assert answer.status_code == 403 and answer.json()['type'].endswith('/address-not-allowed')
    _, inside = make_client(allowed_addresses='10.9.0.0/16, 127.0.0.0/8')  # (the test client calls from 127.0.0.1)
    assert (await call(user, 'GET', '/api/v1/charts', inside)).status_code == 200


async def a_client_over_its_rate_gets_429_with_retry_after(user: User) -> None:
    auth.limiter.reset()
    _, secret = make_client(rate_per_minute=3)
    answers = [await call(user, 'GET', '/api/v1/charts', secret) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()['type'].endswith('/rate-limited') and 1 <= int(answers[-1].headers['retry-after']) <= 60


async def openapi_and_docs_are_served_for_the_api_only(user: User) -> None:
    document = (await user.http_client.get('/api/v1/openapi.json')).json()
    assert set(document['paths']) == {p for _, p, _ in every_endpoint()}
    docs = await user.http_client.get('/api/v1/docs')
    assert docs.status_code == 200 and 'swagger' in docs.text.lower()
    assert (await user.http_client.get('/openapi.json')).status_code == 404


def test_client_input_is_checked(database: str) -> None:
    with db.transaction() as session:
        admin = factories.actor_for(session, factories.account(session, role='admin', email='a@clinic.test'))
        staff = factories.actor_for(session, factories.account(session, role='staff', email='s@clinic.test'))
        for bad in ({'scopes': []}, {'scopes': ['charts:delete']}, {'allowed_addresses': 'my office'},
                    {'expires_on': '2001-01-01'}, {'name': ''}, {'rate_per_minute': 0}):
            with pytest.raises(InvalidInput):
                api_clients.create_client(session, actor=admin, **({'name': 'EHR', 'scopes': ['charts:write']} | bad))
        with pytest.raises(api_clients.Forbidden):
            api_clients.create_client(session, actor=staff, name='EHR', scopes=['charts:write'])
        issued = api_clients.create_client(session, actor=admin, name='EHR', scopes='charts:write shares:read')
        stored = session.get(ApiClient, issued.client_id)
        assert issued.secret not in (stored.secret_hash, stored.secret_hint) and len(issued.secret) > 40
        assert stored.secret_hash == api_clients.secret_hash(issued.secret)
    assert db.run(lambda session: session.exec(select(ApiClient)).all()) != []


async def the_admin_page_creates_rotates_and_revokes_clients_and_adds_webhooks(user: User) -> None:
    from nicegui import ui

    from tests.admin_portal import click, see, sign_in_as, until
    auth.limiter.reset()
    await sign_in_as(user, 'admin', 'boss@clinic.test')
    await user.open('/admin')
    await see(user, marker='area-api')
    await user.open('/admin/api')
    await see(user, marker='admin-api')
    user.find(marker='client-name').type('Clinic EHR')
    user.find(marker='client-scopes').elements.pop().value = ['charts:write', 'replies:read']
    user.find(marker='client-addresses').type('127.0.0.1')
    await click(user, 'create-client')
    await see(user, 'Copy its secret now')
    secret_box = user.find(marker='new-secret').elements.pop()
    secret = secret_box.value
    assert secret.startswith('smp_')
    assert (await call(user, 'GET', '/api/v1/charts', secret)).status_code == 200
    (table,) = [e for e in user.find(marker='api-clients').elements if isinstance(e, ui.table)]
    newest = table.rows[0]  # (newest first)
    assert (newest['name'], newest['scopes'], newest['state']) == ('Clinic EHR', 'charts:write replies:read', 'active')
    assert secret not in str(table.rows)

    client_id = table.rows[0]['id']
    user.find(marker='choose-client').elements.pop().value = client_id
    await click(user, 'rotate-client')
    await see(user, 'the old one no longer works')
    new_secret = secret_box.value
    assert new_secret != secret
    assert (await call(user, 'GET', '/api/v1/charts', secret)).status_code == 401
    assert (await call(user, 'GET', '/api/v1/charts', new_secret)).status_code == 200
    await click(user, 'revoke-client')
    await see(user, f'Client {client_id} was revoked.')
    assert (await call(user, 'GET', '/api/v1/charts', new_secret)).status_code == 401
    assert await until(lambda: table.rows and table.rows[0]['state'] == 'revoked')

    user.find(marker='hook-url').type('https://ehr.clinic.test/portal-events')
    user.find(marker='hook-events').elements.pop().value = ['reply.received', 'share.read']
    await click(user, 'add-webhook')
    await see(user, 'Copy its signing secret now')
    assert secret_box.value.startswith('whsec_')
    user.find(marker='hook-url').type('ftp://nowhere')
    await click(user, 'add-webhook')
    await see(user, 'Write the full address')
    user.find(marker='hook-url').elements.pop().value = 'https://169.254.169.254/latest/meta-data'
    await click(user, 'add-webhook')
    await see(user, 'is at a link-local address (169.254.169.254), which webhooks may not reach')
    with db.transaction() as session:
        events = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()]
    assert {'api_client_created', 'api_client_rotated', 'api_client_revoked', 'webhook_created'} <= set(events)


def test_the_docs_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi import FastAPI

    from services import config
    monkeypatch.setenv('SMP_API_DOCS', 'false')
    config.reload_config()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    api.register(app)
    from tests.test_routes import served_paths
    paths = served_paths(app.routes)
    assert '/api/v1/charts' in paths and not paths & {api.OPENAPI_PATH, api.DOCS_PATH}
    api.register(app)  # (again, as after NiceGUI's test runner cleared the routes: no second copy)
    assert sum(getattr(r, 'original_router', None) is api.v1.router for r in app.routes) == 1


async def the_other_resources_through_the_api(user: User) -> None:
    """Documents as sanitized HTML, cursor paging, updated_since, rescind, worked, registrations accept/reject."""
    from models import Registration, Reply
    auth.limiter.reset()
    _, secret = make_client()

    def world(session):
        staff = factories.account(session, role='staff', email='nurse@clinic.test')
        contact = factories.contact(session, email='casey@outside.test')
        account = factories.contact_account(session, contact)
        shares = [factories.share(session, contact_row=contact, sender=staff).share_id for _ in range(3)]
        reply = Reply(share_id=shares[0], account_id=account.id, author_name='Casey', body='hello')
        session.add(reply)
        session.flush()
        from models import ReplyAttachment
        from services import files
        stored = files.store(session, factories.MINIMAL_PDF, 'x.pdf', max_bytes=100_000)
        session.add(ReplyAttachment(reply_id=reply.id, file_id=stored.id, file_name='日本 "form".pdf'))
        registrations = []
        for reference in ('R-1', 'R-2'):
            chart = factories.chart(session, status='pending_review')
            row = Registration(reference=reference, contact_id=contact.id, chart_id=chart.id)
            session.add(row)
            session.flush()
            registrations.append(row.id)
        return shares, reply.id, registrations, factories.chart(session).id
    shares, reply_id, registrations, chart_id = seed(world)

    created = await call(user, 'POST', '/api/v1/documents', secret, json={
        'chart_id': chart_id, 'service_date': '2026-11-02', 'doc_type': 'Work Status Report', 'title': 'Note',
        'author': 'Dr. Rivera', 'body_kind': 'html', 'body': '<p>Fit.</p><script>alert(1)</script>'})
    assert created.status_code == 201, created.text

    def stored(session):
        from models import Document
        document = session.get(Document, created.json()['id'])
        return document.body_html, document.author_name
    html, author = db.run(stored)
    assert '<script' not in html and 'Fit.' in html and author == 'Dr. Rivera'

    seen, cursor = [], None
    while True:  # one share a page
        page = (await call(user, 'GET', '/api/v1/shares', secret, params={'limit': 1} | (
            {'cursor': cursor} if cursor else {}))).json()
        seen += [item['id'] for item in page['items']]
        cursor = page['next_cursor']
        if not page['has_more']:
            break
    assert seen == shares
    later = clock.now() + timedelta(minutes=1)
    assert (await call(user, 'GET', '/api/v1/shares', secret,
                       params={'updated_since': later.isoformat()})).json()['items'] == []
    naive = await call(user, 'GET', '/api/v1/shares', secret, params={'updated_since': '2026-01-01T00:00:00'})
    assert naive.status_code == 422 and naive.json()['errors'][0]['field'] == 'updated_since'
    rescinded = await call(user, 'POST', f'/api/v1/shares/{shares[1]}/rescind', secret, json={'reason': 'Wrong chart'})
    assert rescinded.status_code == 200 and rescinded.json()['state'].endswith('Wrong chart')
    assert not rescinded.json()['active']
    again = await call(user, 'POST', f'/api/v1/shares/{shares[1]}/rescind', secret, json={'reason': 'Again'})
    assert again.status_code == 422 and 'already' in again.json()['detail']

    worked = await call(user, 'POST', f'/api/v1/replies/{reply_id}/worked', secret, json={'worked': True})
    assert worked.status_code == 200 and worked.json()['status'] == 'worked'
    assert (await call(user, 'GET', '/api/v1/replies/999/attachments/1', secret)).status_code == 404
    (attachment,) = worked.json()['attachments']
    download = await call(user, 'GET', attachment['url'], secret)
    assert download.status_code == 200 and download.content == factories.MINIMAL_PDF
    assert download.headers['content-disposition'].startswith('attachment; filename="__ form.pdf"; filename*=UTF-8')

    pending = (await call(user, 'GET', '/api/v1/registrations', secret)).json()['items']
    assert [r['id'] for r in pending] == registrations
    detail = await call(user, 'GET', f'/api/v1/registrations/{registrations[0]}', secret)
    assert detail.status_code == 200 and detail.json()['reference'] == 'R-1'
    accepted = await call(user, 'POST', f'/api/v1/registrations/{registrations[0]}/accept', secret)
    assert accepted.status_code == 200 and accepted.json()['status'] == 'accepted'
    rejected = await call(user, 'POST', f'/api/v1/registrations/{registrations[1]}/reject', secret,
                          json={'reason': 'Duplicate'})
    assert rejected.json()['status'] == 'rejected' and rejected.json()['review_reason'] == 'Duplicate'
    assert (await call(user, 'GET', '/api/v1/registrations', secret)).json()['items'] == []
    with db.transaction() as session:
        actors = {e.actor for e in session.exec(select(AuditEvent).where(AuditEvent.action.in_(
            ['document_created', 'share_rescinded', 'reply_worked', 'registration_accepted',
             'registration_rejected']))).all()}
    assert actors == {'api:EHR'}
