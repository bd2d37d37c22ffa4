"""Admin pages: settings, accounts, audit log, email, outbox, templates, questionnaire.

Helper the admin pages share: `columns` for tables.
"""
from __future__ import annotations


def columns(*fields: tuple[str, str], numbers: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Table columns from (field, label) pairs: text left-aligned, the `numbers` right-aligned (Quasar's default)."""
    return [{'name': name, 'label': label, 'field': name} | ({} if name in numbers else {'align': 'left'})
            for name, label in fields]
