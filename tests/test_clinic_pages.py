"""The clinic workspace through its pages (NiceGUI User fixture): what staff see and what is stored."""
from __future__ import annotations

import asyncio
import json

from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User
from sqlmodel import select

from models import (ActivationCode, AuditEvent, Chart, Contact, Document, OutboxEmail, Reply, ReplyAttachment, Share,
                    StoredFile, UserSession)
from services import activation, clock, db, files, settings, sharing
from tests import factories
from tests.portal import portal_header, seed, sign_in, sign_out

STAFF_EMAIL = 'nurse@clinic.test'


def _staff(session):
    return factories.account(session, role='staff', email=STAFF_EMAIL, name='Nurse Joy')


def _rows(user: User, marker: str) -> list[dict]:
    return list(next(iter(user.find(marker=marker).elements)).rows)


async def see(user: User, target=None, **kwargs) -> None:
    """should_see with patience: this machine is shared, and pages load their rows off the event loop."""
    await user.should_see(target, retries=50, **kwargs)


async def flashed(user: User, text: str) -> None:
    """The notice queued before a navigation is in the banner at the top of the page it opened."""
    await see(user, marker='flash')
    await see(user, text)
    banner = next(iter(user.find(marker='flash').elements))
    assert text in [getattr(element, 'text', None) for element in banner.descendants()]


async def until(condition, timeout: float = 5.0):
    """Wait until `condition()` (e.g. a database check) is truthy; return its value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := condition()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError('condition never held')
        await asyncio.sleep(0.05)
    return value


async def rows_when(user: User, marker: str, condition=bool, timeout: float = 5.0) -> list[dict]:
    """The rows of a table once `condition(rows)` holds (tables fill after the page is built)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            rows = _rows(user, marker)
        except (AssertionError, StopIteration):
            rows = None
        if rows is not None and condition(rows):
            return rows
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f'table {marker} never matched: {rows}')
        await asyncio.sleep(0.05)


def _all(model, *where):
    with db.transaction() as session:
        return session.exec(select(model).where(*where)).all()


async def _settle(times: int = 5) -> None:
    for _ in range(times):
        await asyncio.sleep(0.05)


async def _signed_in(user: User) -> None:
    seed(_staff)
    await sign_in(user, STAFF_EMAIL)
    await see(user, marker='staff-home')


# ----------------------------------------------------------------------------- charts and documents

async def test_staff_creates_a_chart_and_finds_it_by_search(user: User) -> None:
    await _signed_in(user)
    user.find(marker='new-chart').click()
    user.find(marker='chart-first').type('Robin')
    user.find(marker='chart-last').type('Hart')
    user.find(marker='chart-birth').type('1975-04-03')
    user.find(marker='chart-external').type('EMP-123')
    user.find(marker='chart-save').click()
    await see(user, marker='chart-name')
    await flashed(user, 'Chart saved.')
    [chart] = _all(Chart)
    assert (chart.first_name, str(chart.date_of_birth), chart.external_id) == ('Robin', '1975-04-03', 'EMP-123')
    seed(lambda session: factories.chart(session, first='Other', last='Person'))
    await user.open('/staff')
    await rows_when(user, 'charts', lambda rows: len(rows) == 2)
    user.find(marker='chart-search').type('emp-123')
    await rows_when(user, 'charts', lambda rows: [r['name'] for r in rows] == ['Hart, Robin'])


async def test_staff_edits_a_chart_and_bad_input_changes_nothing(user: User) -> None:
    await _signed_in(user)
    chart = seed(lambda session: factories.chart(session, first='Robin', last='Hart'))
    await user.open(f'/staff/chart/{chart.id}')
    await see(user, marker='edit-chart')  # staff pages stream in: the header's badge connects before they finish
    user.find(marker='edit-chart').click()
    user.find(marker='chart-first').clear()
    user.find(marker='chart-save').click()
    await see(user, 'First name is required.')
    user.find(marker='chart-first').type('Robyn')
    user.find(marker='chart-email').type('not-an-email')
    user.find(marker='chart-save').click()
    await see(user, 'Email is not a valid email address.')
    assert _all(Chart)[0].first_name == 'Robin'
    user.find(marker='chart-email').clear().type('robyn@home.test')
    user.find(marker='chart-save').click()
    await until(lambda: _all(Chart, Chart.first_name == 'Robyn'))
    await flashed(user, 'Chart saved.')
    await see(user, 'Hart, Robyn')
    assert _all(Chart)[0].email == 'robyn@home.test'
    assert len(_all(AuditEvent, AuditEvent.action == 'chart_updated')) == 1


