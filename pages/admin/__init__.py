"""Admin pages: settings, accounts, audit log, email, outbox, templates, questionnaire.

Their tables use the clinic's: `pages.tables.col` for columns and `pages.tables.PagedTable` for server paging.
"""
from __future__ import annotations
