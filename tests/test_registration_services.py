"""Registration services on SQLite and PostgreSQL: questionnaire checks, tokens, drafts, submit, review."""
from __future__ import annotations

import json
import pytest
from sqlmodel import Session, func, select

from models import AuditEvent, Chart, Document, OutboxEmail, Registration, RegistrationFile, RegistrationToken, Setting
from services import db, questionnaire, registration, registration_review, settings
from services.errors import Forbidden, InvalidInput, NotAvailable, UploadRejected
from tests import factories

GOOD = {
    'person': {'first_name': 'Robin', 'last_name': 'Quill', 'date_of_birth': '1990-04-02', 'sex': 'Female'},
    'contact_details': {'phone': '+1 555 123 4567', 'email': 'Robin@Example.test', 'address': '1 Main St'},
    'employment': {'employer': 'Acme', 'employee_id': 'E-77'},
    'registration': {'reason': 'Pre-employment exam'},
    'submitter': {'submitter_name': 'Casey Case', 'submitter_phone': '555 987 6543'},
}


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def contact_actor(session: Session, email: str = 'casey@outside.test'):
    settings.set_value(session, 'registration_enabled', True)
    settings.invalidate_cache()
    contact = factories.contact(session, email=email)
    acct = factories.contact_account(session, contact)
    return factories.actor_for(session, acct), contact


def fill(token: str, sections: dict | None = None) -> None:
    for key, answers in (sections or GOOD).items():
        assert db.run(registration.save_section, token=token, section_key=key, answers=answers) == {}


def staff(session: Session):
    return factories.actor_for(session, factories.account(session, role='staff'))


def submitted(session: Session, email: str = 'casey@outside.test') -> tuple[str, Registration]:
    actor, _contact = contact_actor(session, email)
    token = registration.start(session, actor=actor)
    session.commit()
    fill(token)
    reference = db.run(registration.submit, token=token)
    return reference, session.exec(select(Registration).where(Registration.reference == reference)).one()


# ----------------------------------------------------------------------------- questionnaire

def test_default_questionnaire_is_valid_and_asks_what_the_issue_lists(database: str) -> None:
    definition = questionnaire.check_definition(questionnaire.default_definition())
    keys = [f['key'] for s in definition['sections'] for f in s['fields']]
    assert keys == ['first_name', 'last_name', 'date_of_birth', 'sex', 'phone', 'email', 'address', 'employer',
                    'employee_id', 'reason', 'documents', 'submitter_name', 'submitter_phone']


def test_duplicate_field_keys_are_refused_and_nothing_stored(session: Session) -> None:
    admin = factories.actor_for(session, factories.account(session, role='admin'))
    definition = questionnaire.default_definition()
    definition['sections'][1]['fields'][0]['key'] = 'first_name'
    with pytest.raises(InvalidInput, match='Two fields have the key "first_name"'):
        questionnaire.save_definition(session, definition=definition, actor=admin)
    assert session.get(Setting, questionnaire.SETTING_KEY) is None


@pytest.mark.parametrize(('change', 'message'), [
    (lambda d: d['sections'][0]['fields'][3].update(options=[]), 'needs at least one option'),
    (lambda d: d['sections'][0]['fields'][3].update(type='colour'), 'unknown type'),
    (lambda d: d['sections'][0]['fields'][0].update(label='x' * 121), 'at most 120 characters'),
    (lambda d: d['sections'][0]['fields'].pop(0), 'must keep the required field "first_name"'),
    (lambda d: d['sections'][0]['fields'][2].update(type='text'), 'must have the type Date'),
    (lambda d: d['sections'][1].update(key='person'), 'Two sections have the key "person"'),
])
def test_bad_definitions_get_a_clear_message(database: str, change, message: str) -> None:
    definition = questionnaire.default_definition()
    change(definition)
    with pytest.raises(InvalidInput, match=message):
        questionnaire.check_definition(definition)


