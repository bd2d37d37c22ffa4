"""search index for the contact's message lists: pg_trgm on PostgreSQL, an FTS5 trigram table on SQLite

The contact's search is a substring test over the lower-cased snapshot columns of a share
(services/messages.py `_HAYSTACK`). PostgreSQL gets a trigram GIN index on exactly that expression (LIKE
'%term%' uses it). SQLite gets `share_search`, an FTS5 table with the trigram tokenizer holding the same text
per share (rowid = share.id), kept in step by triggers; the search narrows rows through it, then applies the
same substring test.

Note for later migrations: SQLite batch mode rebuilds `share` by copy-and-drop, which drops these triggers;
a migration that rebuilds `share` must create them again (`create_sqlite_search` below).

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# must stay the expression services/messages.py searches (the planner matches it literally)
HAYSTACK = "lower(title || '\n' || regarding || '\n' || by_name || '\n' || doc_type)"
TRIGGERS = ('share_search_insert', 'share_search_update', 'share_search_delete')


def create_sqlite_search() -> None:
    """The FTS5 table, filled from the existing shares, and the triggers that keep it in step."""
    op.execute("CREATE VIRTUAL TABLE IF NOT EXISTS share_search USING fts5(haystack, tokenize = 'trigram')")
    op.execute(f'INSERT INTO share_search (rowid, haystack) SELECT id, {HAYSTACK} FROM share')
    op.execute(f'CREATE TRIGGER share_search_insert AFTER INSERT ON share BEGIN '
               f'INSERT INTO share_search (rowid, haystack) VALUES (new.id, {_new(HAYSTACK)}); END')
    op.execute(f'CREATE TRIGGER share_search_update AFTER UPDATE OF title, regarding, by_name, doc_type ON share '
               f'BEGIN DELETE FROM share_search WHERE rowid = old.id; '
               f'INSERT INTO share_search (rowid, haystack) VALUES (new.id, {_new(HAYSTACK)}); END')
    op.execute('CREATE TRIGGER share_search_delete AFTER DELETE ON share BEGIN '
               'DELETE FROM share_search WHERE rowid = old.id; END')


def _new(expression: str) -> str:
    for column in ('title', 'regarding', 'by_name', 'doc_type'):
        expression = expression.replace(column, f'new.{column}')
    return expression


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute(f'CREATE INDEX ix_share_search ON share USING gin (({HAYSTACK}) gin_trgm_ops)')
    elif op.get_bind().dialect.name == 'sqlite':
        create_sqlite_search()


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_share_search')
    elif op.get_bind().dialect.name == 'sqlite':
        for trigger in TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {trigger}')
        op.execute('DROP TABLE IF EXISTS share_search')
