"""Viewer, paging, search, isolation and bad reply input through the User fixture."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import sqlalchemy as sa
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User
from sqlmodel import select

from models import Account, AuditEvent, Reply, ReplyAttachment, Share, StoredFile
from services import auth, clock, db, messages, replies
from services.config import get_config
from tests import portal_data
from tests.factories import MINIMAL_PDF, MINIMAL_PNG
from tests.portal import seed
from tests.portal_data import EXE


def _element(user: User, marker: str):
    return next(iter(user.find(marker=marker).elements))


async def _until(condition: Callable[[], object], timeout: float = 5.0):
    for _ in range(int(timeout / 0.05)):
        try:
            value = condition()
        except AssertionError:  # user.find: the element is not (yet) visible
            value = None
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError('condition not met in time')


def _count(model) -> int:
    with db.transaction() as session:
        return session.exec(select(sa.func.count()).select_from(model)).one()


# ----------------------------------------------------------------------------- paging and search

async def test_paging_sorting_and_search_with_1000_shares(user: User) -> None:
    casey = seed(portal_data.person, email='casey@outside.test')
    seed(portal_data.bulk_shares, contact_id=casey.contact_id, count=1000)
    await portal_data.sign_in_contact(user, casey.email)
    table = _element(user, 'messages')
    assert table.pagination['rowsNumber'] == 1000 and len(table.rows) == 25
    assert table.rows[0]['message'] == 'Bulk 01000'

    user.find(marker='messages').trigger('request', {'pagination': {
        'page': 40, 'rowsPerPage': 25, 'sortBy': 'serv_date', 'descending': True}})
    await _until(lambda: table.pagination['page'] == 40)
    assert [r['message'] for r in table.rows][-1] == 'Bulk 00001' and len(table.rows) == 25

    user.find(marker='messages').trigger('request', {'pagination': {
        'page': 1, 'rowsPerPage': 10, 'sortBy': 'message', 'descending': False}})
    await _until(lambda: table.pagination['page'] == 1 and len(table.rows) == 10)
    assert [r['message'] for r in table.rows] == [f'Bulk {n:05d}' for n in range(1, 11)]

    user.find(marker='search').type('bulk 0050')
    await _until(lambda: table.pagination['rowsNumber'] == 10)
    assert sorted(r['message'] for r in table.rows) == [f'Bulk {n:05d}' for n in range(500, 510)]
    user.find(marker='search').clear().type('no such message')
    await _until(lambda: table.pagination['rowsNumber'] == 0)
    assert list(table.rows) == []


# ----------------------------------------------------------------------------- isolation

async def test_two_contacts_never_see_each_others_messages_files_or_replies(user: User) -> None:
    casey = seed(portal_data.pdf_person, email='casey@outside.test')
    robin = seed(portal_data.pdf_person, email='robin@outside.test')
    seed(portal_data.enable, replies_enabled=True)
    with db.transaction() as session:
        robin_actor = auth.account_actor(session, session.get(Account, robin.account_id))
    replies.create_reply(actor=robin_actor, share_id=robin.share_ids[0], text='Robin private reply',
                         attachments=[replies.Attachment('robin.png', MINIMAL_PNG)])
    with db.transaction() as session:
        attachment_id = session.exec(select(ReplyAttachment.id)).one()

    # Casey: her own messages only; Robin's message, reply and files are refused
    await portal_data.sign_in_contact(user, casey.email)
    await _until(lambda: len(_element(user, 'messages').rows) == len(casey.share_ids))
    assert [r['id'] for r in _element(user, 'messages').rows] == casey.share_ids
    await user.should_not_see(marker='replies-title')
    await user.open(f'/message/{robin.share_ids[0]}')
    await user.should_see(marker='not-available', retries=50)
    await user.should_not_see('Robin private reply')
    own = await user.http_client.get(f'/files/message/{casey.share_ids[0]}')
    assert own.status_code == 200 and own.headers['content-type'] == 'application/pdf'
    assert own.headers['cache-control'] == 'no-store' and 'nosniff' in own.headers['x-content-type-options']
    assert own.headers['content-disposition'].startswith('inline;')
    download = await user.http_client.get(f'/files/message/{casey.share_ids[0]}?download=1')
    assert download.headers['content-disposition'].startswith('attachment;')
    assert (await user.http_client.get(f'/files/message/{robin.share_ids[0]}')).status_code == 404
    assert (await user.http_client.get(f'/files/reply-attachment/{attachment_id}')).status_code == 404

    # the same browser signs out and Robin signs in: his reply and files, none of Casey's
    await user.open('/')
    await user.should_see(marker='logout', retries=50)
    user.find(marker='logout').click()
    await user.should_see(marker='sign-in', retries=50)
    await portal_data.sign_in_contact(user, robin.email)
    await _until(lambda: len(_element(user, 'replies').rows) == len(robin.share_ids))
    assert [r['id'] for r in _element(user, 'replies').rows] == robin.share_ids
    await user.open(f'/message/{robin.share_ids[0]}')
    await user.should_see('Robin private reply', retries=50)
    await user.open(f'/message/{casey.share_ids[0]}')
    await user.should_see(marker='not-available', retries=50)
    assert (await user.http_client.get(f'/files/message/{casey.share_ids[0]}')).status_code == 404
    theirs = await user.http_client.get(f'/files/reply-attachment/{attachment_id}')
    assert theirs.status_code == 200 and theirs.content == MINIMAL_PNG


async def test_file_routes_refuse_requests_without_a_session(user: User) -> None:
    casey = seed(portal_data.pdf_person, email='casey@outside.test')
    response = await user.http_client.get(f'/files/message/{casey.share_ids[0]}')
    assert response.status_code == 401 and response.content != MINIMAL_PDF


# ----------------------------------------------------------------------------- viewer

async def test_rescinded_share_shows_not_available_and_is_audited(user: User) -> None:
    casey = seed(portal_data.person, email='casey@outside.test', shares=1)
    await portal_data.sign_in_contact(user, casey.email)

    def rescind(session):
        share = session.get(Share, casey.share_ids[0])
        share.rescinded_at, share.rescind_reason = clock.now(), 'sent to the wrong contact'
        session.add(share)

    seed(rescind)
    await user.open(f'/message/{casey.share_ids[0]}')
    await user.should_see(marker='not-available')
    await user.should_see(messages.NOT_AVAILABLE)
    await user.should_not_see(marker='message-body')
    with db.transaction() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == 'share_access_denied')).one()
    assert event.object_id == str(casey.share_ids[0]) and json.loads(event.detail_json)['reason'] == 'rescinded'
    await user.open('/')
    assert list(_element(user, 'messages').rows) == []


async def test_viewer_shows_header_body_pdf_frame_and_reply_summary(user: User) -> None:
    casey = seed(portal_data.pdf_person, email='casey@outside.test')
    seed(portal_data.enable, replies_enabled=True)
    await portal_data.sign_in_contact(user, casey.email)
    await user.open(f'/message/{casey.share_ids[0]}')
    await user.should_see(marker='pdf-frame')
    assert _element(user, 'pdf-frame').props['src'] == f'/files/message/{casey.share_ids[0]}'
    assert _element(user, 'header-type').text == 'Work Status Report'
    assert _element(user, 'header-serv-date').text == '2026-11-02'
    assert _element(user, 'header-by').text == 'Dr. Jane Smith'
    await user.should_see(marker='download')
    await user.should_see(marker='reply-form')
    await user.should_not_see(marker='replies-summary')


async def test_reply_form_only_when_replies_are_enabled(user: User) -> None:
    casey = seed(portal_data.person, email='casey@outside.test', shares=1)
    await portal_data.sign_in_contact(user, casey.email)
    await user.open(f'/message/{casey.share_ids[0]}')
    await user.should_see(marker='body-html')
    await user.should_not_see(marker='reply-form')


# ----------------------------------------------------------------------------- replying

async def _open_reply_form(user: User) -> portal_data.Person:
    casey = seed(portal_data.person, email='casey@outside.test', shares=1)
    seed(portal_data.enable, replies_enabled=True)
    await portal_data.sign_in_contact(user, casey.email)
    await user.open(f'/message/{casey.share_ids[0]}?reply=1')
    await user.should_see(marker='reply-form')
    return casey


async def _upload(user: User, *items: tuple[str, bytes]) -> None:
    upload = _element(user, 'reply-upload')
    with user.client:
        await upload.handle_uploads([SmallFileUpload(name=n, content_type='application/octet-stream', _data=d)
                                     for n, d in items])
    await asyncio.sleep(0.1)


async def test_a_reply_with_an_attachment_goes_back_to_the_list_at_once(user: User) -> None:
    casey = await _open_reply_form(user)
    user.find(marker='reply-text').type('Please find the signed form attached.')
    await _upload(user, ('signed.pdf', MINIMAL_PDF))
    await user.should_see('signed.pdf')
    user.find(marker='send-reply').click()
    await user.should_see(marker='replies-title', retries=50)
    row, = _element(user, 'replies').rows
    assert (row['id'], row['replies']) == (casey.share_ids[0], 1)
    await user.open(f'/message/{casey.share_ids[0]}')
    await user.should_see('Please find the signed form attached.')
    await user.should_see('signed.pdf')
    [cards] = user.find(marker='reply-cards').elements
    with db.transaction() as session:
        [attachment_id] = session.exec(select(ReplyAttachment.id)).all()
    assert cards.replies[0]['attachments'] == [{'name': 'signed.pdf',
                                                'url': f'/files/reply-attachment/{attachment_id}'}]


async def _send_while_uploading(user: User):
    """Type a reply, let the browser start sending a file and press Send meanwhile; the contact."""
    casey = await _open_reply_form(user)
    user.find(marker='reply-text').type('The report')
    user.find(marker='reply-upload').trigger('start')
    user.find(marker='send-reply').click()
    await asyncio.sleep(0.3)
    return casey


async def test_a_reply_sent_while_its_attachment_uploads_waits_for_it(user: User) -> None:
    casey = await _send_while_uploading(user)
    assert _count(Reply) == 0  # waiting for the file, not sent without it
    await _upload(user, ('signed.pdf', MINIMAL_PDF))
    user.find(marker='reply-upload').trigger('finish')
    await user.should_see(marker='replies-title', retries=50)
    with db.transaction() as session:
        [(share_id, name)] = session.exec(select(Reply.share_id, ReplyAttachment.file_name)
                                          .join(ReplyAttachment, ReplyAttachment.reply_id == Reply.id)).all()
    assert (share_id, name) == (casey.share_ids[0], 'signed.pdf')


async def test_a_reply_waiting_for_an_attachment_that_is_refused_is_not_sent(user: User) -> None:
    await _send_while_uploading(user)
    await _upload(user, ('report.pdf', EXE))
    user.find(marker='reply-upload').trigger('finish')
    await _until(lambda: not _element(user, 'send-reply').props.get('loading'))
    assert _element(user, 'reply-error').text == '"report.pdf" is not a real PDF, PNG, JPEG file.'
    _nothing_stored()  # the person is told before anything goes without the file they meant to send


async def test_a_reply_waiting_for_an_attachment_the_connection_lost_is_not_sent(user: User) -> None:
    await _send_while_uploading(user)
    user.find(marker='reply-upload').trigger('failed').trigger('finish')
    await _until(lambda: not _element(user, 'send-reply').props.get('loading'))
    assert _element(user, 'reply-error').text == 'A file did not arrive (the connection failed). Choose it again.'
    _nothing_stored()
    user.find(marker='send-reply').click()  # sent again, knowingly without the file
    await user.should_see(marker='replies-title', retries=50)
    assert _count(Reply) == 1


def _nothing_stored() -> None:
    assert (_count(Reply), _count(ReplyAttachment), _count(StoredFile)) == (0, 0, 0)
    files_dir = get_config().files_dir
    assert not files_dir.exists() or not any(p.is_file() for p in files_dir.rglob('*'))


async def _send_and_expect(user: User, message: str) -> None:
    user.find(marker='send-reply').click()
    await _until(lambda: _element(user, 'reply-error').visible)
    assert _element(user, 'reply-error').text == message
    _nothing_stored()


async def test_empty_reply_is_refused(user: User) -> None:
    await _open_reply_form(user)
    await _send_and_expect(user, 'Your reply is required.')


async def test_a_reply_of_10001_characters_is_refused(user: User) -> None:
    await _open_reply_form(user)
    user.find(marker='reply-text').type('x' * 10_001)
    await _send_and_expect(user, 'Your reply can have at most 10,000 characters.')


async def test_a_disguised_executable_is_refused(user: User) -> None:
    await _open_reply_form(user)
    user.find(marker='reply-text').type('The report')
    await _upload(user, ('report.pdf', EXE))
    await _until(lambda: _element(user, 'reply-error').visible)
    assert _element(user, 'reply-error').text == '"report.pdf" is not a real PDF, PNG, JPEG file.'
    await user.should_not_see(marker='pending-file')
    user.find(marker='send-reply').click()  # the text alone is fine: the refused file was never kept
    await user.should_see(marker='logout', retries=50)
    assert (_count(Reply), _count(ReplyAttachment), _count(StoredFile)) == (1, 0, 0)


async def test_a_sixth_attachment_is_refused(user: User) -> None:
    await _open_reply_form(user)
    await _upload(user, *[(f'scan{n}.pdf', MINIMAL_PDF + bytes([n])) for n in range(6)])
    await _until(lambda: _element(user, 'reply-error').visible)
    assert _element(user, 'reply-error').text == 'A reply can have at most 5 attachments; remove 1.'
    assert len(user.find(marker='pending-file').elements) == 5
    _nothing_stored()


async def test_a_script_tag_in_a_reply_is_shown_as_text(user: User) -> None:
    casey = await _open_reply_form(user)
    user.find(marker='reply-text').type('<script>window.hacked = 1</script><b>bold?</b>')
    user.find(marker='send-reply').click()
    await user.should_see(marker='replies-title', retries=50)
    await user.open(f'/message/{casey.share_ids[0]}')
    await user.should_see(marker='reply-cards', retries=50)  # the document loads once the browser is connected
    # the text goes to the page as data, shown through Vue's escaping {{ }} (in Chromium: test_portal_browser.py)
    [reply] = _element(user, 'reply-cards').replies
    assert reply['body'] == '<script>window.hacked = 1</script><b>bold?</b>'
