"""action receipts (idempotency keys of submitted actions)

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('action_receipt',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('action_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_receipt_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_receipt_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('action_receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_receipt_created_at'))
        batch_op.drop_index(batch_op.f('ix_action_receipt_account_id'))
    op.drop_table('action_receipt')
