"""outbox operations: why an email did not send (bounce vs. server refusal) and the outbox's pause state

Claims are leases renewed through the existing claimed_at column, so leases need no column.

Revision ID: 0009
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failure_reason', sa.String(length=20), nullable=True))
    state = op.create_table(
        'outbox_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('paused_since', models.base.UTCDateTime(), nullable=True),
        sa.Column('pause_reason', sa.String(length=300), nullable=True),
        sa.Column('alerted_at', models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(state, [{'id': 1}])
    # emails that failed with a 5xx before: a 5.1.x is a bounce; anything else is kept as 'rejected'
    op.execute("UPDATE outbox_email SET failure_reason = 'rejected' WHERE status = 'failed'")


def downgrade() -> None:
    op.drop_table('outbox_state')
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_column('failure_reason')
