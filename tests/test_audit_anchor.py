"""Anchoring the audit chain outside the database: the key's home, the anchor file and its policy (every N events
and every M minutes), the path setting, the daily email to the admins, the count trigger, backups."""
from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from models import AuditAnchor, AuditEvent, OutboxEmail
from models.shapes import Actor
from services import audit, audit_anchor, audit_verify, backup, config, db, settings, settings_admin
from services.errors import InvalidInput
from tests import factories

NURSE = Actor(account_id=3, username='nurse@clinic.test', role='staff')


def append(count: int) -> None:
    for _ in range(count):
        with db.transaction() as session:
            audit.record(session, action='chart_viewed', actor=NURSE, object_type='chart', object_id=1, chart_id=1)


def file_anchors() -> list[audit_anchor.Anchor]:
    return [line.anchor for line in audit_anchor.read_anchor_file(audit_anchor.anchor_path()) or []]


def set_policy(**changes) -> None:
    with db.transaction() as session:
        settings.save_settings(session, changes=changes, account_id=None)
    settings.invalidate_cache()


def test_the_key_lives_in_the_secrets_folder_and_never_in_the_database(database: str, portal_env: Path) -> None:
    append(3)
    path = portal_env / 'secrets' / audit.KEY_NAME
    key = path.read_text()
    assert len(key) >= 43 and stat.S_IMODE(path.stat().st_mode) == 0o600
    with db.transaction() as session:
        for table in ('audit_event', 'audit_anchor', 'setting'):
            for row in session.execute(sa.text(f'SELECT * FROM {table}')).all():
                assert all(key not in str(value) for value in row), table
        events = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == [1, 2, 3] and events[0].prev_hash == ''
    assert all(e.hash == audit.event_hash(e, key.encode()) for e in events)
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))


def test_anchors_follow_the_count_and_time_settings(database: str, clock) -> None:
    set_policy(audit_anchor_every_events=5, audit_anchor_every_minutes=10)
    assert audit_anchor.anchor_if_due() is None  # an empty log has nothing to anchor
    append(2)
    assert audit_anchor.anchor_if_due().seq == 2  # the first anchor comes at once
    append(3)
    assert audit_anchor.anchor_if_due() is None  # 3 events, 0 minutes: not yet
    append(2)
    assert audit_anchor.anchor_if_due().seq == 7  # 5 events since the last anchor
    clock.advance(minutes=11)
    assert audit_anchor.anchor_if_due() is None  # time passed, but nothing new to anchor
    append(1)
    assert audit_anchor.anchor_if_due().seq == 8  # 1 event and 10 minutes
    assert [a.seq for a in file_anchors()] == [2, 7, 8]
    with db.transaction() as session:
        rows = session.exec(select(AuditAnchor).order_by(AuditAnchor.id)).all()
        head = audit.head(session)
    assert [(r.channel, r.seq) for r in rows] == [('file', 2), ('file', 7), ('file', 8)]
    assert [a.mac for a in file_anchors()] == [r.mac for r in rows]
    assert file_anchors()[-1].hash == head.hash and all(a.valid(audit.chain_key()) for a in file_anchors())


def test_an_anchor_line_holds_the_head_and_no_phi(database: str) -> None:
    append(1)
    audit_anchor.anchor_if_due()
    [line] = audit_anchor.anchor_path().read_text().splitlines()
    assert set(json.loads(line)) == {'seq', 'hash', 'event_at', 'written_at', 'mac'}


def test_the_anchor_file_goes_where_the_setting_says(database: str, tmp_path: Path, monkeypatch) -> None:
    elsewhere = tmp_path / 'other-volume' / 'smp' / 'anchors.log'
    monkeypatch.setenv('SMP_AUDIT_ANCHOR_FILE', str(elsewhere))
    config.reload_config()
    append(2)
    audit_anchor.anchor_if_due()
    assert audit_anchor.anchor_path() == elsewhere and len(elsewhere.read_text().splitlines()) == 1
    assert not (config.get_config().data_dir / 'audit-anchors.log').exists()
    with db.transaction() as session:
        assert audit_verify.verify(session).ok
        elsewhere.unlink()
        assert {p.kind for p in audit_verify.verify(session).problems} == {'anchor_file_old'}


