"""security hardening: codes in queued emails are kept encrypted, never in plain text

Adds outbox_email.sealed_secrets. Emails queued before this migration carried their codes in plain text in
subject, body_html, body_text and context_json: the codes are replaced by placeholders; an email still waiting
to be sent keeps its codes encrypted (key in the secrets folder), any other loses them.

Revision ID: 0003
Revises: 0002
"""
import json

import sqlalchemy as sa
from alembic import op
from markupsafe import escape

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# as services.outbox.SECRET_VARIABLES / placeholder() at the time of this migration
SECRET_VARIABLES = ('activation_code', 'activate_url', 'link_existing_url', 'verification_code', 'reset_code')


def _placeholder(name: str) -> str:
    return f'[[smp-secret:{name}]]'


def _outbox() -> sa.Table:
    return sa.table('outbox_email', sa.column('id', sa.Integer), sa.column('status', sa.String),
                    sa.column('subject', sa.String), sa.column('body_html', sa.Text), sa.column('body_text', sa.Text),
                    sa.column('context_json', sa.Text), sa.column('sealed_secrets', sa.Text))


def upgrade() -> None:
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_secrets', sa.Text(), nullable=True))
    bind = op.get_bind()
    table = _outbox()
    for row in bind.execute(sa.select(table).where(sa.or_(*[table.c.context_json.like(f'%"{name}"%')
                                                             for name in SECRET_VARIABLES]))).all():
        context = json.loads(row.context_json or '{}')
        found = {name: str(context[name]) for name in SECRET_VARIABLES
                 if context.get(name) not in (None, '') and context[name] != _placeholder(name)}
        if not found:
            continue
        subject, html, text = row.subject, row.body_html, row.body_text
        for name, value in sorted(found.items(), key=lambda item: -len(item[1])):  # URLs before the bare code
            subject = subject.replace(value, _placeholder(name))
            html = html.replace(str(escape(value)), _placeholder(name)).replace(value, _placeholder(name))
            text = text.replace(value, _placeholder(name))
            context[name] = _placeholder(name)
        sealed = None
        if row.status in ('pending', 'sending'):
            from services import secretbox
            sealed = secretbox.encrypt(json.dumps(found))
        bind.execute(sa.update(table).where(table.c.id == row.id).values(
            subject=subject, body_html=html, body_text=text, context_json=json.dumps(context), sealed_secrets=sealed))


def downgrade() -> None:
    bind = op.get_bind()
    table = _outbox()
    for row in bind.execute(sa.select(table).where(table.c.sealed_secrets.is_not(None))).all():
        from services import secretbox
        plain = secretbox.decrypt(row.sealed_secrets)
        found = json.loads(plain) if plain else {}
        subject, html, text, context = row.subject, row.body_html, row.body_text, json.loads(row.context_json or '{}')
        for name, value in found.items():
            subject = subject.replace(_placeholder(name), value)
            html = html.replace(_placeholder(name), str(escape(value)))
            text = text.replace(_placeholder(name), value)
            context[name] = value
        bind.execute(sa.update(table).where(table.c.id == row.id).values(
            subject=subject, body_html=html, body_text=text, context_json=json.dumps(context)))
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_column('sealed_secrets')
