"""The New Registration questionnaire: its definition (admin-edited or the shipped default) and answer checks.

A definition is plain data: {"title", "sections": [{"key", "title", "help", "fields": [{"key", "label", "type",
"required", "help", "options", "not_future"}]}]}. The order of sections and fields is their order in the lists.
"""
from __future__ import annotations

import copy
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session

from models import Setting
from models.shapes import Actor

from . import audit, clock, settings, validate
from .errors import InvalidInput
from .settings_admin import require_admin

DEFAULT_FILE = Path(__file__).resolve().parent.parent / 'assets' / 'questionnaire.json'
SETTING_KEY = 'questionnaire'
TYPES = {
    'text': 'Text', 'long_text': 'Long text', 'date': 'Date', 'choice': 'Choice', 'multi_choice': 'Multiple choice',
    'yes_no': 'Yes / no', 'email': 'Email', 'phone': 'Phone', 'file': 'File upload',
}
YES_NO = {'yes': 'Yes', 'no': 'No'}
REVIEW_STEP = 'review'
_KEY = re.compile(r'^[a-z][a-z0-9_]{0,39}$')
_TYPE_LIMITS = {'text': 200, 'long_text': 5000, 'email': 254, 'phone': 40}
# answers that fill the new chart: key -> (allowed types, length limit of the chart column)
CHART_FIELDS: dict[str, tuple[tuple[str, ...], int | None]] = {
    'first_name': (('text',), 100), 'last_name': (('text',), 100), 'date_of_birth': (('date',), None),
    'sex': (('choice', 'text'), 32), 'phone': (('phone',), 40), 'email': (('email',), 254),
    'address': (('text', 'long_text'), 500), 'employer': (('text',), 200), 'employee_id': (('text',), 64),
}
LIMITS = {'sections': 20, 'fields': 40, 'options': 30, 'label': 120, 'help': 500, 'option': 100, 'title': 120}


def default_definition() -> dict[str, Any]:
    """The questionnaire shipped with the portal (assets/questionnaire.json)."""
    return json.loads(DEFAULT_FILE.read_text(encoding='utf-8'))


def current_definition(session: Session) -> dict[str, Any]:
    """The questionnaire the next wizard asks: the admin's saved version, else the default."""
    stored = settings.get_value(session, SETTING_KEY)
    return copy.deepcopy(stored) if stored else default_definition()


def is_default(session: Session) -> bool:
    """True when no admin-edited questionnaire is stored."""
    return settings.get_value(session, SETTING_KEY) is None


