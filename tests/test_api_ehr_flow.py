"""Issue 19 end to end against a running portal (main.py on 127.0.0.1, its scheduler, real SMTP via aiosmtpd):
a script plays the clinic's EHR with httpx, and a webhook receiver on 127.0.0.1 checks every signature.

The EHR creates a chart, uploads a PDF, upserts the contact, shares with the same Idempotency-Key twice (one share,
one invitation over SMTP); the contact opens the document and replies with a PDF in Chromium (signed in with a portal
account for the invited address: activation has its own tests); the EHR polls replies since its
cursor, downloads the attachment with the same SHA-256 and moves the reply into the chart. The receiver answers
500 to the first delivery of every event and still sees each event exactly once.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from selenium.webdriver.common.by import By
from sqlmodel import select

from models import Contact, OutboxEmail, Reply, Share
from services import api_clients, webhooks
from tests import factories, portal_data
from tests.browser import click, wait_for
from tests.portal import seed

pytestmark = pytest.mark.browser

PDF = b'%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n'
ATTACHMENT = b'%PDF-1.4\n% the contact\'s signed form\n' + bytes(range(256)) + b'\n%%EOF\n'


@pytest.fixture(autouse=True)
def receiver_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The receiver listens on 127.0.0.1 over http: allowed as an operator allows the clinic's internal EHR host
    (set before the portal process starts, which reads the same environment)."""
    from services import config
    monkeypatch.setenv('SMP_WEBHOOK_ALLOW_HOSTS', '127.0.0.1')
    monkeypatch.setenv('SMP_WEBHOOK_ALLOW_HTTP', 'true')
    config.reload_config()


class Receiver:
    """A webhook endpoint on 127.0.0.1: verifies the signature, fails each event's first delivery with 500."""

    def __init__(self) -> None:
        self.secret = ''
        self.attempts: dict[str, int] = {}
        self.accepted: list[dict] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers['content-length']))
                stamp = self.headers['x-smp-timestamp']
                expected = 'v1=' + hmac.new(receiver.secret.encode(), stamp.encode() + b'.' + body,
                                            hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, self.headers['x-smp-signature'] or '') \
                        or abs(time.time() - int(stamp)) > 300:
                    receiver.bad_signatures += 1
                    self.send_response(401)
                else:
                    event = json.loads(body)
                    tries = receiver.attempts[event['id']] = receiver.attempts.get(event['id'], 0) + 1
                    if tries == 1:
                        self.send_response(500)  # the EHR was down: the portal must try again
                    else:
                        receiver.accepted.append(event)
                        self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}/portal-events'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def until(condition, timeout: float = 40.0, step: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(step)
    raise AssertionError('timed out')


def test_the_ehr_script_and_webhooks(smtp_server, portal_server, browser, tmp_path) -> None:
    smtp_server.reject.add('gone@outside.test')
    receiver = Receiver()

    def setup(session):
        admin = factories.actor_for(session, factories.account(session, role='admin', email='boss@clinic.test'))
        portal_data.enable(session, replies_enabled=True)
        issued = api_clients.create_client(session, actor=admin, name='Clinic EHR', scopes=list(api_clients.SCOPES),
                                           allowed_addresses='127.0.0.1')
        _, hook_secret = webhooks.create_webhook(session, actor=admin, url=receiver.url, events=list(webhooks.EVENTS))
        return issued.secret, hook_secret
    secret, receiver.secret = seed(setup)
    try:
        with httpx.Client(base_url=portal_server.url, headers={'authorization': f'Bearer {secret}'},
                          timeout=20) as ehr:
            _play_the_ehr(ehr, smtp_server, browser, portal_server.url, tmp_path)
        # each event exactly once, though the first delivery of each was answered with 500
        wanted = {'reply.received', 'share.read', 'invitation.bounced'}
        until(lambda: wanted <= {e['type'] for e in receiver.accepted}, timeout=45)
        time.sleep(1)  # (a duplicate would arrive now)
        types = sorted(e['type'] for e in receiver.accepted)
        assert types == sorted(wanted), types
        assert receiver.bad_signatures == 0 and all(n == 2 for n in receiver.attempts.values())
        for event in receiver.accepted:  # ids and the event type only
            assert set(event) == {'id', 'type', 'occurred_at', 'data'}
            assert all(isinstance(v, (int, list)) or v is None for v in event['data'].values())
        assert 'casey' not in json.dumps(receiver.accepted).lower()
    finally:
        receiver.stop()