async def test_staff_writes_an_html_document_that_is_sanitized(user: User) -> None:
    await _signed_in(user)
    chart = seed(factories.chart)
    await user.open(f'/staff/chart/{chart.id}/new-document')
    await see(user, marker='doc-title')
    user.find(marker='doc-title').type('Visit note')
    user.find('Pasted HTML').click()
    user.find(marker='doc-html').type('<p>Fit for <b>light</b> duty</p><script>alert(1)</script>')
    user.find(marker='doc-save').click()
    await see(user, marker='document-html')
    await flashed(user, 'Document saved.')
    [doc] = _all(Document)
    assert doc.body_html == '<p>Fit for <b>light</b> duty</p>' and doc.author_name == 'Nurse Joy'
    assert doc.doc_type == 'Work Status Report'
    await user.open(f'/staff/chart/{chart.id}')
    await rows_when(user, 'documents', lambda rows: [r['title'] for r in rows] == ['Visit note'])


async def _upload(user: User, chart_id: int, name: str, data: bytes) -> None:
    await user.open(f'/staff/chart/{chart_id}/new-document')
    await see(user, marker='doc-title')
    user.find(marker='doc-title').type('Scan')
    user.find('PDF or image file').click()
    upload = user.find(marker='doc-upload').elements.pop()
    await upload.handle_uploads([SmallFileUpload(name=name, content_type='application/pdf', _data=data)])
    await see(user, f'Chosen: {name}')  # the upload is an action: it runs after the session check
    user.find(marker='doc-save').click()


async def test_staff_uploads_a_pdf_and_the_file_route_serves_it_to_staff_only(user: User) -> None:
    await _signed_in(user)
    chart = seed(factories.chart)
    await _upload(user, chart.id, 'scan.pdf', factories.MINIMAL_PDF)
    await see(user, marker='document-pdf')
    [doc] = _all(Document)
    response = await user.http_client.get(f'/staff/files/document/{doc.id}')
    assert response.status_code == 200 and response.content == factories.MINIMAL_PDF
    assert response.headers['cache-control'] == 'no-store'
    assert response.headers['content-disposition'].startswith('inline;')
    assert 'nosniff' in response.headers['x-content-type-options']
    sign_out(user)
    await see(user, marker='sign-in')
    refused = await user.http_client.get(f'/staff/files/document/{doc.id}')
    assert refused.status_code == 401 and refused.content != factories.MINIMAL_PDF  # signed out: sign in first


async def test_bad_uploads_get_a_clear_message_and_store_nothing(user: User) -> None:
    await _signed_in(user)
    seed(lambda session: settings.save_settings(session, changes={'upload_max_mb': 1}, account_id=None))
    chart = seed(factories.chart)
    cases = [('setup.pdf', b'MZ\x90\x00\x03' + b'\x00' * 200, '"setup.pdf" is not a real PDF, PNG, JPEG file.'),
             ('empty.pdf', b'', '"empty.pdf" is empty.'),
             ('big.pdf', b'%PDF-1.4' + b'0' * (1024 * 1024), '"big.pdf" is larger than the limit of 1 MB.')]
    for name, data, message in cases:
        await _upload(user, chart.id, name, data)
        await see(user, message)
    assert _all(Document) == [] and _all(StoredFile) == []


# ----------------------------------------------------------------------------- contacts

async def test_add_contact_refuses_missing_and_duplicate_email(user: User) -> None:
    await _signed_in(user)
    seed(lambda session: factories.contact(session, email='dana@ins.test', first='Dana', last='Fox'))
    await user.open('/staff/contacts')
    user.find(marker='contact-first').type('Sam')
    user.find(marker='contact-last').type('Reed')
    user.find(marker='contact-add').click()
    await see(user, 'Email is required.')
    user.find(marker='contact-email').type('DANA@ins.test')
    user.find(marker='contact-add').click()
    await see(user, 'Dana Fox already has the email dana@ins.test: pick that contact instead.')
    assert len(_all(Contact)) == 1
    user.find(marker='contact-first').clear().type('Dana')
    user.find(marker='contact-last').clear().type('Fox')
    user.find(marker='contact-email').clear().type('dana.fox@other.test')
    user.find(marker='contact-add').click()
    await see(user, 'A contact with this name already exists')
    assert len(_all(Contact)) == 1
    user.find(marker='contact-confirm').click()
    user.find(marker='contact-add').click()
    await see(user, marker='contact-name')
    await flashed(user, 'Contact Dana Fox added.')
    assert {c.email for c in _all(Contact)} == {'dana@ins.test', 'dana.fox@other.test'}


# ----------------------------------------------------------------------------- Send Document

