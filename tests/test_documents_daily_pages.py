"""Writing documents (User fixture): Markdown with a preview through the sanitizer, several files in one upload
(one document each), and the print view with the replies."""
from __future__ import annotations

import asyncio

import pytest
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User
from sqlmodel import select

from models import Document, Reply
from services import db
from tests import factories
from tests.portal import click, seed
from tests.test_clinic_pages import _reply_data, _signed_in, see


async def test_markdown_is_previewed_and_stored_sanitized(user: User) -> None:
    await _signed_in(user)
    chart = seed(factories.chart)
    await user.open(f'/staff/chart/{chart.id}/new-document')
    await see(user, marker='doc-title')
    user.find(marker='doc-title').type('Visit note')
    user.find(marker='doc-markdown').type('Fit for **light** duty <script>alert(1)</script> [x](javascript:alert(1))')
    preview = next(iter(user.find(marker='doc-markdown-preview').elements))
    assert '<strong>light</strong>' in preview.content and '<script>' not in preview.content
    await click(user, 'doc-save')
    await see(user, marker='document-html')
    body = db.run(lambda session: session.exec(select(Document.body_html)).one())
    assert '<strong>light</strong>' in body and '<script>' not in body and 'javascript:' not in body


async def _new_file_document(user: User, title: str) -> None:
    await _signed_in(user)
    chart = seed(factories.chart)
    await user.open(f'/staff/chart/{chart.id}/new-document')
    await see(user, marker='doc-title')
    user.find(marker='doc-title').type(title)
    user.find('PDF or image file').click()


async def _upload_two_files(user: User) -> None:
    upload = user.find(marker='doc-upload').elements.pop()
    with user.client:
        await upload.handle_uploads([
            SmallFileUpload(name='a.pdf', content_type='application/pdf', _data=factories.MINIMAL_PDF),
            SmallFileUpload(name='b.png', content_type='image/png', _data=factories.MINIMAL_PNG)])


def _titles() -> list[str]:
    return db.run(lambda session: sorted(session.exec(select(Document.title)).all()))


async def test_several_files_in_one_upload_become_one_document_each(user: User) -> None:
    await _new_file_document(user, 'Scans')
    await _upload_two_files(user)
    await see(user, 'Chosen: a.pdf, b.png (2 documents)')
    await click(user, 'doc-save')
    await see(user, '2 documents saved.')
    assert _titles() == ['Scans (a.pdf)', 'Scans (b.png)']


async def test_save_pressed_while_the_files_upload_waits_for_them(user: User) -> None:
    await _new_file_document(user, 'Scans')
    user.find(marker='doc-upload').trigger('start')  # the browser is still sending them
    user.find(marker='doc-save').click()
    await asyncio.sleep(0.3)
    assert _titles() == []  # not saved without them
    await _upload_two_files(user)
    user.find(marker='doc-upload').trigger('finish')
    await see(user, '2 documents saved.')
    assert _titles() == ['Scans (a.pdf)', 'Scans (b.png)']


async def test_print_view_shows_the_document_and_its_replies(user: User) -> None:
    await _signed_in(user)
    reply_id, _, original_id = seed(_reply_data)
    await user.open(f'/staff/document/{original_id}/print')
    await see(user, marker='print-title')
    await see(user, 'Approved, thanks.')
    await see(user, 'Replies (1)')
    assert db.run(lambda session: session.get(Reply, reply_id)) is not None


def test_the_contact_print_view_is_a_view_of_their_own_message_only(database) -> None:
    """Printing is reading: the share is marked read and the view audited (marked as a print); every reply is there,
    oldest first; another contact's message is refused with the viewer's words, and the refusal is audited."""
    from models import AuditEvent, Share
    from services import messages
    from services.errors import NotAvailable

    def world(session):
        staff = factories.account(session, role='staff')
        mine = factories.contact(session)
        reader = factories.contact_account(session, mine)
        share = factories.share(session, contact_row=mine, sender=staff, title='Work status').share_id
        for n in range(3):
            session.add(Reply(share_id=share, account_id=reader.id, author_name='R', body=f'Reply {n}'))
        other = factories.share(session, contact_row=factories.contact(session), sender=staff).share_id
        return factories.actor_for(session, reader), share, other
    actor, share_id, other_id = db.run(world)
    view = messages.print_message(actor=actor, share_id=share_id)
    assert view.title == 'Work status' and [r.body for r in view.replies] == ['Reply 0', 'Reply 1', 'Reply 2']
    assert db.run(lambda session: session.get(Share, share_id).first_read_at) is not None
    with pytest.raises(NotAvailable) as refused:
        messages.print_message(actor=actor, share_id=other_id)
    assert str(refused.value) == messages.NOT_AVAILABLE
    audited = db.run(lambda session: [(e.action, e.detail_json) for e in session.exec(
        select(AuditEvent).where(AuditEvent.action.in_(['document_viewed', 'share_access_denied']))).all()])
    assert [a for a, _ in audited] == ['document_viewed', 'share_access_denied']
    assert '"print": true' in audited[0][1] and '"what": "print"' in audited[1][1]