def test_saved_definition_is_current_and_reset_restores_default(session: Session) -> None:
    admin = factories.actor_for(session, factories.account(session, role='admin'))
    definition = questionnaire.default_definition()
    definition['sections'][0]['fields'].append({'key': 'shift', 'label': 'Shift', 'type': 'choice',
                                                'required': True, 'options': ['Day', 'Night']})
    questionnaire.save_definition(session, definition=definition, actor=admin)
    assert questionnaire.current_definition(session)['sections'][0]['fields'][-1]['key'] == 'shift'
    questionnaire.reset_definition(session, actor=admin)
    assert questionnaire.current_definition(session) == questionnaire.default_definition()


@pytest.mark.parametrize(('answers', 'key', 'message'), [
    ({'first_name': 'x' * 5000}, 'first_name', 'First name can have at most 100 characters.'),
    ({'date_of_birth': '2999-01-01'}, 'date_of_birth', 'Date of birth cannot be in the future.'),
    ({'date_of_birth': '31/12/1990'}, 'date_of_birth', 'Date of birth is not a valid date'),
    ({'last_name': ''}, 'last_name', 'Last name is required.'),
    ({'sex': 'Robot'}, 'sex', 'Sex: please choose one of the options.'),
])
def test_person_answers_are_checked(database: str, answers: dict, key: str, message: str) -> None:
    definition = questionnaire.default_definition()
    _cleaned, errors = questionnaire.check_section(definition, 'person', {**GOOD['person'], **answers}, {})
    assert errors[key].startswith(message)


def test_contact_answers_check_email_and_phone_formats(database: str) -> None:
    definition = questionnaire.default_definition()
    _cleaned, errors = questionnaire.check_section(definition, 'contact_details',
                                                   {'phone': 'call me', 'email': 'not-an-email'}, {})
    assert errors == {'phone': 'Phone is not a valid phone number.', 'email': 'Email is not a valid email address.'}


# ----------------------------------------------------------------------------- wizard

def test_start_requires_a_contact_and_the_setting(session: Session) -> None:
    with pytest.raises(Forbidden):
        registration.start(session, actor=staff(session))
    contact = factories.contact(session)
    acct = factories.contact_account(session, contact)
    with pytest.raises(NotAvailable, match='not open'):
        registration.start(session, actor=factories.actor_for(session, acct))


def test_draft_survives_and_bad_step_stores_nothing(session: Session) -> None:
    actor, _ = contact_actor(session)
    token = registration.start(session, actor=actor)
    session.commit()
    before = db.run(registration.wizard_state, token=token)
    errors = db.run(registration.save_section, token=token, section_key='person',
                    answers={**GOOD['person'], 'first_name': 'x' * 5000})
    assert 'first_name' in errors
    assert db.run(registration.wizard_state, token=token) == before
    fill(token, {'person': GOOD['person']})
    state = db.run(registration.wizard_state, token=token)
    assert state.answers['first_name'] == 'Robin'
    assert state.step == 'contact_details'


def test_token_is_stored_hashed_and_expires(session: Session, clock) -> None:
    actor, _ = contact_actor(session)
    token = registration.start(session, actor=actor)
    session.commit()
    row = session.exec(select(RegistrationToken)).one()
    assert row.token_hash == registration.token_hash(token) and token not in row.token_hash
    clock.advance(hours=registration.TOKEN_HOURS, seconds=1)
    with pytest.raises(NotAvailable, match='expired or was already used'):
        db.run(registration.wizard_state, token=token)


