"""What a share's send history says is what the contact can do now; a replaced code says a newer one was sent;
the Send dialog adds a new contact that was typed in but not added (User fixture and services)."""
from __future__ import annotations

import pytest
from nicegui.testing import User
from sqlmodel import select

from models import Contact, OutboxEmail, Share
from services import activation, contacts, db, sharing
from services.errors import InvalidInput
from tests import factories
from tests.portal import click, seed
from tests.test_clinic_pages import _document_and_contact, _signed_in, see


def _history(session, document_id: int) -> list:
    staff = factories.actor_for(session, factories.account(session, role='staff'))
    return sharing.send_history(session, actor=staff, document_id=document_id)


def test_states_say_what_the_contact_can_do_now(database) -> None:
    def world(session):
        nurse = factories.account(session, role='staff')
        actor = factories.actor_for(session, nurse)
        chart = factories.chart(session)
        doc = factories.document(session, chart_row=chart)
        invited = factories.contact(session)
        bounced = factories.contact(session)
        member = factories.contact(session)
        factories.contact_account(session, member)
        for contact in (invited, bounced, member):
            sharing.share_document(session, document_id=doc.id, contact_id=contact.id, actor=actor)
        share = session.exec(select(Share).where(Share.contact_id == bounced.id)).one()
        session.get(OutboxEmail, share.notice_email_id).status = 'failed'
        return doc.id, invited.id, bounced.id, member.id
    doc_id, invited, bounced, member = db.run(world)
    states = {r.contact_id: (r.receipt.access, r.receipt.code_state) for r in db.run(_history, document_id=doc_id)}
    assert states[invited][0].startswith('pending code until') and states[invited][1].startswith('pending until')
    assert states[bounced] == ('bounced email: the invitation did not arrive', 'not received (the invitation bounced)')
    assert states[member] == ('active account', '')


def test_a_replaced_code_says_a_newer_one_was_sent(database) -> None:
    def world(session):
        contact = factories.contact(session)
        old = activation.issue_code(session, contact=contact, actor=None).code
        staff = factories.actor_for(session, factories.account(session, role='staff'))
        contacts.send_new_code(session, actor=staff, contact_id=contact.id)
        return old
    old = db.run(world)
    with pytest.raises(InvalidInput) as refused:
        activation.check_code(code=old, ip_address='10.0.0.9')
    assert str(refused.value) == activation.REPLACED_CODE and 'newer activation code' in str(refused.value)


async def test_send_adds_a_new_contact_typed_in_but_not_added(user: User) -> None:
    await _signed_in(user)
    doc_id, _ = seed(_document_and_contact, with_account=False)
    await user.open(f'/staff/document/{doc_id}')
    await see(user, marker='send-document')
    user.find(marker='send-document').click()
    user.find(marker='contact-first').type('Robin')
    user.find(marker='contact-last').type('Newcomer')
    user.find(marker='contact-email').type('robin@new.test')
    await click(user, 'send')
    await see(user, 'Sent 1 share (1 with an invitation).')
    contact = db.run(lambda session: session.exec(select(Contact).where(Contact.email == 'robin@new.test')).one())
    shares = db.run(lambda session: session.exec(select(Share.contact_id)).all())
    assert shares == [contact.id]


async def test_send_asks_before_adding_a_namesake(user: User) -> None:
    await _signed_in(user)
    doc_id, _ = seed(_document_and_contact, with_account=False)
    await user.open(f'/staff/document/{doc_id}')
    await see(user, marker='send-document')
    user.find(marker='send-document').click()
    user.find(marker='contact-first').type('Casey')
    user.find(marker='contact-last').type('Adjuster')
    user.find(marker='contact-email').type('casey.second@ins.test')
    await click(user, 'send')
    await see(user, 'Add it anyway: a different person with the same name, or another email for the same person')
    assert db.run(lambda session: session.exec(select(Share)).all()) == []