def save_definition(session: Session, *, definition: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check and store an admin-edited questionnaire; a bad definition raises InvalidInput and stores nothing."""
    require_admin(actor)
    cleaned = check_definition(definition)
    settings.set_value(session, SETTING_KEY, cleaned, account_id=actor.account_id)
    audit.record(session, action='questionnaire_change', actor=actor, object_type='setting', object_id=SETTING_KEY,
                 detail={'sections': len(cleaned['sections']), 'fields': sum(len(s['fields']) for s in cleaned['sections'])})
    return cleaned


def reset_definition(session: Session, *, actor: Actor) -> dict[str, Any]:
    """Forget the admin's questionnaire: the default applies again."""
    require_admin(actor)
    row = session.get(Setting, SETTING_KEY)
    if row is not None:
        session.delete(row)
        session.flush()
    audit.record(session, action='questionnaire_reset', actor=actor, object_type='setting', object_id=SETTING_KEY)
    return default_definition()


# ----------------------------------------------------------------------------- definition check

def check_definition(definition: Any) -> dict[str, Any]:
    """A cleaned copy of a definition, or InvalidInput naming the first problem."""
    if not isinstance(definition, dict) or not isinstance(definition.get('sections'), list):
        raise InvalidInput('The questionnaire must have a list of sections.')
    title = _text(definition.get('title') or 'New registration', 'The questionnaire title', LIMITS['title'])
    sections = definition['sections']
    if not 1 <= len(sections) <= LIMITS['sections']:
        raise InvalidInput(f'The questionnaire needs 1 to {LIMITS["sections"]} sections.')
    section_keys: set[str] = set()
    field_keys: set[str] = set()
    cleaned = []
    for number, section in enumerate(sections, start=1):
        cleaned.append(_check_section(section, number, section_keys, field_keys))
    fields = {f['key']: f for s in cleaned for f in s['fields']}
    for key in ('first_name', 'last_name'):
        if key not in fields or not fields[key]['required']:
            raise InvalidInput(f'The questionnaire must keep the required field "{key}": it names the new chart.')
    return {'title': title, 'sections': cleaned}


def _check_section(section: Any, number: int, section_keys: set[str], field_keys: set[str]) -> dict[str, Any]:
    if not isinstance(section, dict):
        raise InvalidInput(f'Section {number} is not valid.')
    title = _text(section.get('title'), f'The title of section {number}', LIMITS['title'])
    key = _key(section.get('key'), f'Section "{title}"')
    if key in section_keys or key == REVIEW_STEP:
        raise InvalidInput(f'Two sections have the key "{key}": section keys must be unique.')
    section_keys.add(key)
    fields = section.get('fields')
    if not isinstance(fields, list) or not 1 <= len(fields) <= LIMITS['fields']:
        raise InvalidInput(f'Section "{title}" needs 1 to {LIMITS["fields"]} fields.')
    return {'key': key, 'title': title, 'help': _text(section.get('help'), f'The help of section "{title}"',
                                                       LIMITS['help'], required=False),
            'fields': [_check_field(field, title, field_keys) for field in fields]}


def _check_field(field: Any, section_title: str, field_keys: set[str]) -> dict[str, Any]:
    if not isinstance(field, dict):
        raise InvalidInput(f'A field in section "{section_title}" is not valid.')
    label = _text(field.get('label'), f'A field label in section "{section_title}"', LIMITS['label'])
    key = _key(field.get('key'), f'Field "{label}"')
    if key in field_keys:
        raise InvalidInput(f'Two fields have the key "{key}": field keys must be unique.')
    field_keys.add(key)
    kind = field.get('type')
    if kind not in TYPES:
        raise InvalidInput(f'Field "{label}" has an unknown type "{kind}".')
    allowed, _limit = CHART_FIELDS.get(key, (tuple(TYPES), None))
    if kind not in allowed:
        names = ' or '.join(TYPES[t] for t in allowed)
        raise InvalidInput(f'Field "{label}" fills the chart\'s {key.replace("_", " ")} and must have the type {names}.')
    options = _options(field.get('options'), label) if kind in ('choice', 'multi_choice') else []
    return {'key': key, 'label': label, 'type': kind, 'required': bool(field.get('required')),
            'help': _text(field.get('help'), f'The help of field "{label}"', LIMITS['help'], required=False),
            'options': options, 'not_future': bool(field.get('not_future')) and kind == 'date'}


def _options(options: Any, label: str) -> list[str]:
    if not isinstance(options, list):
        options = []
    cleaned = [str(o).strip() for o in options if str(o).strip()]
    if not cleaned:
        raise InvalidInput(f'Field "{label}" is a choice and needs at least one option.')
    if len(cleaned) > LIMITS['options'] or any(len(o) > LIMITS['option'] for o in cleaned):
        raise InvalidInput(f'Field "{label}" can have at most {LIMITS["options"]} options of '
                           f'{LIMITS["option"]} characters each.')
    if len({o.lower() for o in cleaned}) != len(cleaned):
        raise InvalidInput(f'Field "{label}" has the same option twice.')
    return cleaned


def _text(value: Any, label: str, max_length: int, *, required: bool = True) -> str:
    return validate.text(value if isinstance(value, str) else '', label=label, max_length=max_length, required=required)


def _key(value: Any, label: str) -> str:
    value = value.strip() if isinstance(value, str) else ''
    if not _KEY.match(value):
        raise InvalidInput(f'{label} needs a key of lower-case letters, digits and _ (starting with a letter, '
                           f'at most 40 characters).')
    return value


def key_from_label(label: str, taken: set[str]) -> str:
    """A new unique field key made from a label (for the editor)."""
    base = re.sub(r'[^a-z0-9]+', '_', label.lower()).strip('_')[:32] or 'field'
    if not base[0].isalpha():
        base = f'f_{base}'[:32]
    key, n = base, 2
    while key in taken:
        key, n = f'{base}_{n}', n + 1
    return key


# ----------------------------------------------------------------------------- answers

def section(definition: dict[str, Any], section_key: str) -> dict[str, Any]:
    """One section of a definition by key."""
    for item in definition['sections']:
        if item['key'] == section_key:
            return item
    raise InvalidInput('This step of the questionnaire does not exist.')


def check_section(definition: dict[str, Any], section_key: str, answers: dict[str, Any],
                  file_counts: dict[str, int]) -> tuple[dict[str, Any], dict[str, str]]:
    """Cleaned answers of one section and the problems found ({field key: clear message})."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in section(definition, section_key)['fields']:
        try:
            value = check_answer(field, answers.get(field['key']), file_counts.get(field['key'], 0))
        except InvalidInput as error:
            errors[field['key']] = str(error)
            continue
        if field['type'] != 'file':
            cleaned[field['key']] = value
    return cleaned, errors


def check_answer(field: dict[str, Any], value: Any, file_count: int = 0) -> Any:
    """One cleaned answer (None when empty and optional), or InvalidInput with a clear sentence."""
    label, kind = field['label'], field['type']
    if kind == 'file':
        if field['required'] and file_count == 0:
            raise InvalidInput(f'{label}: please upload at least one file.')
        return None
    if kind == 'multi_choice':
        return _multi_choice(field, value)
    text = value.strip() if isinstance(value, str) else ('' if value is None else str(value).strip())
    if not text:
        if field['required']:
            raise InvalidInput(f'{label} is required.')
        return None
    limit = _limit(field)
    if len(text) > limit:
        raise InvalidInput(f'{label} can have at most {limit:,} characters.')
    if kind == 'email':
        return validate.email(text, label=label)
    if kind == 'phone':
        return validate.phone(text, label=label)
    if kind == 'date':
        return _date(field, text).isoformat()
    if kind == 'choice' and text not in field['options']:
        raise InvalidInput(f'{label}: please choose one of the options.')
    if kind == 'yes_no' and text not in YES_NO:
        raise InvalidInput(f'{label}: please answer yes or no.')
    return text


def _multi_choice(field: dict[str, Any], value: Any) -> list[str] | None:
    values = [v for v in (value or []) if isinstance(v, str)] if isinstance(value, list) else []
    if not values:
        if field['required']:
            raise InvalidInput(f'{field["label"]}: please choose at least one option.')
        return None
    if any(v not in field['options'] for v in values):
        raise InvalidInput(f'{field["label"]}: please choose among the options.')
    return [o for o in field['options'] if o in values]


def _date(field: dict[str, Any], text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f'{field["label"]} is not a valid date (YYYY-MM-DD).') from None
    if value.year < 1900:
        raise InvalidInput(f'{field["label"]} must be after 1900.')
    if (field.get('not_future') or field['key'] == 'date_of_birth') and value > clock.now().date():
        raise InvalidInput(f'{field["label"]} cannot be in the future.')
    return value


def _limit(field: dict[str, Any]) -> int:
    limit = _TYPE_LIMITS.get(field['type'], 200)
    chart_limit = CHART_FIELDS.get(field['key'], ((), None))[1]
    return min(limit, chart_limit) if chart_limit else limit


def display(field: dict[str, Any], value: Any) -> str:
    """An answer as plain text for the review step and the clinic."""
    if value in (None, '', []):
        return '—'
    if field['type'] == 'multi_choice' and isinstance(value, list):
        return ', '.join(value)
    if field['type'] == 'yes_no':
        return YES_NO.get(value, str(value))
    return str(value)
