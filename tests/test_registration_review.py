"""The clinic's review queue and the admin's questionnaire editor, through the pages."""
from __future__ import annotations

from nicegui import ui
from nicegui.testing import User
from sqlmodel import func, select

from models import Chart, Document, OutboxEmail, Registration, RegistrationFile, Setting
from services import db, questionnaire, registration, settings
from tests import factories
from tests.portal import click, seed, sign_in, sign_out, table_rows
from tests.test_registration_services import GOOD


async def see(user: User, target: str | None = None, **kwargs) -> None:
    await user.should_see(target, retries=30, **kwargs)


async def flashed(user: User, text: str) -> None:
    """A decision reopens the queue with the registration; its notice is the banner at the top."""
    await see(user, marker='flash')
    banner = next(iter(user.find(marker='flash').elements))
    assert text in [getattr(element, 'text', None) for element in banner.descendants()]


def submit_registration(session, email: str = 'casey@outside.test') -> int:
    """A contact starts and submits a registration through the services; returns its id."""
    settings.set_value(session, 'registration_enabled', True)
    settings.invalidate_cache()
    contact = factories.contact(session, email=email)
    actor = factories.actor_for(session, factories.contact_account(session, contact))
    token = registration.start(session, actor=actor)
    for key, answers in GOOD.items():
        assert registration.save_section(session, token=token, section_key=key, answers=answers) == {}
    reference = registration.submit(session, token=token)
    return session.exec(select(Registration.id).where(Registration.reference == reference)).one()


def staff_and_registration(session) -> int:
    factories.account(session, role='staff', email='nurse@clinic.test')
    return submit_registration(session)


def load(registration_id: int) -> tuple[Registration, Chart]:
    with db.transaction() as session:
        reg = session.get(Registration, registration_id)
        return reg, session.get(Chart, reg.chart_id)


def processed_emails() -> int:
    with db.transaction() as session:
        return session.exec(select(func.count()).select_from(OutboxEmail)
                            .where(OutboxEmail.kind == 'registration_processed')).one()


async def open_queue(user: User, registration_id: int) -> None:
    await sign_in(user, 'nurse@clinic.test')
    await see(user, marker='signed-in')
    await user.open(f'/staff/registrations?open={registration_id}')
    await see(user, marker='registration-detail')


async def test_queue_lists_pending_first_and_opens_answers(user: User) -> None:
    older = seed(staff_and_registration)
    newer = seed(submit_registration, email='other@outside.test')
    seed(lambda session: setattr(session.get(Registration, newer), 'status', 'rejected'))
    await sign_in(user, 'nurse@clinic.test')
    await see(user, marker='signed-in')
    await user.open('/staff/registrations')
    await see(user, marker='registration-table')
    assert [(r['id'], r['status'], r['name']) for r in await table_rows(user, 'registration-table', at_least=2)] == \
        [(older, 'pending', 'Quill, Robin'), (newer, 'rejected', 'Quill, Robin')]
    await user.open(f'/staff/registrations?open={older}')
    await see(user, 'Pre-employment exam')
    await see(user, marker='accept')


async def test_contacts_cannot_open_the_queue(user: User) -> None:
    seed(lambda session: factories.contact_account(session, factories.contact(session, email='casey@outside.test')))
    await sign_in(user, 'casey@outside.test')
    await see(user, marker='signed-in')
    await user.open('/staff/registrations')
    await see(user, 'You do not have access to that page.')


async def test_accept_makes_the_chart_active(user: User) -> None:
    registration_id = seed(staff_and_registration)
    await open_queue(user, registration_id)
    user.find(marker='accept').click()
    await see(user, 'Accepted: the chart is active.')
    await flashed(user, 'Accepted: the chart is active.')
    await see(user, marker='registration-detail')
    assert next(iter(user.find(marker='registration-status').elements)).text == 'accepted'
    await user.should_not_see(marker='accept')
    reg, chart = load(registration_id)
    assert (reg.status, chart.status) == ('accepted', 'active')
    assert processed_emails() == 1


async def test_a_decision_keeps_the_queue_filter(user: User) -> None:
    registration_id = seed(staff_and_registration)
    other = seed(submit_registration, email='other@outside.test')
    await sign_in(user, 'nurse@clinic.test')
    await see(user, marker='signed-in')
    await user.open(f'/staff/registrations?status=pending&open={registration_id}')
    await see(user, marker='accept')
    user.find(marker='accept').click()
    await flashed(user, 'Accepted: the chart is active.')
    await see(user, marker='registration-detail')
    assert next(iter(user.find(marker='status-filter').elements)).value == 'pending'
    rows = await table_rows(user, 'registration-table')
    assert [(r['id'], r['status']) for r in rows] == [(other, 'pending')]  # the accepted one left the filtered list


async def test_merge_into_a_chart_found_by_search(user: User) -> None:
    registration_id = seed(staff_and_registration)
    existing = seed(lambda session: factories.chart(session, first='Robin', last='Quillfeather').id)
    await open_queue(user, registration_id)
    user.find(marker='merge-search').type('quill')
    user.find(marker='merge-search-go').click()
    await see(user, marker=f'merge-into-{existing}')
    user.find(marker=f'merge-into-{existing}').click()
    await see(user, 'Merged into the chosen chart.')
    await flashed(user, 'Merged into the chosen chart.')
    await see(user, marker='merged-into')
    reg, chart = load(registration_id)
    assert (reg.status, chart.status, chart.merged_into_chart_id) == ('merged', 'merged', existing)
    with db.transaction() as session:
        docs = session.exec(select(Document).where(Document.chart_id == existing)).all()
        assert [d.doc_type for d in docs] == ['Questionnaire'] and 'Robin' in docs[0].body_html
    assert processed_emails() == 1


