"""API clients for the clinic's EHR, webhooks and their deliveries

Revision ID: 0008
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_client',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('scopes', sa.String(length=500), nullable=False),
        sa.Column('allowed_addresses', sa.String(length=1000), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('secret_hint', sa.String(length=12), nullable=False),
        sa.Column('rate_per_minute', sa.Integer(), nullable=False),
        sa.Column('expires_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('created_by_account_id', sa.Integer(), nullable=True),
        sa.Column('rotated_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('revoked_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('last_used_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('last_used_from', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['created_by_account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_api_client_secret_hash'), 'api_client', ['secret_hash'], unique=True)
    op.create_table(
        'api_idempotent_result',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('api_client_id', sa.Integer(), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('body_json', sa.Text(), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['api_client_id'], ['api_client.id']),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index(op.f('ix_api_idempotent_result_api_client_id'), 'api_idempotent_result', ['api_client_id'],
                    unique=False)
    op.create_index(op.f('ix_api_idempotent_result_created_at'), 'api_idempotent_result', ['created_at'],
                    unique=False)
    op.create_table(
        'webhook',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('events', sa.String(length=300), nullable=False),
        sa.Column('sealed_secret', sa.Text(), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('audit_cursor', sa.Integer(), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('created_by_account_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'webhook_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('webhook_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=40), nullable=False),
        sa.Column('event_type', sa.String(length=40), nullable=False),
        sa.Column('event_key', sa.String(length=80), nullable=False),
        sa.Column('payload_json', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('next_attempt_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('claimed_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('delivered_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('last_status', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['webhook_id'], ['webhook.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id'),
        sa.UniqueConstraint('webhook_id', 'event_key', name='uq_webhook_delivery_event'),
    )
    op.create_index('ix_webhook_delivery_due', 'webhook_delivery', ['status', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_webhook_delivery_webhook_id'), 'webhook_delivery', ['webhook_id'], unique=False)
    op.create_index(op.f('ix_webhook_delivery_created_at'), 'webhook_delivery', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_table('webhook_delivery')
    op.drop_table('webhook')
    op.drop_table('api_idempotent_result')
    op.drop_index(op.f('ix_api_client_secret_hash'), table_name='api_client')
    op.drop_table('api_client')
