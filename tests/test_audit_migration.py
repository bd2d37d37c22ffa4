"""Migration 0004 re-chains a log written by the old code once under the key, says so in an audit event
(including whether the old chain was intact), and gives events about a contact's copy their chart and document."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlmodel import select

from models import AuditEvent
from services import audit, audit_verify, db, documents
from tests import factories


def old_hash(event: dict) -> str:
    """The chain before 0004: SHA-256 over the content and the previous hash, no key (services/audit.py then)."""
    payload = json.dumps([
        event['id'], event['at'].isoformat(), event['account_id'], event['actor'], event['action'],
        event['object_type'], event['object_id'], event['chart_id'], event['contact_id'], event['ip_address'],
        event['detail_json'], event['prev_hash'],
    ], separators=(',', ':'))
    return hashlib.sha256(payload.encode()).hexdigest()


OLD_EVENTS = sa.table('audit_event', *[sa.column(name) for name in (
    'id', 'account_id', 'actor', 'action', 'object_type', 'object_id', 'chart_id', 'contact_id', 'ip_address',
    'detail_json', 'prev_hash', 'hash')], sa.column('at', AuditEvent.__table__.c.at.type))


def old_rows() -> list[dict]:
    with db.transaction() as session:
        return [dict(r._mapping) for r in session.execute(sa.select(OLD_EVENTS).order_by(OLD_EVENTS.c.id)).all()]


def rewrite_old_chain() -> None:
    """What the old code would have stored: every hash recomputed in id order."""
    prev = ''
    with db.transaction() as session:
        for event in old_rows():
            event['prev_hash'] = prev
            event['hash'] = old_hash(event)
            session.execute(OLD_EVENTS.update().where(OLD_EVENTS.c.id == event['id'])
                            .values(prev_hash=event['prev_hash'], hash=event['hash']))
            prev = event['hash']


def old_chain_is_intact() -> bool:
    prev = ''
    for event in old_rows():
        if event['prev_hash'] != prev or old_hash(event) != event['hash']:
            return False
        prev = event['hash']
    return True


def a_log_from_before_0004() -> dict:
    """Sign-ins, a share, staff opening the contact's copy; then back to 0002 with the old bug in the data."""
    with db.transaction() as session:
        staff = factories.account(session, role='staff')
        chart = factories.chart(session, first='Jane', last='Roe')
        contact = factories.contact(session)
        sent = factories.share(session, contact_row=contact, sender=staff, chart_row=chart, title='Work status')
        source_id = session.exec(select(AuditEvent.document_id).where(AuditEvent.action == 'document_shared')).one()
        documents.get_document(session, actor=factories.actor_for(session, staff), document_id=sent.copy_document_id)
    command.downgrade(db.alembic_config(), '0002')
    assert old_chain_is_intact()  # the downgrade put the unkeyed chain back
    with db.transaction() as session:  # the old code logged staff opening a copy without its chart
        session.execute(sa.text("UPDATE audit_event SET chart_id = NULL WHERE action = 'document_viewed' "
                                "AND object_type = 'document'"))
    rewrite_old_chain()
    assert old_chain_is_intact()
    return {'chart_id': chart.id, 'source_id': source_id, 'copy_id': sent.copy_document_id, 'events': len(old_rows())}


def test_upgrade_rechains_under_the_key_and_records_it(database: str, portal_env: Path) -> None:
    before = a_log_from_before_0004()
    db.migrate()
    with db.transaction() as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
        report = audit_verify.verify(session)
    assert [e.seq for e in events] == list(range(1, before['events'] + 2))
    assert [e.id for e in events[:-1]] == sorted(e.id for e in events[:-1])  # numbered in the order written
    key = (portal_env / 'secrets' / audit.KEY_NAME).read_text().encode()
    assert all(audit.event_hash(e, key) == e.hash for e in events)
    assert report.ok, audit_verify.format_report(report)
    rechained = events[-1]
    assert rechained.action == 'audit_rechained'
    detail = json.loads(rechained.detail_json)
    assert detail['events'] == before['events'] and detail['old_chain'] == 'intact'
    assert detail['charts_filled_in'] >= 1 and detail['key_fingerprint'] == audit.key_fingerprint(key)
    viewed = next(e for e in events if e.action == 'document_viewed')
    assert (viewed.chart_id, viewed.document_id) == (before['chart_id'], before['source_id'])
    shared = next(e for e in events if e.action == 'document_shared')
    assert (shared.chart_id, shared.document_id) == (before['chart_id'], before['source_id'])


def test_a_tampered_old_chain_is_not_laundered_silently(database: str) -> None:
    a_log_from_before_0004()
    with db.transaction() as session:
        target = session.execute(sa.text("SELECT min(id) FROM audit_event WHERE action = 'document_shared'")).scalar()
        session.execute(sa.text("UPDATE audit_event SET actor = 'someone.else@clinic.test' WHERE id = :id"),
                        {'id': target})
    db.migrate()
    with db.transaction() as session:
        rechained = session.exec(select(AuditEvent).where(AuditEvent.action == 'audit_rechained')).one()
    assert json.loads(rechained.detail_json)['old_chain'] == f'1 problem(s), the first at event id {target}'


def test_a_new_database_is_not_rechained(database: str) -> None:
    with db.transaction() as session:
        assert session.exec(select(AuditEvent)).all() == []  # the template was migrated empty: nothing recorded
