"""keyed audit chain: gapless sequence numbers, the document an event is about, anchors; re-chain under the key

The existing events are re-chained once, in id order, with HMAC-SHA256 under the key in
SMP_DATA_DIR/secrets/audit_chain_key (created here if this is the first start). Before that, the old plain
SHA-256 chain is checked, and events about a contact's copy of a document get the chart and the chart
document they are about. One `audit_rechained` event, appended under the key, records all of it.

Revision ID: 0004
Revises: 0003
"""
import json
from datetime import UTC, datetime
import hashlib

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.base


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BATCH = 1000
EVENTS = sa.table(
    'audit_event', sa.column('id', sa.Integer()), sa.column('seq', sa.Integer()),
    sa.column('at', models.base.UTCDateTime()), sa.column('account_id', sa.Integer()), sa.column('actor', sa.String()),
    sa.column('action', sa.String()), sa.column('object_type', sa.String()), sa.column('object_id', sa.String()),
    sa.column('chart_id', sa.Integer()), sa.column('document_id', sa.Integer()), sa.column('contact_id', sa.Integer()),
    sa.column('ip_address', sa.String()), sa.column('detail_json', sa.Text()), sa.column('prev_hash', sa.String()),
    sa.column('hash', sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('document_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_event_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_seq'), ['seq'], unique=True)

    op.create_table('audit_anchor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('event_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('written_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('mac', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_anchor', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_anchor_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_anchor_seq'), ['seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_anchor_written_at'), ['written_at'], unique=False)

    rechain(op.get_bind())


def downgrade() -> None:
    conn = op.get_bind()
    _lock(conn)
    prev = ''
    for rows in _batches(conn, order=EVENTS.c.id):  # back to the unkeyed chain the old code verifies
        updates = []
        for row in rows:
            value = _old_hash(row._mapping, prev)
            updates.append({'b_id': row.id, 'prev_hash': prev, 'hash': value})
            prev = value
        _update(conn, updates, 'prev_hash', 'hash')
    with op.batch_alter_table('audit_anchor', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_anchor_written_at'))
        batch_op.drop_index(batch_op.f('ix_audit_anchor_seq'))
        batch_op.drop_index(batch_op.f('ix_audit_anchor_channel'))
    op.drop_table('audit_anchor')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_seq'))
        batch_op.drop_index(batch_op.f('ix_audit_event_document_id'))
        batch_op.drop_column('document_id')
        batch_op.drop_column('seq')


# ----------------------------------------------------------------------------- re-chaining

def rechain(conn: sa.Connection) -> None:
    """Number the existing events and chain them under the key; append the event that says so."""
    count = conn.execute(sa.select(sa.func.count()).select_from(EVENTS)).scalar_one()
    if not count:
        return  # a new database: nothing to re-chain (the key is made on first start)
    from services import audit  # the runtime's hashing, so what is written here is what check-audit verifies

    _lock(conn)
    old_problems, first_bad = _check_old_chain(conn)
    filled = _fill_references(conn)
    key = audit.chain_key()
    seq, prev = 0, ''
    for rows in _batches(conn, order=EVENTS.c.id):
        updates = []
        for row in rows:
            seq += 1
            fields = dict(row._mapping) | {'seq': seq, 'prev_hash': prev}
            value = audit.content_hash(key, fields)
            updates.append({'b_id': row.id, 'seq': seq, 'prev_hash': prev, 'hash': value})
            prev = value
        _update(conn, updates, 'seq', 'prev_hash', 'hash')
    detail = {
        'events': seq,
        'old_chain': 'intact' if not old_problems else f'{old_problems} problem(s), the first at event id {first_bad}',
        'charts_filled_in': filled['chart_id'], 'documents_filled_in': filled['document_id'],
        'scheme': 'HMAC-SHA256 under secrets/audit_chain_key', 'key_fingerprint': audit.key_fingerprint(key),
        'migration': revision,
    }
    fields = {'at': datetime.now(UTC), 'account_id': None, 'actor': '', 'action': 'audit_rechained',
              'object_type': 'audit_log', 'object_id': None, 'chart_id': None, 'document_id': None,
              'contact_id': None, 'ip_address': None, 'detail_json': json.dumps(detail, sort_keys=True),
              'prev_hash': prev, 'hash': ''}
    new_id = conn.execute(EVENTS.insert().values(**fields).returning(EVENTS.c.id)).scalar_one()
    fields |= {'id': new_id, 'seq': seq + 1}
    conn.execute(EVENTS.update().where(EVENTS.c.id == new_id)
                 .values(seq=seq + 1, hash=audit.content_hash(key, fields)))


def _check_old_chain(conn: sa.Connection) -> tuple[int, int | None]:
    """Verify the unkeyed chain as it stood: how many events do not match, and the first one's id."""
    problems, first, prev = 0, None, ''
    for rows in _batches(conn, order=EVENTS.c.id):
        for row in rows:
            event = row._mapping
            if event['prev_hash'] != prev or _old_hash(event, event['prev_hash']) != event['hash']:
                problems += 1
                first = first if first is not None else event['id']
            prev = event['hash']
    return problems, first


def _old_hash(event, prev_hash: str) -> str:
    """The hash of the chain before 0004: SHA-256 without a key."""
    payload = json.dumps([
        event['id'], event['at'].isoformat(), event['account_id'], event['actor'], event['action'],
        event['object_type'], event['object_id'], event['chart_id'], event['contact_id'], event['ip_address'],
        event['detail_json'], prev_hash,
    ], separators=(',', ':'))
    return hashlib.sha256(payload.encode()).hexdigest()


# For each kind of object: the chart document it is about, and its chart. A contact's copy of a document
# (document.contact_id set) is about the document it was copied from; the copy has no chart of its own.
# the object id as a number, only for the object type being filled in (other types' ids may be text)
_OBJECT_ID = '(CASE WHEN audit_event.object_type = :t THEN CAST(audit_event.object_id AS INTEGER) END)'
_REFERENCES = {
    'document': (
        'SELECT CASE WHEN d.contact_id IS NULL THEN d.id ELSE d.source_document_id END FROM document d '
        'WHERE d.id = {id}',
        'SELECT COALESCE(d.chart_id, s.chart_id) FROM document d LEFT JOIN document s ON s.id = d.source_document_id '
        'WHERE d.id = {id}',
    ),
    'share': (
        'SELECT s.source_document_id FROM share s WHERE s.id = {id}',
        'SELECT s.chart_id FROM share s WHERE s.id = {id}',
    ),
    'reply': (
        'SELECT s.source_document_id FROM reply r JOIN share s ON s.id = r.share_id '
        'WHERE r.id = {id}',
        'SELECT s.chart_id FROM reply r JOIN share s ON s.id = r.share_id '
        'WHERE r.id = {id}',
    ),
    'reply_attachment': (
        'SELECT s.source_document_id FROM reply_attachment a JOIN reply r ON r.id = a.reply_id '
        'JOIN share s ON s.id = r.share_id WHERE a.id = {id}',
        'SELECT s.chart_id FROM reply_attachment a JOIN reply r ON r.id = a.reply_id '
        'JOIN share s ON s.id = r.share_id WHERE a.id = {id}',
    ),
}


def _fill_references(conn: sa.Connection) -> dict[str, int]:
    """Give events about documents, shares and replies the chart document and chart they are about."""
    filled = {'document_id': 0, 'chart_id': 0}
    for object_type, (document_sql, chart_sql) in _REFERENCES.items():
        for column, sql in (('document_id', document_sql), ('chart_id', chart_sql)):
            sql = sql.format(id=_OBJECT_ID)
            result = conn.execute(sa.text(
                f'UPDATE audit_event SET {column} = ({sql}) WHERE object_type = :t AND object_id IS NOT NULL '
                f'AND {column} IS NULL AND ({sql}) IS NOT NULL'), {'t': object_type})
            filled[column] += max(result.rowcount or 0, 0)
    return filled


# ----------------------------------------------------------------------------- helpers

def _lock(conn: sa.Connection) -> None:
    if conn.dialect.name == 'postgresql':  # keep other processes' appends out until this commits
        conn.execute(sa.text('SELECT pg_advisory_xact_lock(:k)'), {'k': 0x534D50})


def _batches(conn: sa.Connection, *, order):
    last = 0
    while True:
        rows = conn.execute(sa.select(EVENTS).where(EVENTS.c.id > last).order_by(order).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _update(conn: sa.Connection, updates: list[dict], *columns: str) -> None:
    if updates:
        conn.execute(EVENTS.update().where(EVENTS.c.id == sa.bindparam('b_id'))
                     .values({c: sa.bindparam(c) for c in columns}), updates)