def test_uploads_are_checked_and_linked(session: Session) -> None:
    actor, _ = contact_actor(session)
    token = registration.start(session, actor=actor)
    session.commit()
    with pytest.raises(UploadRejected, match='not a real'):
        db.run(registration.add_file, token=token, field_key='documents', data=b'MZ\x90 exe', file_name='x.pdf')
    with pytest.raises(InvalidInput, match='does not take files'):
        db.run(registration.add_file, token=token, field_key='reason', data=factories.MINIMAL_PDF, file_name='a.pdf')
    assert count(session, RegistrationFile) == 0
    uploaded = db.run(registration.add_file, token=token, field_key='documents', data=factories.MINIMAL_PDF,
                      file_name='../../etc/note.pdf')
    assert uploaded.file_name == 'note.pdf'
    fill(token)
    reference = db.run(registration.submit, token=token)
    with db.transaction() as check:
        link = check.exec(select(RegistrationFile)).one()
        reg = check.exec(select(Registration).where(Registration.reference == reference)).one()
        assert link.registration_id == reg.id


def test_submit_creates_one_pending_chart_registration_and_email(session: Session) -> None:
    reference, reg = submitted(session)
    assert reference.startswith('R-') and len(reference) == 8
    with db.transaction() as check:
        charts = check.exec(select(Chart)).all()
        assert [(c.first_name, c.last_name, c.status, c.email, c.external_id) for c in charts] == \
            [('Robin', 'Quill', 'pending_review', 'robin@example.test', 'E-77')]
        reg = check.exec(select(Registration)).one()
        assert reg.status == 'pending' and reg.staff_alerted_at is None and reg.chart_id == charts[0].id
        assert json.loads(reg.answers_json)['reason'] == 'Pre-employment exam'
        email = check.exec(select(OutboxEmail).where(OutboxEmail.kind == 'registration_received')).one()
        assert email.to_address == 'casey@outside.test'
        assert reference in email.body_text and 'Robin' not in email.body_text and 'Quill' not in email.subject
        assert check.exec(select(AuditEvent).where(AuditEvent.action == 'registration_submit')).one()


def test_token_cannot_be_used_twice(session: Session) -> None:
    actor, _ = contact_actor(session)
    token = registration.start(session, actor=actor)
    session.commit()
    fill(token)
    db.run(registration.submit, token=token)
    with pytest.raises(NotAvailable):
        db.run(registration.submit, token=token)
    with db.transaction() as check:
        assert count(check, Registration) == 1 and count(check, Chart) == 1


def test_submit_with_missing_answers_stores_nothing(session: Session) -> None:
    actor, _ = contact_actor(session)
    token = registration.start(session, actor=actor)
    session.commit()
    fill(token, {'person': GOOD['person']})
    with pytest.raises(InvalidInput, match='Please complete the step "Contact details"'):
        db.run(registration.submit, token=token)
    with db.transaction() as check:
        assert count(check, Chart) == 0 and count(check, Registration) == 0
        assert check.exec(select(RegistrationToken)).one().used_at is None


# ----------------------------------------------------------------------------- review

def test_queue_lists_pending_first_and_pages(session: Session) -> None:
    _ref, first = submitted(session)
    _ref2, second = submitted(session, 'other@outside.test')
    reviewer = staff(session)
    session.commit()
    db.run(registration_review.reject, actor=reviewer, registration_id=second.id, reason='Duplicate')
    rows, total = db.run(registration_review.list_registrations, actor=reviewer, offset=0, limit=1)
    assert total == 2 and [r.id for r in rows] == [first.id]
    rows, _ = db.run(registration_review.list_registrations, actor=reviewer, offset=1, limit=1)
    assert [(r.id, r.status) for r in rows] == [(second.id, 'rejected')]
    with pytest.raises(Forbidden):
        db.run(registration_review.list_registrations, actor=factories.actor_for(session, factories.account(
            session, role='contact')))