def _document_and_contact(session, *, with_account: bool):
    chart = factories.chart(session, first='Pat', last='Lee')
    doc = factories.document(session, chart_row=chart, title='Work status')
    contact = factories.contact(session, first='Casey', last='Adjuster', email='casey@ins.test')
    if with_account:
        factories.contact_account(session, contact)
    return doc.id, contact.id


async def _send_to(user: User, query: str, option: str) -> None:
    user.find(marker='recipient-search').clear().type(query)
    await see(user, marker=f'recipient-{option}')
    user.find(marker=f'recipient-{option}').click()
    await _settle(1)


def redeem(code: str) -> bool:
    """The activation pages' core check (another helper builds them): an unused, unexpired code works once."""
    with db.transaction() as session:
        row = session.exec(select(ActivationCode).where(ActivationCode.code_hash == activation.code_hash(code))).first()
        if row is None or row.used_at or row.revoked_at or row.expires_at <= clock.now():
            return False
        row.used_at = clock.now()
        session.add(row)
        return True


async def test_send_to_a_new_contact_queues_one_invitation_whose_code_works_once(user: User) -> None:
    await _signed_in(user)
    doc_id, contact_id = seed(_document_and_contact, with_account=False)
    await user.open(f'/staff/document/{doc_id}')
    await see(user, marker='send-history-empty')
    user.find(marker='send-document').click()
    await _send_to(user, 'adjus', 'casey@ins.test')
    await see(user, marker='recipient-chip')
    user.find(marker='send').click()
    [share] = await until(lambda: _all(Share))
    await see(user, 'Sent 1 share (1 with an invitation).')
    assert (share.contact_id, share.source_document_id) == (contact_id, doc_id)
    copy = _all(Document, Document.id == share.document_id)[0]
    assert (copy.doc_type, copy.title, copy.author_name) == ('Received Document', 'Work status - Lee, Pat', 'Nurse Joy')
    [email] = _all(OutboxEmail)
    assert (email.kind, email.to_address) == ('invitation', 'casey@ins.test')
    assert 'Work status' not in email.body_text and 'Lee' not in email.body_text  # no PHI in the email
    history = await rows_when(user, 'send-history', lambda rows: bool(rows) and rows[0]['code_state'] != '—')
    assert history[0]['recipient'] == 'Casey Adjuster <casey@ins.test>' and history[0]['sender'] == 'Nurse Joy'
    assert history[0]['copy_document_id'] == copy.id
    assert history[0]['code_state'].startswith('pending until'), history
    code = factories.code_in(email, 'activation_code')
    assert redeem(code) and not redeem(code)


async def test_send_to_an_existing_account_queues_a_reminder_and_no_code(user: User) -> None:
    await _signed_in(user)
    doc_id, contact_id = seed(_document_and_contact, with_account=True)
    await user.open(f'/staff/document/{doc_id}')
    await see(user, marker='send-document')
    user.find(marker='send-document').click()
    await _send_to(user, 'casey@ins', 'casey@ins.test')
    user.find(marker='send').click()
    await until(lambda: _all(Share))
    await see(user, 'Sent 1 share.')
    assert [(e.kind, e.contact_id) for e in _all(OutboxEmail)] == [('reminder_to_review', contact_id)]
    assert _all(ActivationCode) == []
    assert (await rows_when(user, 'send-history'))[0]['code_state'] == '—'


async def test_batch_send_of_three_documents_to_two_contacts_creates_six_shares(user: User) -> None:
    await _signed_in(user)

    def data(session):
        chart = factories.chart(session, first='Pat', last='Lee')
        for title in ('First', 'Second', 'Third'):
            factories.document(session, chart_row=chart, title=title)
        factories.contact(session, first='Ann', last='Insurer', email='ann@ins.test', organization=None)
        factories.contact(session, first='Bo', last='Employer', email='bo@work.test', organization=None)
        return chart.id

    chart_id = seed(data)
    await user.open(f'/staff/chart/{chart_id}')
    await rows_when(user, 'documents', lambda rows: len(rows) == 3)
    table = next(iter(user.find(marker='documents').elements))
    table.selected.extend(table.rows)
    user.find(marker='send-selected').click()
    await see(user, 'Send 3 documents')
    await _send_to(user, 'ann', 'ann@ins.test')
    await _send_to(user, 'employer', 'bo@work.test')
    user.find(marker='send').click()
    shares = await until(lambda: _all(Share))
    await see(user, 'Sent 6 shares (2 with an invitation).')
    assert len(shares) == 6 and len({(s.source_document_id, s.contact_id) for s in shares}) == 6
    # one invitation per new contact covers all three documents
    assert sorted((e.kind, e.to_address) for e in _all(OutboxEmail)) == [('invitation', 'ann@ins.test'),
                                                                          ('invitation', 'bo@work.test')]
    assert len(_all(ActivationCode)) == 2
    assert len(_all(AuditEvent, AuditEvent.action == 'document_shared')) == 6


