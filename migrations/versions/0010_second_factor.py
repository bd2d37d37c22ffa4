"""two-step sign-in: authenticator apps, recovery codes, trusted browsers, pending sessions, enrolment policy

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'totp_factor',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('secret_sealed', sa.String(length=500), nullable=False),
        sa.Column('confirmed', sa.Boolean(), nullable=False),
        sa.Column('last_used_step', sa.Integer(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('confirmed_at', models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_totp_factor_account_id', 'totp_factor', ['account_id'])
    op.create_table(
        'recovery_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('used_at', models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_recovery_code_account_id', 'recovery_code', ['account_id'])
    op.create_index('ix_recovery_code_code_hash', 'recovery_code', ['code_hash'])
    op.create_table(
        'trusted_browser',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('expires_at', models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_trusted_browser_account_id', 'trusted_browser', ['account_id'])
    op.create_index('ix_trusted_browser_token_hash', 'trusted_browser', ['token_hash'], unique=True)
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_factor_enrol_by', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('second_factor_forced', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.alter_column('second_factor_forced', server_default=None)
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_step', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_column('second_step')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('second_factor_forced')
        batch_op.drop_column('second_factor_enrol_by')
    op.drop_table('trusted_browser')
    op.drop_table('recovery_code')
    op.drop_table('totp_factor')
