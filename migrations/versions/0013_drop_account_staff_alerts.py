"""drop account.staff_alerts: staff alert choices live in staff_alert_pref (migration 0007); nothing reads it

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('staff_alerts')


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_alerts', sa.Boolean(), nullable=False, server_default=sa.false()))
