"""clinic daily work: staff alert choices, the log of alerts sent, staff notes on contacts

Revision ID: 0007
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_alert_pref',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('reply_mine', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('reply_any', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('registration', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('unread', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('bounced', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('unread_days', sa.Integer(), nullable=True),
        sa.Column('digest_minutes', sa.Integer(), nullable=True),
        sa.Column('digest_sent_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('updated_at', models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('account_id'),
    )
    op.create_table(
        'staff_alert_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('email_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.ForeignKeyConstraint(['email_id'], ['outbox_email.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'event', 'item_id', name='uq_staff_alert_log'),
    )
    with op.batch_alter_table('staff_alert_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_alert_log_account_id'), ['account_id'], unique=False)
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_notes', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('staff_notes')
    with op.batch_alter_table('staff_alert_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_alert_log_account_id'))
    op.drop_table('staff_alert_log')
    op.drop_table('staff_alert_pref')