async def test_send_clicked_twice_shares_once(user: User) -> None:
    await _signed_in(user)
    doc_id, _ = seed(_document_and_contact, with_account=False)
    await user.open(f'/staff/document/{doc_id}')
    await see(user, marker='send-document')
    user.find(marker='send-document').click()
    await _send_to(user, 'adjus', 'casey@ins.test')
    user.find(marker='send').click()
    user.find(marker='send').click()  # a double click: the second arrives while the first runs
    await see(user, 'Sent 1 share (1 with an invitation).')
    await _settle(10)
    assert len(_all(Share)) == 1 and len(_all(OutboxEmail)) == 1 and len(_all(ActivationCode)) == 1


async def test_rescind_with_a_reason_removes_access_and_is_audited(user: User) -> None:
    await _signed_in(user)

    def data(session):
        contact = factories.contact(session)
        account = factories.contact_account(session, contact)
        result = factories.share(session, contact_row=contact)
        return result, factories.actor_for(session, account), session.get(Share, result.share_id).source_document_id

    result, reader, doc_id = seed(data)
    assert seed(sharing.share_visible_to, share_id=result.share_id, actor=reader)
    await user.open(f'/staff/document/{doc_id}')
    await see(user, marker='send-history')
    user.find(marker='send-history').trigger('rescind', {'id': result.share_id, 'recipient': 'them'})
    user.find(marker='rescind-confirm').click()
    await see(user, 'Reason is required.')
    user.find(marker='rescind-reason').type('Sent to the wrong adjuster')
    user.find(marker='rescind-confirm').click()
    await until(lambda: _all(Share, Share.rescinded_at.is_not(None)))
    await see(user, 'Rescinded.')
    [share] = _all(Share)
    assert share.rescinded_at is not None and share.rescind_reason == 'Sent to the wrong adjuster'
    assert not seed(sharing.share_visible_to, share_id=result.share_id, actor=reader)
    [event] = _all(AuditEvent, AuditEvent.action == 'share_rescinded')
    assert json.loads(event.detail_json)['reason'] == 'Sent to the wrong adjuster'
    await rows_when(user, 'send-history',
                    lambda rows: bool(rows) and rows[0]['rescinded'].endswith('Sent to the wrong adjuster'))


# ----------------------------------------------------------------------------- contact chart

async def test_contact_chart_shows_documents_emails_and_codes_and_sends_a_new_code(user: User) -> None:
    await _signed_in(user)

    def data(session):
        contact = factories.contact(session, first='Casey', last='Adjuster', email='casey@ins.test')
        factories.share(session, contact_row=contact, title='Work status')
        return contact.id

    contact_id = seed(data)
    await user.open(f'/staff/contacts/{contact_id}')
    await see(user, 'no account')
    [received] = await rows_when(user, 'received')
    assert received['doc_type'] == 'Received Document' and received['subject'].startswith('Work status - ')
    assert [(e['kind'], e['status']) for e in await rows_when(user, 'emails')] == [('invitation', 'pending')]
    assert (await rows_when(user, 'codes'))[0]['state'].startswith('pending until')
    user.find(marker='send-new-code').click()
    await flashed(user, 'A new code was sent; older unused codes no longer work.')
    states = [r['state'] for r in await rows_when(user, 'codes', lambda rows: len(rows) == 2)]
    assert states[0].startswith('pending until') and states[1] == 'replaced by a newer code'
    await rows_when(user, 'emails', lambda rows: len(rows) == 2)


# ----------------------------------------------------------------------------- SMP worklist

def _reply_data(session):
    contact = factories.contact(session, first='Casey', last='Adjuster')
    account = factories.contact_account(session, contact)
    result = factories.share(session, contact_row=contact, title='Work status')
    share = session.get(Share, result.share_id)
    reply = Reply(share_id=share.id, account_id=account.id, author_name='Casey Adjuster', body='Approved, thanks.')
    session.add(reply)
    session.flush()
    stored = files.store(session, factories.MINIMAL_PNG, 'scan.png', max_bytes=10_000)
    session.add(ReplyAttachment(reply_id=reply.id, file_id=stored.id, file_name='scan.png'))
    return reply.id, share.chart_id, share.source_document_id


