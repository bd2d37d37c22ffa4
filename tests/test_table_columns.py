"""Every table of the staff and admin pages declares its key columns: a phone (below 600 px) shows only those."""
from __future__ import annotations

import importlib
import pkgutil

import pages
from pages.tables import PHONE_HIDDEN, col, key_columns


def test_a_column_is_hidden_on_a_phone_unless_it_is_key() -> None:
    assert 'classes' not in col('name', 'Name', key=True)
    hidden = col('email', 'Email', classes='text-sm')
    assert hidden['classes'] == f'text-sm {PHONE_HIDDEN}' and hidden['headerClasses'] == PHONE_HIDDEN
    assert key_columns([col('name', 'Name', key=True), col('email', 'Email'), col('state', 'State', key=True)]) \
        == ['name', 'state']


def test_every_column_list_of_the_pages_has_key_columns() -> None:
    tables = {}
    for info in pkgutil.walk_packages(pages.__path__, prefix='pages.'):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, list) and value and all(isinstance(c, dict) and {'name', 'label', 'field'} <= set(c)
                                                         for c in value):
                tables[f'{info.name}.{name}'] = value
    assert 'pages.staff.worklist.COLUMNS' in tables and 'pages.admin.audit.REPORT_COLUMNS' in tables
    without = [name for name, columns in tables.items() if not key_columns(columns)
               and not name.startswith('pages.contact.')]  # the contact's list becomes cards on a phone instead
    assert without == []