def test_accept_activates_the_chart_and_files_the_answers(session: Session) -> None:
    _ref, reg = submitted(session)
    reviewer = staff(session)
    session.commit()
    db.run(registration_review.accept, actor=reviewer, registration_id=reg.id)
    with db.transaction() as check:
        assert check.get(Chart, reg.chart_id).status == 'active'
        assert check.get(Registration, reg.id).status == 'accepted'
        doc = check.exec(select(Document).where(Document.chart_id == reg.chart_id)).one()
        assert 'Robin' in doc.body_html and doc.doc_type == 'Questionnaire'
        assert check.exec(select(OutboxEmail).where(OutboxEmail.kind == 'registration_processed')).one()
        assert check.exec(select(AuditEvent).where(AuditEvent.action == 'registration_accepted')).one()
    with pytest.raises(InvalidInput, match='already accepted'):
        db.run(registration_review.accept, actor=reviewer, registration_id=reg.id)


def test_merge_attaches_answers_to_the_chosen_chart(session: Session) -> None:
    _ref, reg = submitted(session)
    reviewer = staff(session)
    existing = factories.chart(session, first='Robin', last='Quill')
    session.commit()
    hits = db.run(registration_review.search_charts, actor=reviewer, query='qui rob')
    assert [h.id for h in hits] == [existing.id]  # the pending chart is not offered
    with pytest.raises(InvalidInput, match='existing, active chart'):
        db.run(registration_review.merge, actor=reviewer, registration_id=reg.id, chart_id=reg.chart_id)
    db.run(registration_review.merge, actor=reviewer, registration_id=reg.id, chart_id=existing.id)
    with db.transaction() as check:
        pending = check.get(Chart, reg.chart_id)
        assert (pending.status, pending.merged_into_chart_id) == ('merged', existing.id)
        assert check.get(Registration, reg.id).status == 'merged'
        doc = check.exec(select(Document).where(Document.chart_id == existing.id)).one()
        assert 'Pre-employment exam' in doc.body_html


def test_reject_needs_a_reason(session: Session) -> None:
    _ref, reg = submitted(session)
    reviewer = staff(session)
    session.commit()
    with pytest.raises(InvalidInput, match='The reason is required.'):
        db.run(registration_review.reject, actor=reviewer, registration_id=reg.id, reason='  ')
    db.run(registration_review.reject, actor=reviewer, registration_id=reg.id, reason='Not our patient')
    with db.transaction() as check:
        assert check.get(Chart, reg.chart_id).status == 'rejected'
        row = check.get(Registration, reg.id)
        assert (row.status, row.review_reason) == ('rejected', 'Not our patient')


def test_opening_a_registration_is_audited(session: Session) -> None:
    _ref, reg = submitted(session)
    reviewer = staff(session)
    session.commit()
    detail = db.run(registration_review.get_registration, actor=reviewer, registration_id=reg.id)
    assert ('First name', 'Robin') in detail.sections[0][1]
    assert detail.submitted_by.endswith('<casey@outside.test>')
    with db.transaction() as check:
        assert check.exec(select(AuditEvent).where(AuditEvent.action == 'registration_view')).one()


def test_expired_token_after_clock_moves(session: Session, clock) -> None:
    actor, _ = contact_actor(session)
    token = registration.start(session, actor=actor)
    session.commit()
    fill(token)
    clock.advance(hours=2, minutes=1)
    with pytest.raises(NotAvailable):
        db.run(registration.submit, token=token)
    with db.transaction() as check:
        assert count(check, Registration) == 0


def test_expired_drafts_are_purged_and_submitted_drafts_emptied(session: Session, clock) -> None:
    actor, _ = contact_actor(session)
    abandoned = registration.start(session, actor=actor)
    done = registration.start(session, actor=actor)
    session.commit()
    db.run(registration.add_file, token=abandoned, field_key='documents', data=factories.MINIMAL_PDF, file_name='a.pdf')
    fill(abandoned, {'person': GOOD['person']})
    fill(done)
    db.run(registration.submit, token=done)
    assert db.run(registration.purge_expired) == 0
    clock.advance(hours=3)
    assert db.run(registration.purge_expired) == 1
    with db.transaction() as check:
        token = check.exec(select(RegistrationToken)).one()
        assert token.used_at is not None and token.draft_json == '{}'
        assert count(check, RegistrationFile) == 0
