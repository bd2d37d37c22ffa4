"""Clinic services on SQLite and PostgreSQL: charts, documents, contacts, batch send, rescind, history, worklist."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import ActivationCode, AuditEvent, Document, OutboxEmail, Reply, ReplyAttachment, Share, StoredFile
from models.shapes import Actor
from services import activation, charts, contacts, db, documents, files, idempotency, sharing, worklist
from services.errors import Forbidden, InvalidInput, UploadRejected
from services.settings import get_settings
from tests import factories


@pytest.fixture
def staff(session):
    acct = factories.account(session, role='staff', name='Dr. Staff')
    return factories.actor_for(session, acct)


def _actions(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_chart_search_by_name_birth_date_and_external_id(session, staff) -> None:
    a = charts.save_chart(session, actor=staff, first_name='Ann', last_name='Lee', date_of_birth='1970-01-02',
                          external_id='EMP-77')
    charts.save_chart(session, actor=staff, first_name='Bob', last_name='Stone', date_of_birth='1981-03-04')
    for query in ('lee', 'ann le', '1970-01-02', 'emp-77'):
        rows, total = charts.search_charts(session, actor=staff, query=query)
        assert [r.id for r in rows] == [a] and total == 1, query
    assert charts.search_charts(session, actor=staff, query='')[1] == 2
    assert charts.search_charts(session, actor=staff, query='%')[1] == 0


def test_chart_edit_is_audited_and_bad_birth_date_refused(session, staff) -> None:
    chart_id = charts.save_chart(session, actor=staff, first_name='Ann', last_name='Lee')
    charts.save_chart(session, actor=staff, chart_id=chart_id, first_name='Anne', last_name='Lee')
    assert charts.get_chart(session, actor=staff, chart_id=chart_id).first_name == 'Anne'
    with pytest.raises(InvalidInput, match='Date of birth'):
        charts.save_chart(session, actor=staff, first_name='X', last_name='Y', date_of_birth='yesterday')
    assert [e.detail_json for e in _actions(session, 'chart_updated')] == ['{"fields": ["first_name"]}']


def test_contacts_cannot_use_clinic_services(session) -> None:
    contact_actor = Actor(account_id=99, role='contact')
    with pytest.raises(Forbidden):
        charts.search_charts(session, actor=contact_actor)
    with pytest.raises(Forbidden):
        sharing.send_documents(session, document_ids=[1], contact_ids=[1], actor=contact_actor)


def test_html_document_is_sanitized(session, staff) -> None:
    chart = factories.chart(session)
    doc_id = documents.create_document(session, actor=staff, chart_id=chart.id, service_date='2026-11-02',
                                       doc_type='Physician Note', title='Note',
                                       body='<p onclick="x()">Fine</p><script>alert(1)</script>')
    view = documents.get_document(session, actor=staff, document_id=doc_id)
    assert view.body_html == '<p>Fine</p>' and view.author == 'Dr. Staff'
    assert len(_actions(session, 'document_viewed')) == 1


def test_uploaded_pdf_is_stored_by_hash(session, staff) -> None:
    chart = factories.chart(session)
    doc_id = documents.create_document(session, actor=staff, chart_id=chart.id, service_date='2026-11-02',
                                       doc_type='Lab Result', title='Labs', body_kind='file',
                                       file_data=factories.MINIMAL_PDF, file_name='../../etc/labs.pdf')
    content = documents.document_file(session, actor=staff, document_id=doc_id)
    assert content.data == factories.MINIMAL_PDF and content.mime_type == 'application/pdf'
    assert content.file_name == 'labs.pdf'


@pytest.mark.parametrize('data, name, message', [
    (b'MZ\x90\x00' + b'\x00' * 100, 'report.pdf', 'is not a real PDF'),
    (b'', 'empty.pdf', 'is empty'),
    (b'%PDF-' + b'0' * (1024 * 1024 + 1), 'big.pdf', 'larger than the limit'),
])
def test_bad_uploads_store_nothing(session, staff, data, name, message) -> None:
    from services import settings as settings_module
    settings_module.save_settings(session, changes={'upload_max_mb': 1}, account_id=None)
    chart = factories.chart(session)
    with pytest.raises(UploadRejected, match=message):
        documents.create_document(session, actor=staff, chart_id=chart.id, service_date='2026-11-02',
                                  doc_type='Lab Result', title='Labs', body_kind='file', file_data=data, file_name=name)
    assert session.exec(select(Document)).all() == [] and session.exec(select(StoredFile)).all() == []


def test_add_contact_refuses_duplicate_email_and_warns_on_same_name(session, staff) -> None:
    contacts.add_contact(session, actor=staff, first_name='Dana', last_name='Fox', email='Dana@Ins.test')
    with pytest.raises(InvalidInput, match='already has the email dana@ins.test'):
        contacts.add_contact(session, actor=staff, first_name='Other', last_name='One', email='dana@ins.test')
    with pytest.raises(contacts.PossibleDuplicate):
        contacts.add_contact(session, actor=staff, first_name='dana', last_name='FOX', email='dana2@ins.test')
    with pytest.raises(InvalidInput, match='Email is required'):
        contacts.add_contact(session, actor=staff, first_name='No', last_name='Mail', email='')
    contacts.add_contact(session, actor=staff, first_name='Dana', last_name='Fox', email='dana2@ins.test',
                         confirm_same_name=True)
    rows, total = contacts.search_contacts(session, actor=staff, query='fox')
    assert total == 2 and {r.email for r in rows} == {'dana@ins.test', 'dana2@ins.test'}


def test_batch_send_three_documents_to_two_contacts(session, staff) -> None:
    chart = factories.chart(session)
    docs = [factories.document(session, chart_row=chart, title=f'Doc {i}').id for i in range(3)]
    new, existing = factories.contact(session), factories.contact(session)
    factories.contact_account(session, existing)
    results = sharing.send_documents(session, document_ids=docs, contact_ids=[new.id, existing.id], actor=staff)
    assert len(results) == 6 and len(session.exec(select(Share)).all()) == 6
    invitations = session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'invitation')).all()
    reminders = session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'reminder_to_review')).all()
    assert [e.to_address for e in invitations] == [new.email]  # one invitation covers the whole batch
    assert len(reminders) == 1  # merged within the window
    assert len(session.exec(select(ActivationCode)).all()) == 1
    history = sharing.send_history(session, document_id=docs[0], actor=staff)
    assert {h.recipient_email for h in history} == {new.email, existing.email}
    states = {h.recipient_email: h.code_state for h in history}
    assert states[existing.email] == '' and states[new.email].startswith('pending until')
    later = {h.recipient_email: h.code_state for h in sharing.send_history(session, document_id=docs[2], actor=staff)}
    assert later[new.email].startswith('pending until')  # covered by the batch's one code


def test_batch_send_is_all_or_nothing(session, staff) -> None:
    chart = factories.chart(session)
    doc = factories.document(session, chart_row=chart)
    contact = factories.contact(session)
    session.commit()
    with pytest.raises(InvalidInput):
        sharing.send_documents(session, document_ids=[doc.id], contact_ids=[contact.id, 10_000], actor=staff)
    session.rollback()
    assert session.exec(select(Share)).all() == []


def test_the_same_send_submitted_twice_shares_once(session, staff) -> None:
    chart = factories.chart(session)
    doc = factories.document(session, chart_row=chart)
    contact = factories.contact(session)
    session.commit()

    def submit():
        return db.run(idempotency.run_once, idempotency_key='send-form-key.1', service=sharing.send_documents,
                      document_ids=[doc.id], contact_ids=[contact.id], actor=staff)

    [first] = submit()
    assert first.email_kind == 'invitation'
    assert submit() is idempotency.REPLAYED
    session.expire_all()
    assert len(session.exec(select(Share)).all()) == 1
    assert len(session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'invitation')).all()) == 1
    assert len(session.exec(select(ActivationCode)).all()) == 1


def test_a_refused_change_leaves_its_key_unused_for_the_corrected_resubmit(session, staff) -> None:
    chart = factories.chart(session)
    doc = factories.document(session, chart_row=chart)
    contact = factories.contact(session)
    session.commit()

    def submit(contact_ids):
        return db.run(idempotency.run_once, idempotency_key='send-form-key.1', service=sharing.send_documents,
                      document_ids=[doc.id], contact_ids=contact_ids, actor=staff)

    with pytest.raises(InvalidInput, match='Choose at least one recipient'):
        submit([])
    assert not db.run(idempotency.was_used, key='send-form-key.1')
    assert len(submit([contact.id])) == 1  # not mistaken for a replay
    assert db.run(idempotency.was_used, key='send-form-key.1')
    session.expire_all()
    assert len(session.exec(select(Share)).all()) == 1


def test_rescind_removes_access_and_is_audited(session, staff) -> None:
    contact = factories.contact(session)
    acct = factories.contact_account(session, contact)
    result = factories.share(session, contact_row=contact)
    reader = factories.actor_for(session, acct)
    assert sharing.share_visible_to(session, share_id=result.share_id, actor=reader)
    with pytest.raises(InvalidInput, match='Reason is required'):
        sharing.rescind(session, share_id=result.share_id, reason=' ', actor=staff)
    sharing.rescind(session, share_id=result.share_id, reason='Sent to the wrong insurer', actor=staff)
    assert not sharing.share_visible_to(session, share_id=result.share_id, actor=reader)
    share = session.get(Share, result.share_id)
    assert share.rescind_reason == 'Sent to the wrong insurer' and share.rescinded_by_account_id == staff.account_id
    assert session.get(Document, result.copy_document_id).deleted_at is not None
    assert len(_actions(session, 'share_rescinded')) == 1


def test_send_new_code_replaces_the_pending_one(session, staff) -> None:
    contact = factories.contact(session)
    factories.share(session, contact_row=contact)
    new_id = contacts.send_new_code(session, actor=staff, contact_id=contact.id)
    chart = contacts.contact_chart(session, actor=staff, contact_id=contact.id)
    assert [c.id for c in chart.codes if c.pending] == [new_id]
    assert len(session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'invitation')).all()) == 2
    assert chart.account.state == 'no account'


def _reply(session, share_id, account_id, *, attachment: bytes | None = None) -> Reply:
    reply = Reply(share_id=share_id, account_id=account_id, author_name='Casey Contact', body='Cleared for work.')
    session.add(reply)
    session.flush()
    if attachment:
        stored = files.store(session, attachment, 'note.png', max_bytes=get_settings(session).upload_max_bytes)
        session.add(ReplyAttachment(reply_id=reply.id, file_id=stored.id, file_name='note.png'))
        session.flush()
    return reply


def test_worklist_move_creates_documents_in_the_patient_chart(session, staff) -> None:
    contact = factories.contact(session)
    acct = factories.contact_account(session, contact)
    result = factories.share(session, contact_row=contact)
    share = session.get(Share, result.share_id)
    reply = _reply(session, share.id, acct.id, attachment=factories.MINIMAL_PNG)
    assert worklist.unworked_count(session, actor=staff) == 1
    rows, total = worklist.list_replies(session, actor=staff, show='unworked')
    assert total == 1 and rows[0].reply_id == reply.id and rows[0].document_id == share.source_document_id
    view = worklist.get_reply(session, actor=staff, reply_id=reply.id)
    assert [a.file_name for a in view.attachments] == ['note.png']
    doc_id = worklist.move_reply(session, actor=staff, reply_id=reply.id)
    moved = session.exec(select(Document).where(Document.chart_id == share.chart_id,
                                                Document.source_document_id == share.source_document_id)).all()
    assert {d.id for d in moved} >= {doc_id} and len(moved) == 2
    assert session.get(Document, doc_id).body_text == 'Cleared for work.'
    assert worklist.unworked_count(session, actor=staff) == 0
    with pytest.raises(InvalidInput, match='already moved'):
        worklist.move_reply(session, actor=staff, reply_id=reply.id)
    assert len(_actions(session, 'reply_moved')) == 1


def test_worklist_assign_and_mark_worked(session, staff) -> None:
    contact = factories.contact(session)
    acct = factories.contact_account(session, contact)
    first = _reply(session, factories.share(session, contact_row=contact).share_id, acct.id)
    second = _reply(session, factories.share(session, contact_row=contact).share_id, acct.id)
    worklist.mark_worked(session, actor=staff, reply_id=second.id)
    worklist.assign(session, actor=staff, reply_id=first.id, account_id=staff.account_id)
    with pytest.raises(InvalidInput):
        worklist.assign(session, actor=staff, reply_id=first.id, account_id=acct.id)
    rows, _ = worklist.list_replies(session, actor=staff)
    assert [(r.reply_id, r.status) for r in rows] == [(first.id, 'unworked'), (second.id, 'worked')]
    assert rows[0].assigned_to == 'Dr. Staff'
    assert [r.reply_id for r in worklist.list_replies(session, actor=staff, show='mine')[0]] == [first.id]


def test_invitation_code_matches_one_unused_activation_code(session, staff) -> None:
    chart = factories.chart(session)
    doc = factories.document(session, chart_row=chart)
    contact = factories.contact(session)
    [result] = sharing.send_documents(session, document_ids=[doc.id], contact_ids=[contact.id], actor=staff)
    row = session.exec(select(ActivationCode).where(
        ActivationCode.code_hash == activation.code_hash(result.activation_code))).one()
    assert row.used_at is None and row.contact_id == contact.id and row.share_id == result.share_id