async def test_worklist_shows_a_reply_and_move_creates_the_document_in_the_patient_chart(user: User) -> None:
    await _signed_in(user)
    reply_id, chart_id, original_id = seed(_reply_data)
    await user.open('/staff/worklist')
    await see(user, marker='portal-header')
    assert portal_header(user).props['unworked'] == 1  # the Menu button's badge: "1", "unworked replies"
    [row] = await rows_when(user, 'worklist')
    assert (row['reply_id'], row['contact'], row['excerpt'], row['attachments'], row['status']) == \
        (reply_id, 'Casey Adjuster', 'Approved, thanks.', 1, 'unworked')
    assert row['title'].startswith('Work status (') and row['url'] == f'/staff/reply/{reply_id}'
    await user.open(f'/staff/reply/{reply_id}')
    await see(user, 'Approved, thanks.')
    await see(user, 'scan.png')
    attachment_url = next(iter(user.find(marker='reply-attachment').elements)).props['href']
    response = await user.http_client.get(attachment_url)
    assert response.status_code == 200 and response.content == factories.MINIMAL_PNG
    assert response.headers['content-type'] == 'image/png'
    user.find(marker='move').click()
    await see(user, marker='moved-document')
    moved = _all(Document, Document.chart_id == chart_id, Document.source_document_id == original_id)
    assert sorted(d.title for d in moved) == ['Reply attachment: scan.png', 'Reply to: Work status']
    [text_copy] = [d for d in moved if d.title == 'Reply to: Work status']
    await flashed(user, f'Moved into the chart as document {text_copy.id}.')
    assert _all(Reply)[0].worked_at is not None
    await user.open(f'/staff/chart/{chart_id}')
    await rows_when(user, 'documents', lambda rows: {'Reply to: Work status', 'Reply attachment: scan.png'}
                    <= {r['title'] for r in rows})
    assert len(_all(AuditEvent, AuditEvent.action == 'reply_moved')) == 1


async def test_worklist_assign_and_mark_worked(user: User) -> None:
    await _signed_in(user)
    reply_id, _, _ = seed(_reply_data)
    await user.open(f'/staff/reply/{reply_id}')
    await see(user, marker='mark-worked')
    user.find(marker='mark-worked').click()
    await see(user, 'status: worked')
    await flashed(user, 'Saved.')
    assign = next(iter(user.find(marker='assign').elements))
    assign.value = next(k for k, v in assign.options.items() if v == 'Nurse Joy')
    await until(lambda: _all(Reply, Reply.assigned_to_account_id.is_not(None)))
    await see(user, 'Assigned.')
    reply = _all(Reply)[0]
    assert reply.worked_at is not None and reply.assigned_to_account_id is not None
    await user.open('/staff/worklist')
    await rows_when(user, 'worklist', lambda rows: bool(rows) and rows[0]['assigned_to'] == 'Nurse Joy')


async def test_contacts_cannot_open_clinic_pages_or_files(user: User) -> None:
    def data(session):
        contact = factories.contact(session, email='casey@ins.test')
        factories.contact_account(session, contact)
        return factories.share(session, contact_row=contact).copy_document_id

    copy_id = seed(data)
    await sign_in(user, 'casey@ins.test')
    await see(user, marker='logout')  # signed in (the cookie is set on the way to the main screen)
    for path in ('/staff', '/staff/contacts', '/staff/worklist', f'/staff/document/{copy_id}'):
        await user.open(path)
        await user.should_not_see(marker='staff-home')
        await user.should_not_see(marker='document-title')
    assert (await user.http_client.get(f'/staff/files/document/{copy_id}')).status_code == 403


def _end_sessions(session) -> None:
    for row in session.exec(select(UserSession)).all():
        session.delete(row)


async def test_a_table_read_after_the_session_ended_goes_to_sign_in(user: User) -> None:
    await _signed_in(user)
    seed(lambda session: factories.chart(session, first='Robin', last='Hart'))
    await user.open('/staff')
    await rows_when(user, 'charts')
    seed(_end_sessions)
    user.find(marker='chart-search').type('hart')
    await see(user, marker='sign-in')
    await flashed(user, 'Your session has ended. Sign in again to continue.')


async def test_an_action_after_the_session_ended_changes_nothing(user: User) -> None:
    await _signed_in(user)
    contact_id = seed(lambda session: factories.contact(session).id)
    await user.open(f'/staff/contacts/{contact_id}')
    await see(user, marker='send-new-code')
    seed(_end_sessions)  # a table still loading finds the session ended too: one navigation, one notice
    user.find(marker='send-new-code').click()
    await see(user, marker='sign-in')
    await flashed(user, 'Your session has ended. Sign in again to continue.')
    assert _all(ActivationCode) == [] and _all(OutboxEmail) == []