def _reply_in_chromium(browser, url: str, share_id: int, tmp_path) -> None:
    attachment = tmp_path / 'signed form.pdf'
    attachment.write_bytes(ATTACHMENT)
    browser.get(url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys('casey@outside.test')
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: 'LOGOUT' in d.page_source)
    click(browser, by=By.CSS_SELECTOR, selector=f'a[href="/message/{share_id}"]')  # reads it
    wait_for(browser, lambda d: d.find_elements(By.TAG_NAME, 'iframe'))
    browser.get(url + '/')
    click(browser, by=By.CSS_SELECTOR, selector='a[aria-label="Reply To"]')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'textarea'))[0].send_keys('Signed form attached.')
    browser.find_element(By.CSS_SELECTOR, 'input[type=file]').send_keys(str(attachment))
    # the uploader lists the file at once; the remove button comes once the portal has kept it for the reply
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'button[aria-label="Remove signed form.pdf"]'))
    click(browser, by=By.XPATH, selector='//button[contains(., "Send reply")]')
    wait_for(browser, lambda d: d.current_url.rstrip('/') == url and 'Replies' in d.page_source)


def _play_the_ehr(ehr: httpx.Client, smtp_server, browser, url: str, tmp_path) -> None:
    chart = ehr.post('/api/v1/charts/upsert', json={'external_id': 'MRN-0042', 'first_name': 'Pat',
                                                    'last_name': 'Lee', 'date_of_birth': '1980-05-17'})
    assert chart.status_code == 201, chart.text
    chart_id = chart.json()['chart']['id']
    again = ehr.post('/api/v1/charts/upsert', json={'external_id': 'MRN-0042', 'first_name': 'Pat',
                                                    'last_name': 'Lee-Smith', 'date_of_birth': '1980-05-17'})
    assert again.status_code == 200
    assert again.json()['chart']['id'] == chart_id and again.json()['chart']['last_name'] == 'Lee-Smith'
    found = ehr.post('/api/v1/charts/search', json={'q': 'mrn-0042'})
    assert [c['id'] for c in found.json()['items']] == [chart_id]
    assert found.headers['cache-control'] == 'no-store'  # (PHI: the portal's headers apply to the API too)
    docs = ehr.get('/api/v1/docs')
    assert docs.status_code == 200 and 'cdn.jsdelivr.net' in docs.headers['content-security-policy']
    assert ehr.get('/api/v1/openapi.json').json()['components']['securitySchemes']['HTTPBearer']['scheme'] == 'bearer'

    upload = ehr.post('/api/v1/documents/upload', files={'file': ('work status.pdf', PDF, 'application/pdf')},
                      data={'chart_id': str(chart_id), 'service_date': '2026-11-02', 'doc_type': 'Work Status Report',
                            'title': 'Work status', 'author': 'Dr. Rivera'})
    assert upload.status_code == 201, upload.text
    document_id = upload.json()['id']
    fake = ehr.post('/api/v1/documents/upload', files={'file': ('x.pdf', b'MZ not a pdf', 'application/pdf')},
                    data={'chart_id': str(chart_id), 'service_date': '2026-11-02', 'doc_type': 'Work Status Report',
                          'title': 'Fake'})
    assert fake.status_code == 422 and 'not a real' in fake.json()['detail']

    contact = ehr.post('/api/v1/contacts/upsert', json={'email': 'Casey@Outside.test', 'first_name': 'Casey',
                                                        'last_name': 'Adjuster', 'organization': 'Acme'})
    assert contact.status_code == 201, contact.text
    contact_id = contact.json()['contact']['id']
    same = ehr.post('/api/v1/contacts/upsert', json={'email': 'casey@outside.test', 'first_name': 'Casey',
                                                     'last_name': 'Adjuster'})
    assert same.status_code == 200 and same.json()['contact']['id'] == contact_id

    body = {'document_ids': [document_id], 'contact_ids': [contact_id], 'acknowledgement_required': False}
    first = ehr.post('/api/v1/shares', json=body, headers={'idempotency-key': 'ehr-send-0042'})
    second = ehr.post('/api/v1/shares', json=body, headers={'idempotency-key': 'ehr-send-0042'})
    assert first.status_code == second.status_code == 201, first.text
    assert second.json() == first.json() and second.headers['idempotent-replayed'] == 'true'
    other = ehr.post('/api/v1/shares', json=body | {'replies_allowed': False},
                     headers={'idempotency-key': 'ehr-send-0042'})
    assert other.status_code == 409 and other.json()['type'].endswith('/idempotency-key-reused')
    (share,) = first.json()['shares']
    assert share['email_kind'] == 'invitation'
    assert len(seed(lambda session: session.exec(select(Share)).all())) == 1

    # a second contact whose mail server refuses the invitation: the webhook hears 'invitation.bounced'
    gone = ehr.post('/api/v1/contacts/upsert', json={'email': 'gone@outside.test', 'first_name': 'Gone',
                                                     'last_name': 'Away'})
    bounced = ehr.post('/api/v1/shares', json={'document_ids': [document_id], 'contact_ids': [gone.json()['contact']['id']]},
                       headers={'idempotency-key': 'ehr-send-gone'})
    assert bounced.status_code == 201

    start = ehr.get('/api/v1/replies').json()
    assert start['items'] == []
    cursor = start['next_cursor']

    # the contact (an account for the invited address; activation has its own tests) reads and replies in Chromium
    seed(lambda session: factories.contact_account(session, session.get(Contact, contact_id)))
    _reply_in_chromium(browser, url, share['id'], tmp_path)
    assert until(lambda: seed(lambda session: len(session.exec(select(Reply)).all())) == 1, timeout=15)

    page = ehr.get('/api/v1/replies', params={'cursor': cursor}).json()
    (summary,) = page['items']
    assert summary['share_id'] == share['id'] and summary['chart_id'] == chart_id and summary['attachments'] == 1
    reply = ehr.get(f'/api/v1/replies/{summary["id"]}').json()
    assert reply['body'] == 'Signed form attached.'
    (attachment,) = reply['attachments']
    download = ehr.get(attachment['url'])
    assert download.status_code == 200 and download.headers['content-type'] == 'application/pdf'
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(ATTACHMENT).hexdigest() \
        == attachment['sha256']
    moved = ehr.post(f'/api/v1/replies/{summary["id"]}/move')
    assert moved.status_code == 200, moved.text
    assert ehr.get(f'/api/v1/replies/{summary["id"]}').json()['status'] == 'moved'
    later = ehr.get('/api/v1/replies', params={'cursor': page['next_cursor']}).json()
    assert later['items'] == [] and later['next_cursor'] == page['next_cursor']

    assert len(smtp_server.wait_for('casey@outside.test', timeout=30)) == 1  # the invitation, once
    state = ehr.get(f'/api/v1/shares/{share["id"]}').json()
    assert state['first_viewed_at'] and state['replies'] == 1 and state['active']
    assert seed(lambda session: session.exec(select(OutboxEmail).where(
        OutboxEmail.to_address == 'casey@outside.test')).all()).__len__() == 1