def test_anchor_settings_are_checked_like_every_setting(database: str) -> None:
    assert settings_admin.bounds('audit_anchor_every_events') == (1, 100_000)
    assert {'audit_anchor_every_events', 'audit_anchor_every_minutes'} <= set(settings_admin.SECTIONS['security'])
    admin = Actor(account_id=None, username='admin@clinic.test', role='admin')
    with db.transaction() as session:
        with pytest.raises(InvalidInput, match='Anchor the audit log every \\(minutes\\) must be between 1 and 1440'):
            settings_admin.save_section(session, section='security', values={'audit_anchor_every_minutes': 0},
                                        actor=admin)
        settings_admin.save_section(session, section='audit', values={'audit_anchor_email': True}, actor=admin)
    settings.invalidate_cache()
    assert settings.get_settings().audit_anchor_email


def test_the_daily_email_anchor_goes_to_the_admins_once_a_day(database: str, clock) -> None:
    with db.transaction() as session:
        boss = factories.account(session, role='admin', email='boss@clinic.test')
        factories.account(session, role='staff', email='nurse@clinic.test')
    append(3)
    assert audit_anchor.email_anchor_if_due() is None  # off by default
    set_policy(audit_anchor_email=True)
    anchor = audit_anchor.email_anchor_if_due()
    assert audit_anchor.email_anchor_if_due() is None  # once a day
    clock.advance(hours=25)
    append(1)
    later = audit_anchor.email_anchor_if_due()
    with db.transaction() as session:
        emails = session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'audit_anchor')
                              .order_by(OutboxEmail.id)).all()
        head = audit.head(session)
        report = audit_verify.verify(session)
    assert [e.to_address for e in emails] == ['boss@clinic.test', 'boss@clinic.test']
    assert later.seq == head.seq and anchor.seq < later.seq
    assert f'event:  {later.seq}' in emails[-1].body_text and later.hash in emails[-1].body_text
    assert f'check-audit --expect {later.seq}:{later.hash}' in emails[-1].body_text
    assert report.ok and report.recorded_anchors == 2 and report.file_anchors == 0
    assert boss.id == emails[0].account_id


def test_reaching_the_count_anchors_after_the_commit_in_a_portal_process(database: str, monkeypatch) -> None:
    monkeypatch.setenv('SMP_SCHEDULER', 'true')
    config.reload_config()
    set_policy(audit_anchor_every_events=4)
    append(3)
    time.sleep(0.3)
    assert file_anchors() == []
    append(1)  # the 4th event: a background thread anchors it once the transaction commits
    deadline = time.monotonic() + 10
    while not file_anchors() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [a.seq for a in file_anchors()] == [4]


def test_the_anchor_job_is_scheduled(database: str) -> None:
    from services import jobs, scheduler
    jobs.register_all()
    assert {'audit_anchor'} <= {j.job_id for j in scheduler.jobs()}
    append(1)
    scheduler.run_all_once()
    assert [a.seq for a in file_anchors()] == [1]


def test_backup_takes_the_key_and_a_copy_of_the_anchor_file(database: str, portal_env: Path, tmp_path: Path) -> None:
    append(2)
    audit_anchor.anchor_if_due()
    if db.is_postgres():
        pytest.skip('the PostgreSQL backup needs pg_dump; the files part is the same code')
    target = backup.backup(tmp_path / 'backup')
    assert (target / 'secrets' / audit.KEY_NAME).read_text() == (portal_env / 'secrets' / audit.KEY_NAME).read_text()
    assert (target / 'audit-anchors.log').read_text() == audit_anchor.anchor_path().read_text()
