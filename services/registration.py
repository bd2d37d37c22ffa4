"""New Registration from the portal: the single-use token, the draft answers, uploads and the submission.

The contact who starts a registration is signed out; from then on the registration token (>= 256 bits,
stored hashed, 2 hours, single use) is the only pass to the wizard. The token keeps a snapshot of the
questionnaire it was started with and the draft answers, so a reload loses nothing.
The clinic's review of submitted registrations lives in services.registration_review.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Chart, Contact, Registration, RegistrationFile, RegistrationToken
from models.shapes import Actor

from . import activation, audit, clock, files, outbox, questionnaire
from .errors import Forbidden, InvalidInput, NotAvailable
from .settings import get_settings

TOKEN_HOURS = 2
MAX_FILES = 10
TOKEN_GONE = ('This registration link has expired or was already used. '
              'Sign in to the portal and start a new registration.')


@dataclass(frozen=True)
class UploadedFile:
    """A file attached to a registration (no content, no path)."""

    id: int
    field_key: str
    file_name: str


@dataclass(frozen=True)
class WizardState:
    """What the wizard needs to (re)open: the questionnaire, the draft answers, the step, the files."""

    definition: dict[str, Any]
    answers: dict[str, Any]
    step: str
    files: tuple[UploadedFile, ...]
    expires_at: datetime
    upload_max_bytes: int


def token_hash(token: str) -> str:
    """The stored form of a registration token."""
    return hashlib.sha256(token.encode('utf-8', 'surrogatepass')).hexdigest()  # any typed text: never a match


def start(session: Session, *, actor: Actor) -> str:
    """Create a registration token for a signed-in contact (the caller then ends the contact's session)."""
    if actor.role != 'contact' or not actor.contact_ids:
        raise Forbidden('Only a portal contact can start a new registration.')
    if not get_settings(session).registration_enabled:
        raise NotAvailable('New registrations are not open at the moment.')
    token = secrets.token_urlsafe(32)
    definition = questionnaire.current_definition(session)
    first = definition['sections'][0]['key']
    row = RegistrationToken(token_hash=token_hash(token), contact_id=actor.contact_ids[0], account_id=actor.account_id,
                            created_at=clock.now(), expires_at=clock.now() + timedelta(hours=TOKEN_HOURS),
                            draft_json=json.dumps({'questionnaire': definition, 'answers': {}, 'step': first}))
    session.add(row)
    session.flush()
    audit.record(session, action='registration_start', actor=actor, object_type='registration_token',
                 object_id=row.id, contact_id=row.contact_id)
    return token


def wizard_state(session: Session, *, token: str) -> WizardState:
    """The draft behind a token; NotAvailable when it is unknown, used or expired."""
    row = _live_token(session, token)
    draft = _draft(row)
    return WizardState(definition=draft['questionnaire'], answers=draft['answers'], step=draft['step'],
                       files=_files(session, row), expires_at=row.expires_at,
                       upload_max_bytes=get_settings(session).upload_max_bytes)


def save_section(session: Session, *, token: str, section_key: str, answers: dict[str, Any]) -> dict[str, str]:
    """Check one step's answers and keep them in the draft; returns the problems ({} when saved)."""
    row = _live_token(session, token)
    draft = _draft(row)
    definition = draft['questionnaire']
    cleaned, errors = questionnaire.check_section(definition, section_key, answers, _file_counts(session, row))
    if errors:
        return errors
    keys = [s['key'] for s in definition['sections']]
    position = keys.index(section_key)
    draft['answers'].update(cleaned)
    draft['step'] = keys[position + 1] if position + 1 < len(keys) else questionnaire.REVIEW_STEP
    row.draft_json = json.dumps(draft)
    session.add(row)
    return {}


def add_file(session: Session, *, token: str, field_key: str, data: bytes, file_name: str) -> UploadedFile:
    """Check and keep an upload for a file field of the draft; UploadRejected/InvalidInput store nothing."""
    row = _live_token(session, token)
    fields = {f['key']: f for s in _draft(row)['questionnaire']['sections'] for f in s['fields']}
    if fields.get(field_key, {}).get('type') != 'file':
        raise InvalidInput('This question does not take files.')
    if sum(_file_counts(session, row).values()) >= MAX_FILES:
        raise InvalidInput(f'A registration can have at most {MAX_FILES} files.')
    stored = files.store(session, data, file_name, max_bytes=get_settings(session).upload_max_bytes)
    link = RegistrationFile(token_id=row.id, field_key=field_key, file_id=stored.id,
                            file_name=files.safe_file_name(file_name, stored.mime_type))
    session.add(link)
    session.flush()
    return UploadedFile(id=link.id, field_key=link.field_key, file_name=link.file_name)


def remove_file(session: Session, *, token: str, file_id: int) -> None:
    """Take an uploaded file off the draft."""
    row = _live_token(session, token)
    link = session.get(RegistrationFile, file_id)
    if link is None or link.token_id != row.id or link.registration_id is not None:
        raise NotAvailable()
    session.delete(link)


def submit(session: Session, *, token: str, ip_address: str | None = None) -> str:
    """Create the pending chart and the registration from the draft; returns the reference number.

    Queues the contact's "registration received" email; the staff digest picks the registration up
    later (staff_alerted_at stays NULL). The token is spent in the same transaction.
    """
    row = _live_token(session, token)
    draft = _draft(row)
    definition = draft['questionnaire']
    answers = _checked_answers(session, row, definition, draft['answers'])
    _spend(session, row)
    session.execute(sa.update(RegistrationToken).where(RegistrationToken.id == row.id)
                    .values(draft_json='{}'))  # the answers now live in the registration only
    chart = _new_chart(session, answers, row.account_id)
    registration = Registration(reference=_new_reference(session), contact_id=row.contact_id,
                                account_id=row.account_id, chart_id=chart.id, created_at=clock.now(),
                                questionnaire_json=json.dumps(definition), answers_json=json.dumps(answers))
    session.add(registration)
    session.flush()
    for link in session.exec(select(RegistrationFile).where(RegistrationFile.token_id == row.id)).all():
        link.registration_id = registration.id
        session.add(link)
    contact = session.get(Contact, row.contact_id) if row.contact_id else None
    if contact is not None:
        outbox.enqueue(session, kind='registration_received', to=contact.email,
                       context={'reference': registration.reference}, contact_id=contact.id)
    audit.record(session, action='registration_submit', actor=Actor(ip_address=ip_address),
                 object_type='registration', object_id=registration.id, chart_id=chart.id,
                 contact_id=row.contact_id, detail={'reference': registration.reference})
    return registration.reference


def purge_expired(session: Session) -> int:
    """Delete unused tokens past their expiry with their drafts and uploads (drafts hold PHI); returns how many."""
    expired = select(RegistrationToken.id).where(RegistrationToken.used_at.is_(None),
                                                 RegistrationToken.expires_at <= clock.now())
    ids = list(session.exec(expired.limit(500)).all())
    if ids:
        session.execute(sa.delete(RegistrationFile).where(RegistrationFile.token_id.in_(ids),
                                                          RegistrationFile.registration_id.is_(None)))
        session.execute(sa.delete(RegistrationToken).where(RegistrationToken.id.in_(ids)))
    return len(ids)


def purge_job() -> None:
    """Scheduler entry: purge expired registration drafts in their own transaction."""
    from . import db
    db.run(purge_expired)


# ----------------------------------------------------------------------------- helpers

def _live_token(session: Session, token: str) -> RegistrationToken:
    if not token or len(token) > 100:
        raise NotAvailable(TOKEN_GONE)
    row = session.exec(select(RegistrationToken).where(RegistrationToken.token_hash == token_hash(token))).first()
    if row is None or row.used_at is not None or row.expires_at <= clock.now():
        raise NotAvailable(TOKEN_GONE)
    return row


def _draft(row: RegistrationToken) -> dict[str, Any]:
    draft = json.loads(row.draft_json or '{}')
    draft.setdefault('answers', {})
    return draft


def _files(session: Session, row: RegistrationToken) -> tuple[UploadedFile, ...]:
    links = session.exec(select(RegistrationFile).where(RegistrationFile.token_id == row.id)
                         .order_by(RegistrationFile.id)).all()
    return tuple(UploadedFile(id=link.id, field_key=link.field_key, file_name=link.file_name) for link in links)


def _file_counts(session: Session, row: RegistrationToken) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in _files(session, row):
        counts[item.field_key] = counts.get(item.field_key, 0) + 1
    return counts


def _checked_answers(session: Session, row: RegistrationToken, definition: dict[str, Any],
                     draft_answers: dict[str, Any]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    counts = _file_counts(session, row)
    for item in definition['sections']:
        cleaned, errors = questionnaire.check_section(definition, item['key'], draft_answers, counts)
        if errors:
            raise InvalidInput(f'Please complete the step "{item["title"]}": {next(iter(errors.values()))}')
        answers.update(cleaned)
    return answers


def _spend(session: Session, row: RegistrationToken) -> None:
    """Mark the token used; a concurrent second submit finds no unused row and fails."""
    result = session.execute(sa.update(RegistrationToken)
                             .where(RegistrationToken.id == row.id, RegistrationToken.used_at.is_(None))
                             .values(used_at=clock.now()))
    if result.rowcount != 1:
        raise NotAvailable(TOKEN_GONE)


def _new_chart(session: Session, answers: dict[str, Any], account_id: int | None) -> Chart:
    fields = {key: answers.get(key) for key in questionnaire.CHART_FIELDS}
    dob = fields.pop('date_of_birth')
    chart = Chart(first_name=fields.pop('first_name'), last_name=fields.pop('last_name'),
                  date_of_birth=date.fromisoformat(dob) if dob else None, external_id=fields.pop('employee_id'),
                  status='pending_review', created_at=clock.now(), created_by_account_id=account_id, **fields)
    session.add(chart)
    session.flush()
    return chart


def _new_reference(session: Session) -> str:
    while True:
        reference = 'R-' + ''.join(secrets.choice(activation.ALPHABET) for _ in range(6))
        if session.exec(select(Registration.id).where(Registration.reference == reference)).first() is None:
            return reference
