"""Services behind the main screen and the viewer, on SQLite and PostgreSQL: lists, authorization, replies."""
from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from models import Account, AuditEvent, Contact, Reply, ReplyAttachment, Share, StoredFile
from services import auth, clock, db, messages, replies
from services.config import get_config
from services.errors import InvalidInput, NotAvailable
from tests import factories, portal_data
from tests.factories import MINIMAL_PDF, MINIMAL_PNG
from tests.portal_data import EXE


def _actor(account_id: int):
    with db.transaction() as session:
        return auth.account_actor(session, session.get(Account, account_id))


def _list(actor, **kwargs):
    return db.run(messages.list_messages, actor=actor, **kwargs)


def _events(action: str) -> list[AuditEvent]:
    with db.transaction() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all())


def _count(model) -> int:
    with db.transaction() as session:
        return session.exec(select(sa.func.count()).select_from(model)).one()


@pytest.fixture
def two(database):
    """Casey (two shares) and Robin (one share), each with an account; replies enabled."""
    casey = db.run(portal_data.person, email='casey@outside.test', shares=2)
    robin = db.run(portal_data.person, email='robin@outside.test', shares=1)
    db.run(portal_data.enable, replies_enabled=True)
    return casey, robin


# ----------------------------------------------------------------------------- lists

def test_lists_hold_only_the_contacts_own_unrescinded_shares(two) -> None:
    casey, robin = two
    with db.transaction() as session:
        share = session.get(Share, casey.share_ids[0])
        share.rescinded_at = clock.now()
        session.add(share)
    page = _list(_actor(casey.account_id))
    assert [r.share_id for r in page.rows] == [casey.share_ids[1]] and page.total == 1
    assert [r.share_id for r in _list(_actor(robin.account_id)).rows] == robin.share_ids


def test_an_account_with_several_contacts_sees_all_their_shares(two) -> None:
    casey, robin = two
    with db.transaction() as session:
        from models import AccountContact
        session.add(AccountContact(account_id=casey.account_id, contact_id=robin.contact_id))
    page = _list(_actor(casey.account_id))
    assert sorted(r.share_id for r in page.rows) == sorted(casey.share_ids + robin.share_ids)


def test_a_replied_share_moves_to_the_replies_list(two) -> None:
    casey, _ = two
    actor = _actor(casey.account_id)
    assert not db.run(messages.has_replies, actor=actor)
    replies.create_reply(actor=actor, share_id=casey.share_ids[0], text='Received, thank you.')
    assert [r.share_id for r in _list(actor).rows] == [casey.share_ids[1]]
    row, = _list(actor, which='replies').rows
    assert (row.share_id, row.reply_count, row.unread) == (casey.share_ids[0], 1, False)
    assert row.last_reply_at is not None
    assert db.run(messages.has_replies, actor=actor)


def test_reply_to_only_when_enabled_and_allowed_for_the_share(two) -> None:
    casey, _ = two
    with db.transaction() as session:
        share = session.get(Share, casey.share_ids[0])
        share.replies_allowed = False
        session.add(share)
    actor = _actor(casey.account_id)
    rows = {r.share_id: r.can_reply for r in _list(actor).rows}
    assert rows == {casey.share_ids[0]: False, casey.share_ids[1]: True}
    db.run(portal_data.enable, replies_enabled=False)
    assert {r.can_reply for r in _list(actor).rows} == {False}


@pytest.fixture
def thousand(database):
    """A contact with 1,000 bulk-inserted shares, and a neighbour with its own 5."""
    casey = db.run(portal_data.person, email='casey@outside.test')
    robin = db.run(portal_data.person, email='robin@outside.test')
    db.run(portal_data.bulk_shares, contact_id=casey.contact_id, count=1000)
    db.run(portal_data.bulk_shares, contact_id=robin.contact_id, count=5, prefix='Robin')
    return casey, robin


def test_paging_returns_every_row_once_in_order(thousand) -> None:
    casey, _ = thousand
    actor = _actor(casey.account_id)
    first = _list(actor, limit=25)
    assert first.total == 1000
    assert [r.title for r in first.rows[:2]] == ['Bulk 01000', 'Bulk 00999']  # newest service date first
    last = _list(actor, offset=975, limit=25)
    assert [r.title for r in last.rows][-1] == 'Bulk 00001'
    seen = [r.share_id for offset in range(0, 1000, 100) for r in _list(actor, offset=offset, limit=100).rows]
    assert len(seen) == len(set(seen)) == 1000


@pytest.mark.parametrize('sort, attribute', [('message', 'title'), ('serv_date', 'service_date'),
                                             ('regarding', 'regarding'), ('by', 'by_name'), ('type', 'doc_type')])
