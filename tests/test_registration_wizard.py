"""The New Registration wizard through the pages (NiceGUI User fixture)."""
from __future__ import annotations

from nicegui import ui
from nicegui.testing import User
from sqlmodel import func, select

from models import Chart, OutboxEmail, Registration, RegistrationFile, UserSession
from services import db, settings
from tests import factories
from tests.portal import click, seed, sign_in

PERSON = {'first_name': 'Robin', 'last_name': 'Quill', 'date_of_birth': '1990-04-02'}


def enable_registration(session) -> None:
    settings.set_value(session, 'registration_enabled', True)
    contact = factories.contact(session, email='casey@outside.test')
    factories.contact_account(session, contact)


async def see(user: User, target: str | None = None, **kwargs) -> None:
    """should_see with more patience (the machine is shared; server calls run off the event loop)."""
    await user.should_see(target, retries=30, **kwargs)


def count(model) -> int:
    with db.transaction() as session:
        return session.exec(select(func.count()).select_from(model)).one()


async def start_wizard(user: User) -> str:
    """Sign in as a contact, go through /registration/start; returns the wizard path."""
    seed(enable_registration)
    settings.invalidate_cache()
    await sign_in(user, 'casey@outside.test')
    await see(user, marker='signed-in')
    await user.open('/registration/start')  # opening it changes nothing: the contact confirms
    await see(user, marker='registration-confirm')
    assert count(UserSession) == 1
    await click(user, 'registration-confirm')
    await see(user, marker='stepper')
    path = user.back_history[-1]
    assert path.startswith('/registration/') and path != '/registration/start'
    return path


def value(user: User, marker: str):
    return next(iter(user.find(marker=marker).elements)).value


def set_value(user: User, marker: str, new) -> None:
    next(iter(user.find(marker=marker).elements)).value = new


def stepper(user: User) -> str:
    return next(iter(user.find(ui.stepper).elements)).value


def fill_person(user: User, **override: str) -> None:
    for key, text in {**PERSON, **override}.items():
        user.find(marker=f'field-{key}').clear().type(text)
    set_value(user, 'field-sex', 'Female')


async def complete(user: User) -> None:
    """Fill every step of the default questionnaire and reach the review step."""
    fill_person(user)
    await click(user, 'next-person')
    await see(user, 'Step 2 of 6: Contact details')
    user.find(marker='field-phone').type('+1 555 123 4567')
    await click(user, 'next-contact_details')
    await see(user, 'Step 3 of 6: Employment')
    await click(user, 'next-employment')
    await see(user, 'Step 4 of 6: Reason')
    user.find(marker='field-reason').type('Pre-employment exam')
    await click(user, 'next-registration')
    await see(user, 'Step 5 of 6: About you')
    user.find(marker='field-submitter_name').type('Casey Case')
    user.find(marker='field-submitter_phone').type('555 987 6543')
    await click(user, 'next-submitter')
    await see(user, 'Step 6 of 6: Review and submit')


async def test_start_signs_out_and_opens_the_wizard(user: User) -> None:
    await start_wizard(user)
    await see(user, 'You were signed out of the portal.')
    await see(user, 'Step 1 of 6: The person')
    assert count(UserSession) == 0
    await user.open('/')
    await see(user, marker='sign-in')


async def test_start_refused_when_registration_is_disabled(user: User) -> None:
    seed(lambda session: factories.contact_account(session, factories.contact(session, email='casey@outside.test')))
    await sign_in(user, 'casey@outside.test')
    await see(user, marker='signed-in')
    await user.open('/registration/start')
    await click(user, 'registration-confirm')
    await see(user, 'New registrations are not open at the moment.')
    assert count(UserSession) == 1


async def test_required_fields_and_formats_block_the_next_step(user: User) -> None:
    await start_wizard(user)
    await click(user, 'next-person')
    await see(user, 'First name is required.')
    await see(user, 'Date of birth is required.')
    assert stepper(user) == 'person'
    fill_person(user, date_of_birth='2999-01-01')
    await click(user, 'next-person')
    await see(user, 'Date of birth cannot be in the future.')
    assert stepper(user) == 'person'
    fill_person(user, first_name='x' * 5000)
    await click(user, 'next-person')
    await see(user, 'First name can have at most 100 characters.')
    fill_person(user)
    await click(user, 'next-person')
    await see(user, 'Step 2 of 6')
    user.find(marker='field-phone').type('call me')
    user.find(marker='field-email').type('not-an-email')
    await click(user, 'next-contact_details')
    await see(user, 'Phone is not a valid phone number.')
    await see(user, 'Email is not a valid email address.')
    assert stepper(user) == 'contact_details'
    assert count(Chart) == 0


async def test_back_and_next_keep_answers_and_reload_keeps_the_draft(user: User) -> None:
    path = await start_wizard(user)
    fill_person(user)
    await click(user, 'next-person')
    await see(user, 'Step 2 of 6')
    user.find(marker='field-phone').type('555 123 4567')
    user.find(marker='back-contact_details').click()
    assert stepper(user) == 'person'
    assert value(user, 'field-first_name') == 'Robin'
    await click(user, 'next-person')
    await see(user, 'Step 2 of 6')
    assert value(user, 'field-phone') == '555 123 4567'
    await user.open(path)
    await see(user, 'Step 2 of 6: Contact details')
    assert value(user, 'field-first_name') == 'Robin'
    assert value(user, 'field-sex') == 'Female'


async def test_submit_creates_one_pending_chart_and_the_staff_alert(user: User) -> None:
    path = await start_wizard(user)
    await complete(user)
    review = next(iter(user.find(marker='review-first_name').elements))
    assert review.text == 'Robin'
    await click(user, 'submit')
    await see(user, marker='registration-done')
    reference = next(iter(user.find(marker='reference').elements)).text
    await see(user, marker='to-sign-in')
    with db.transaction() as session:
        charts = session.exec(select(Chart)).all()
        assert [(c.last_name, c.status) for c in charts] == [('Quill', 'pending_review')]
        registration = session.exec(select(Registration)).one()
        assert registration.reference == reference and registration.staff_alerted_at is None
        assert session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'registration_received')).one()
    await user.open(path)
    await see(user, marker='registration-gone')
    await see(user, 'expired or was already used')


async def test_expired_token_shows_a_clear_message(user: User, clock) -> None:
    path = await start_wizard(user)
    fill_person(user)
    clock.advance(hours=2, minutes=1)
    await click(user, 'next-person')
    await see(user, marker='registration-gone')
    await user.open(path)
    await see(user, 'This registration link has expired or was already used.')


async def test_files_are_checked_and_kept(user: User) -> None:
    from nicegui.elements.upload_files import SmallFileUpload
    await start_wizard(user)
    upload = next(iter(user.find(marker='field-documents').elements))
    await upload.handle_uploads([SmallFileUpload(name='virus.pdf', content_type='application/pdf', _data=b'MZ junk')])
    await see(user, '"virus.pdf" is not a real PDF, PNG, JPEG file.')
    await upload.handle_uploads([SmallFileUpload(name='letter.pdf', content_type='application/pdf',
                                                 _data=factories.MINIMAL_PDF)])
    await see(user, 'letter.pdf')
    assert count(RegistrationFile) == 1
