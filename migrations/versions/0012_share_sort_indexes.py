"""share: an index per sortable list column that starts with the contact (issue 15: sort and paging at 50,000)

A contact's list is read as `contact_id IN (...) AND <open> ORDER BY <column>, id LIMIT 25`: with an index on
(contact_id, column, id) the database walks the contact's rows in the list's order and stops after a page,
instead of sorting all of them. The count's index gains expires_at, so counting the open rows reads the index
alone (ix_share_contact_open replaces ix_share_contact_active, of which it is an extension).

Revision ID: 0012
Revises: 0011
"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

SORT_INDEXES = {
    'ix_share_contact_title': 'title',
    'ix_share_contact_regarding': 'regarding',
    'ix_share_contact_by_name': 'by_name',
    'ix_share_contact_doc_type': 'doc_type',
    'ix_share_contact_reply_count': 'reply_count',
    'ix_share_contact_last_reply_at': 'last_reply_at',
}


def upgrade() -> None:
    # plain index operations (no batch: the share table, its FTS5 triggers and data stay as they are)
    op.drop_index('ix_share_contact_active', table_name='share')
    op.create_index('ix_share_contact_open', 'share', ['contact_id', 'rescinded_at', 'last_reply_at', 'expires_at'])
    for name, column in SORT_INDEXES.items():
        op.create_index(name, 'share', ['contact_id', column, 'id'])


def downgrade() -> None:
    for name in SORT_INDEXES:
        op.drop_index(name, table_name='share')
    op.drop_index('ix_share_contact_open', table_name='share')
    op.create_index('ix_share_contact_active', 'share', ['contact_id', 'rescinded_at', 'last_reply_at'])