def test_sorting_by_each_column(thousand, sort: str, attribute: str) -> None:
    casey, _ = thousand
    actor = _actor(casey.account_id)
    ascending = [getattr(r, attribute) for r in _list(actor, sort=sort, descending=False, limit=100).rows]
    descending = [getattr(r, attribute) for r in _list(actor, sort=sort, descending=True, limit=100).rows]
    assert ascending == sorted(ascending) and descending == sorted(descending, reverse=True)
    assert ascending[0] < descending[0]


def test_search_finds_the_right_rows_and_escapes_wildcards(thousand) -> None:
    casey, _ = thousand
    actor = _actor(casey.account_id)
    page = _list(actor, search='bulk 0012', limit=100)  # case-insensitive on both databases
    assert page.total == 10 and {r.title for r in page.rows} == {f'Bulk {n:05d}' for n in range(120, 130)}
    assert _list(actor, search='patient 007').total == 10
    assert _list(actor, search='%').total == 0 and _list(actor, search='_').total == 0
    assert _list(actor, search='Robin').total == 0  # the neighbour's rows never match
    assert _list(actor, search='DR. AUTHOR 3').total == 1000 // 7 + (1 if 1000 % 7 > 3 else 0)
    assert _list(actor, search='00001 patient').total == 0  # never across two columns


def test_no_contacts_means_an_empty_list(database) -> None:
    staff = db.run(lambda session: factories.account(session, role='staff').id)
    assert _list(_actor(staff)).total == 0


# ----------------------------------------------------------------------------- viewer

def test_opening_marks_read_and_is_audited(two) -> None:
    casey, _ = two
    view = messages.open_message(actor=_actor(casey.account_id), share_id=casey.share_ids[0])
    assert (view.share_id, view.doc_type, view.body_html) == (casey.share_ids[0], 'Work Status Report',
                                                                '<p>Fit for light duty.</p>')
    assert view.service_date == date(2026, 11, 2) and view.by_name == 'Dr. Jane Smith'
    with db.transaction() as session:
        assert session.get(Share, casey.share_ids[0]).first_read_at is not None
        assert session.get(Share, casey.share_ids[1]).first_read_at is None
    event, = _events('document_viewed')
    assert (event.object_id, event.contact_id) == (str(casey.share_ids[0]), casey.contact_id)


def test_foreign_rescinded_and_missing_shares_are_the_same_not_available_and_audited(two) -> None:
    casey, robin = two
    with db.transaction() as session:
        share = session.get(Share, casey.share_ids[1])
        share.rescinded_at = clock.now()
        session.add(share)
    actor = _actor(casey.account_id)
    messages_seen = set()
    for share_id in (robin.share_ids[0], casey.share_ids[1], 999_999):
        with pytest.raises(NotAvailable) as caught:
            messages.open_message(actor=actor, share_id=share_id)
        messages_seen.add(str(caught.value))
    assert messages_seen == {messages.NOT_AVAILABLE}
    reasons = [json.loads(e.detail_json)['reason'] for e in _events('share_access_denied')]
    assert reasons == ['foreign', 'rescinded', 'missing']
    with db.transaction() as session:
        assert session.get(Share, robin.share_ids[0]).first_read_at is None


def test_files_are_served_only_to_the_shares_contacts_and_staff(database) -> None:
    casey = db.run(portal_data.person, email='casey@outside.test')
    robin = db.run(portal_data.person, email='robin@outside.test')

    def pdf_share(session):
        stored = _store(session, MINIMAL_PDF, 'scan.pdf')
        contact = session.get(Contact, casey.contact_id)
        return factories.share(session, contact_row=contact, body_html=None, file_id=stored.id,
                               file_name='scan.pdf').share_id

    share_id = db.run(pdf_share)
    content = messages.message_file(actor=_actor(casey.account_id), share_id=share_id)
    assert (content.data, content.mime_type, content.file_name) == (MINIMAL_PDF, 'application/pdf', 'scan.pdf')
    with pytest.raises(NotAvailable):
        messages.message_file(actor=_actor(robin.account_id), share_id=share_id)
    staff = db.run(lambda session: factories.account(session, role='staff').id)
    assert messages.message_file(actor=_actor(staff), share_id=share_id).data == MINIMAL_PDF
    assert [e.action for e in _events('document_downloaded')] == ['document_downloaded'] * 2
    assert len(_events('share_access_denied')) == 1


def _store(session, data: bytes, name: str):
    from services import files
    return files.store(session, data, name, max_bytes=10 * 1024 * 1024)


# ----------------------------------------------------------------------------- replies

