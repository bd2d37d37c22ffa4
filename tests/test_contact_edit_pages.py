"""The contact chart (User fixture): staff correct a contact (audited), are offered a new code at the new address
when the old one had an unused code, keep staff-only notes (audited), and see the contact's replies."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import ActivationCode, AuditEvent, Contact, OutboxEmail, Reply
from services import db
from tests import factories
from tests.portal import click, seed, sign_in

STAFF_EMAIL = 'nurse@clinic.test'


def _world(session) -> int:
    nurse = factories.account(session, role='staff', email=STAFF_EMAIL)
    contact = factories.contact(session, email='old@outside.test', first='Mary Ann', last='Smith')
    factories.share(session, contact_row=contact, sender=nurse, title='Work status')  # invitation with a code
    other = factories.contact(session)
    reader = factories.contact_account(session, other)
    result = factories.share(session, contact_row=other, sender=nurse, title='Fitness report')
    session.add(Reply(share_id=result.share_id, account_id=reader.id, author_name='R',
                      body='Word ' * 40 + 'END OF A LONG REPLY'))
    factories.account(session, role='staff', email='other-staff@clinic.test')
    return contact.id, other.id


def _value(user: User, marker: str):
    return next(iter(user.find(marker=marker).elements))


async def test_edit_contact_offers_a_new_code_notes_and_replies(user: User) -> None:
    contact_id, other_id = seed(_world)
    await sign_in(user, STAFF_EMAIL)
    await user.open(f'/staff/contacts/{contact_id}')
    await user.should_see('Contact chart: Mary Ann Smith', retries=50)
    user.find(marker='edit-contact').click()
    assert _value(user, 'edit-first').value == 'Mary Ann'
    _value(user, 'edit-email').value = 'someone-else@outside.test'
    _value(user, 'edit-org').value = 'Harbor Clinic'
    await click(user, 'save-contact')
    await user.should_see('Send a new code to the new address', retries=50)

    def stored(session):
        contact = session.get(Contact, contact_id)
        audited = session.exec(select(AuditEvent).where(AuditEvent.action == 'contact_updated')).all()
        return contact.email, contact.organization, [a.detail_json for a in audited]
    assert db.run(stored) == ('someone-else@outside.test', 'Harbor Clinic', ['{"fields": ["email", "organization"]}'])
    await click(user, 'resend-code')
    await user.should_see('A new code was sent to someone-else@outside.test.', retries=50)

    def codes(session):
        rows = session.exec(select(ActivationCode).where(ActivationCode.contact_id == contact_id)).all()
        emails = session.exec(select(OutboxEmail.to_address).where(OutboxEmail.contact_id == contact_id,
                                                                   OutboxEmail.kind == 'invitation')).all()
        return sorted(r.revoked_at is None for r in rows), sorted(emails)
    assert db.run(codes) == ([False, True], ['old@outside.test', 'someone-else@outside.test'])

    _value(user, 'notes-text').value = 'Prefers phone calls before 10.'
    await click(user, 'save-notes')
    await user.should_see('Notes saved.', retries=50)
    assert db.run(lambda session: session.get(Contact, contact_id).staff_notes) == 'Prefers phone calls before 10.'
    assert db.run(lambda session: session.exec(select(AuditEvent.detail_json).where(
        AuditEvent.action == 'contact_notes_changed')).all()) == ['{"length": 30}']

    await user.open(f'/staff/contacts/{other_id}')
    await user.should_see('Replies from this contact', retries=50)
    [row] = _value(user, 'contact-replies').rows
    assert row['document'] == 'Fitness report' and row['attachments'] == 0 and row['status'] == 'unworked'
    assert len(row['excerpt']) <= 121 and row['excerpt'].endswith('…') and 'END' not in row['excerpt']


async def test_edit_refuses_an_email_another_contact_has(user: User) -> None:
    contact_id, _ = seed(_world)
    taken = db.run(lambda session: session.exec(select(Contact.email).where(Contact.id != contact_id)).first())
    await sign_in(user, STAFF_EMAIL)
    await user.open(f'/staff/contacts/{contact_id}')
    user.find(marker='edit-contact').click()
    _value(user, 'edit-email').value = taken
    await click(user, 'save-contact')
    await user.should_see(f'already has the email {taken}.', retries=50)
    assert db.run(lambda session: session.get(Contact, contact_id).email) == 'old@outside.test'
