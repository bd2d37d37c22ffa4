"""passkeys (WebAuthn credentials) and their short-lived enrolment and sign-in ceremonies

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'passkey',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.String(length=1400), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sign_count', sa.Integer(), nullable=False),
        sa.Column('user_handle', sa.String(length=100), nullable=False),
        sa.Column('transports', sa.String(length=200), nullable=False),
        sa.Column('aaguid', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('last_used_at', models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_passkey_account_id'), 'passkey', ['account_id'], unique=False)
    op.create_index(op.f('ix_passkey_credential_id'), 'passkey', ['credential_id'], unique=True)
    op.create_table(
        'passkey_ceremony',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('binding_hash', sa.String(length=64), nullable=False),
        sa.Column('session_hash', sa.String(length=64), nullable=True),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('user_handle', sa.String(length=100), nullable=True),
        sa.Column('challenge', sa.String(length=100), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('expires_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('verified_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('passkey_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("purpose in ('register','second_step','passwordless')", name='ck_passkey_ceremony_purpose'),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.ForeignKeyConstraint(['passkey_id'], ['passkey.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_passkey_ceremony_account_id'), 'passkey_ceremony', ['account_id'], unique=False)
    op.create_index(op.f('ix_passkey_ceremony_binding_hash'), 'passkey_ceremony', ['binding_hash'], unique=False)
    op.create_index(op.f('ix_passkey_ceremony_expires_at'), 'passkey_ceremony', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_table('passkey_ceremony')
    op.drop_table('passkey')