def test_a_reply_with_attachments_is_stored_counted_and_audited(two) -> None:
    casey, robin = two
    actor = _actor(casey.account_id)
    reply_id = replies.create_reply(actor=actor, share_id=casey.share_ids[0], text='  See the scan.  ',
                                    attachments=[replies.Attachment('scan.pdf', MINIMAL_PDF),
                                                 replies.Attachment('../../photo', MINIMAL_PNG)])
    with db.transaction() as session:
        reply = session.get(Reply, reply_id)
        assert (reply.body, reply.staff_alerted_at, reply.worked_at) == ('See the scan.', None, None)
        share = session.get(Share, casey.share_ids[0])
        assert (share.reply_count, share.last_reply_at, share.first_read_at is not None) == (1, reply.created_at, True)
        names = session.exec(select(ReplyAttachment.file_name).order_by(ReplyAttachment.id)).all()
        assert names == ['scan.pdf', 'photo.png']
    view = messages.open_message(actor=actor, share_id=casey.share_ids[0])
    summary, = view.replies
    assert summary.body == 'See the scan.' and [a.file_name for a in summary.attachments] == ['scan.pdf', 'photo.png']
    attachment_id = summary.attachments[0].attachment_id
    assert messages.reply_attachment_file(actor=actor, attachment_id=attachment_id).data == MINIMAL_PDF
    with pytest.raises(NotAvailable):
        messages.reply_attachment_file(actor=_actor(robin.account_id), attachment_id=attachment_id)
    with pytest.raises(NotAvailable):
        messages.reply_attachment_file(actor=actor, attachment_id=987654)
    event, = _events('reply_created')
    assert json.loads(event.detail_json)['attachments'] == 2 and event.contact_id == casey.contact_id


def test_the_script_tag_is_stored_as_plain_text(two) -> None:
    casey, _ = two
    actor = _actor(casey.account_id)
    replies.create_reply(actor=actor, share_id=casey.share_ids[0], text='<script>alert(1)</script>')
    reply, = messages.open_message(actor=actor, share_id=casey.share_ids[0]).replies
    assert reply.body == '<script>alert(1)</script>'




@pytest.mark.parametrize('text, attachments, message', [
    ('', [], 'Your reply is required.'),
    ('   \n ', [], 'Your reply is required.'),
    ('x' * 10_001, [], 'Your reply can have at most 10,000 characters.'),
    ('See attached', [('report.pdf', EXE)], '"report.pdf" is not a real PDF, PNG, JPEG file.'),
    ('See attached', [('empty.pdf', b'')], '"empty.pdf" is empty.'),
    ('See attached', [(f'scan{n}.pdf', MINIMAL_PDF + bytes([n])) for n in range(6)],
     'A reply can have at most 5 attachments; remove 1.'),
    ('See attached', [('ok.pdf', MINIMAL_PDF), ('bad.png', EXE)], '"bad.png" is not a real PDF, PNG, JPEG file.'),
])
def test_bad_replies_get_a_clear_message_and_store_nothing(two, text, attachments, message) -> None:
    casey, _ = two
    with pytest.raises(InvalidInput) as caught:
        replies.create_reply(actor=_actor(casey.account_id), share_id=casey.share_ids[0], text=text,
                             attachments=[replies.Attachment(n, d) for n, d in attachments])
    assert str(caught.value) == message
    assert (_count(Reply), _count(ReplyAttachment), _count(StoredFile)) == (0, 0, 0)
    assert not any(get_config().files_dir.rglob('*')) if get_config().files_dir.exists() else True
    with db.transaction() as session:
        assert session.get(Share, casey.share_ids[0]).reply_count == 0
    assert _events('reply_created') == []


def test_attachments_over_the_size_limit_are_refused(two) -> None:
    casey, _ = two
    db.run(portal_data.enable, upload_max_mb=1)
    big = MINIMAL_PDF + b'0' * (1024 * 1024)
    with pytest.raises(InvalidInput, match='larger than the limit of 1 MB'):
        replies.create_reply(actor=_actor(casey.account_id), share_id=casey.share_ids[0], text='Big',
                             attachments=[replies.Attachment('big.pdf', big)])
    assert _count(Reply) == 0


def test_replies_refused_when_disabled_not_allowed_or_not_yours(two) -> None:
    casey, robin = two
    actor = _actor(casey.account_id)
    with pytest.raises(NotAvailable):
        replies.create_reply(actor=actor, share_id=robin.share_ids[0], text='Hello')
    with db.transaction() as session:
        share = session.get(Share, casey.share_ids[0])
        share.replies_allowed = False
        session.add(share)
    with pytest.raises(InvalidInput, match=replies.REPLIES_OFF):
        replies.create_reply(actor=actor, share_id=casey.share_ids[0], text='Hello')
    db.run(portal_data.enable, replies_enabled=False)
    with pytest.raises(InvalidInput, match=replies.REPLIES_OFF):
        replies.create_reply(actor=actor, share_id=casey.share_ids[1], text='Hello')
    assert _count(Reply) == 0
    assert [json.loads(e.detail_json)['what'] for e in _events('share_access_denied')] == ['reply']