async def test_reject_needs_a_reason(user: User) -> None:
    registration_id = seed(staff_and_registration)
    await open_queue(user, registration_id)
    user.find(marker='reject').click()
    await see(user, 'The reason is required.')
    assert load(registration_id)[0].status == 'pending'
    user.find(marker='reject-reason').type('Already registered under another name')
    user.find(marker='reject').click()
    await see(user, 'Rejected.')
    await flashed(user, 'Rejected.')
    reg, chart = load(registration_id)
    assert (reg.status, reg.review_reason, chart.status) == \
        ('rejected', 'Already registered under another name', 'rejected')
    assert processed_emails() == 1


# ----------------------------------------------------------------------------- questionnaire editor

async def open_editor(user: User) -> None:
    seed(lambda session: factories.account(session, role='admin', email='boss@clinic.test'))
    await sign_in(user, 'boss@clinic.test')
    await see(user, marker='signed-in')
    await user.open('/admin/questionnaire')
    await see(user, marker='save')


def element(user: User, marker: str):
    return next(iter(user.find(marker=marker).elements))


async def test_duplicate_field_keys_are_refused_and_nothing_stored(user: User) -> None:
    await open_editor(user)
    user.find(marker='field-key-0-1').clear().type('first_name')
    user.find(marker='save').click()
    await see(user, 'Two fields have the key "first_name": field keys must be unique.')
    with db.transaction() as session:
        assert session.get(Setting, questionnaire.SETTING_KEY) is None


async def test_an_added_required_choice_field_is_what_the_next_wizard_asks(user: User) -> None:
    await open_editor(user)
    user.find(marker='add-field-0').click()
    await see(user, marker='field-label-0-4')
    user.find(marker='field-label-0-4').clear().type('Shift')
    element(user, 'field-type-0-4').value = 'choice'
    element(user, 'field-options-0-4').value = ['Day', 'Night']
    element(user, 'field-required-0-4').value = True
    user.find(marker='save').click()
    await see(user, 'Questionnaire saved.')
    with db.transaction() as session:
        field = questionnaire.current_definition(session)['sections'][0]['fields'][4]
    assert (field['key'], field['type'], field['required'], field['options']) == ('shift', 'choice', True, ['Day', 'Night'])

    seed(lambda session: factories.contact_account(session, factories.contact(session, email='casey@outside.test')))
    seed(lambda session: settings.set_value(session, 'registration_enabled', True))
    settings.invalidate_cache()
    sign_out(user)  # the admin signs out, the contact signs in
    await see(user, marker='sign-in')
    await sign_in(user, 'casey@outside.test')
    await see(user, marker='signed-in')
    await user.open('/registration/start')
    await click(user, 'registration-confirm')
    await see(user, marker='field-shift')
    for key, text in {'first_name': 'Robin', 'last_name': 'Quill', 'date_of_birth': '1990-04-02'}.items():
        user.find(marker=f'field-{key}').type(text)
    element(user, 'field-sex').value = 'Male'
    await click(user, 'next-person')
    await see(user, 'Shift is required.')
    assert element(user, 'field-shift').options == ['Day', 'Night']
    element(user, 'field-shift').value = 'Night'
    await click(user, 'next-person')
    await see(user, 'Step 2 of 6')
    assert next(iter(user.find(ui.stepper).elements)).value == 'contact_details'


async def test_reset_restores_the_default(user: User) -> None:
    await open_editor(user)
    user.find(marker='remove-field-0-3').click()
    user.find(marker='save').click()
    await see(user, 'Questionnaire saved.')
    with db.transaction() as session:
        assert len(questionnaire.current_definition(session)['sections'][0]['fields']) == 3
    user.find(marker='reset').click()
    user.find(marker='reset-confirm').click()
    await see(user, 'The default questionnaire applies again.')
    with db.transaction() as session:
        assert questionnaire.is_default(session)


def registration_with_file(session) -> int:
    factories.account(session, role='staff', email='nurse@clinic.test')
    settings.set_value(session, 'registration_enabled', True)
    settings.invalidate_cache()
    contact = factories.contact(session, email='casey@outside.test')
    actor = factories.actor_for(session, factories.contact_account(session, contact))
    token = registration.start(session, actor=actor)
    registration.add_file(session, token=token, field_key='documents', data=factories.MINIMAL_PDF, file_name='note.pdf')
    for key, answers in GOOD.items():
        registration.save_section(session, token=token, section_key=key, answers=answers)
    registration.submit(session, token=token)
    return session.exec(select(RegistrationFile.id)).one()


async def test_uploaded_files_are_served_to_staff_only(user: User) -> None:
    file_id = seed(registration_with_file)
    response = await user.http_client.get(f'/staff/registrations/file/{file_id}')
    assert response.status_code == 401
    await sign_in(user, 'casey@outside.test')
    await see(user, marker='signed-in')
    response = await user.http_client.get(f'/staff/registrations/file/{file_id}')
    assert response.status_code == 403 and factories.MINIMAL_PDF not in response.content
    sign_out(user)
    await see(user, marker='sign-in')
    await sign_in(user, 'nurse@clinic.test')
    await see(user, marker='signed-in')
    response = await user.http_client.get(f'/staff/registrations/file/{file_id}')
    assert response.status_code == 200 and response.content == factories.MINIMAL_PDF
    assert response.headers['cache-control'] == 'no-store'
    assert response.headers['x-content-type-options'] == 'nosniff'
    assert 'note.pdf' in response.headers['content-disposition']
