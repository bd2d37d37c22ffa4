"""share lifecycle: expiry, acknowledgement, read receipts and the email that announced a share

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('share', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('expired_at', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('expiry_notice_sent_at', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('acknowledgement_required', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('acknowledged_at', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('download_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_downloaded_at', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('notice_email_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_share_expires_at'), ['expires_at'], unique=False)
        batch_op.create_foreign_key('fk_share_notice_email_id_outbox_email', 'outbox_email', ['notice_email_id'],
                                    ['id'])
    with op.batch_alter_table('share', schema=None) as batch_op:  # the defaults were only for existing rows
        batch_op.alter_column('acknowledgement_required', server_default=None)
        batch_op.alter_column('download_count', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('share', schema=None) as batch_op:
        batch_op.drop_constraint('fk_share_notice_email_id_outbox_email', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_share_expires_at'))
        for column in ('notice_email_id', 'last_downloaded_at', 'download_count', 'acknowledged_at',
                       'acknowledgement_required', 'expiry_notice_sent_at', 'expired_at', 'expires_at'):
            batch_op.drop_column(column)
