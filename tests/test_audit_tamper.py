"""The tamper matrix (issue 13): every way an insider with database access could rewrite the audit log is
detected, with the right first bad sequence number; an untouched log passes. Runs on SQLite and PostgreSQL.

The log: 30 events written by the portal's own code, anchored by the anchor job after events 10, 20 and 30.
A copy of the anchor file is kept as it stood after the anchor at 20 (the "older anchor file").
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from models.shapes import Actor
from services import audit, audit_anchor, audit_verify, db

ROOT = Path(__file__).resolve().parent.parent
NURSE = Actor(account_id=7, username='nurse@clinic.test', role='staff', ip_address='10.0.0.7')
ATTACKER_KEY = b'a key the attacker made up'


@dataclass
class Log:
    anchor_file: Path
    older_anchor_file: Path


@pytest.fixture
def log(database: str, portal_env: Path, tmp_path: Path) -> Log:
    older = tmp_path / 'anchors-after-20.log'
    for n in range(1, 31):
        with db.transaction() as session:
            audit.record(session, action='document_viewed', actor=NURSE, object_type='document', object_id=n,
                         chart_id=100 + n % 3, document_id=n, detail={'n': n})
        if n % 10 == 0:
            assert audit_anchor.anchor_if_due(force=True).seq == n
        if n == 20:
            shutil.copy(audit_anchor.anchor_path(), older)
    return Log(audit_anchor.anchor_path(), older)


# ----------------------------------------------------------------------------- what an insider does

def sql(statement: str, **params) -> None:
    with db.transaction() as session:
        session.execute(sa.text(statement), params)


def rows() -> list[dict]:
    with db.transaction() as session:
        return [dict(r._mapping) for r in session.execute(
            sa.select(audit.AuditEvent.__table__).order_by(sa.text('seq'))).all()]


def recompute_from(seq: int, hasher: Callable[[dict], str]) -> None:
    """Rewrite every hash from `seq` on, each linked to the one before (what an attacker without the key does)."""
    events = rows()
    prev = next((e['hash'] for e in events if e['seq'] == seq - 1), '')
    with db.transaction() as session:
        for event in events:
            if event['seq'] < seq:
                continue
            event['prev_hash'] = prev
            event['hash'] = hasher(event)
            session.execute(sa.text('UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :id'),
                            {'p': event['prev_hash'], 'h': event['hash'], 'id': event['id']})
            prev = event['hash']


def plain_sha256(event: dict) -> str:
    """The unkeyed hash (what the old chain used, and all an attacker without the key can compute)."""
    values = [event[name].isoformat() if name == 'at' else event[name] for name in audit.CONTENT_FIELDS]
    return hashlib.sha256(json.dumps(values, separators=(',', ':')).encode()).hexdigest()


def edit_a_field(log: Log) -> None:
    sql("UPDATE audit_event SET actor = 'someone.else@clinic.test' WHERE seq = 15")


def edit_and_recompute(log: Log) -> None:
    sql("UPDATE audit_event SET ip_address = '203.0.113.9' WHERE seq = 15")
    recompute_from(15, plain_sha256)


def edit_and_recompute_with_a_guessed_key(log: Log) -> None:
    sql("UPDATE audit_event SET action = 'document_created' WHERE seq = 12")
    recompute_from(12, lambda e: audit.content_hash(ATTACKER_KEY, e))


def delete_middle(log: Log) -> None:
    sql('DELETE FROM audit_event WHERE seq = 15')


def delete_middle_and_renumber(log: Log) -> None:
    sql('DELETE FROM audit_event WHERE seq = 15')
    sql('UPDATE audit_event SET seq = -(seq - 1) WHERE seq > 15')
    sql('UPDATE audit_event SET seq = -seq WHERE seq < 0')
    recompute_from(15, plain_sha256)


def delete_first(log: Log) -> None:
    sql('DELETE FROM audit_event WHERE seq = 1')


def delete_last(log: Log) -> None:
    sql('DELETE FROM audit_event WHERE seq = 30')


def delete_last_10(log: Log) -> None:
    sql('DELETE FROM audit_event WHERE seq > 20')


def delete_all(log: Log) -> None:
    sql('DELETE FROM audit_event')


def delete_all_and_the_anchor_records(log: Log) -> None:
    sql('DELETE FROM audit_event')
    sql('DELETE FROM audit_anchor')


def reorder(log: Log) -> None:
    """Move event 18 before event 12 by swapping their numbers (their content and hashes stay)."""
    sql('UPDATE audit_event SET seq = -1 WHERE seq = 12')
    sql('UPDATE audit_event SET seq = 12 WHERE seq = 18')
    sql('UPDATE audit_event SET seq = 18 WHERE seq = -1')


def insert_forged_event(log: Log) -> None:
    """Make room at 16 and insert an event there, linked to 15, with the best hash an attacker can make."""
    sql('UPDATE audit_event SET seq = -(seq + 1) WHERE seq >= 16')
    sql('UPDATE audit_event SET seq = -seq WHERE seq < 0')
    before = next(e for e in rows() if e['seq'] == 15)
    forged = {**before, 'seq': 16, 'actor': 'alibi@clinic.test', 'action': 'sign_out', 'prev_hash': before['hash'],
              'id': 1000}
    forged['hash'] = plain_sha256(forged)
    with db.transaction() as session:
        session.execute(audit.AuditEvent.__table__.insert().values(**forged))


def append_forged_event(log: Log) -> None:
    head = rows()[-1]
    forged = {**head, 'seq': 31, 'id': 1000, 'action': 'sign_in', 'prev_hash': head['hash']}
    forged['hash'] = plain_sha256(forged)
    with db.transaction() as session:
        session.execute(audit.AuditEvent.__table__.insert().values(**forged))


def replace_anchor_file_with_older(log: Log) -> None:
    shutil.copy(log.older_anchor_file, log.anchor_file)


def delete_anchor_file(log: Log) -> None:
    log.anchor_file.unlink()


def edit_anchor_file(log: Log) -> None:
    """Change the hash of the newest anchor to match a rewritten chain (its MAC no longer verifies)."""
    lines = log.anchor_file.read_text().splitlines()
    data = json.loads(lines[-1])
    data['hash'] = 'f' * 64
    lines[-1] = json.dumps(data, separators=(',', ':'))
    log.anchor_file.write_text('\n'.join(lines) + '\n')


def delete_last_10_and_cut_anchor_file(log: Log) -> None:
    """Cut the database and the anchor file back together: the anchor records in the database still tell."""
    sql('DELETE FROM audit_event WHERE seq > 20')
    shutil.copy(log.older_anchor_file, log.anchor_file)


# (case, tampering, first bad sequence number, the kinds of problem reported, a phrase check-audit prints)
MATRIX = [
    ('edit a field', edit_a_field, 15, {'edited'}, 'event 15 does not verify under the key'),
    ('edit and recompute', edit_and_recompute, 15, {'recomputed', 'anchor_mismatch'},
     'events 15–30 do not verify under the key although they link to each other'),
    ('edit and recompute with a guessed key', edit_and_recompute_with_a_guessed_key, 12,
     {'recomputed', 'anchor_mismatch'}, 'event 20 differs from its anchor'),
    ('delete middle', delete_middle, 15, {'missing'}, 'event 15 is missing (between event 14 and event 16)'),
    ('delete middle and renumber', delete_middle_and_renumber, 15, {'recomputed', 'anchor_mismatch', 'truncated'},
     'event 30 is missing; last anchor at 30'),
    ('delete first', delete_first, 1, {'missing'}, 'event 1 is missing: the log starts at event 2'),
    ('delete last', delete_last, 30, {'truncated'}, 'event 30 is missing; last anchor at 30'),
    ('delete last 10', delete_last_10, 21, {'truncated'}, 'events 21–30 are missing; last anchor at 30'),
    ('delete all', delete_all, 1, {'wiped'}, 'events 1–30 are missing (the log was wiped); last anchor at 30'),
    ('delete all and the anchor records', delete_all_and_the_anchor_records, 1, {'wiped'},
     'events 1–30 are missing (the log was wiped)'),
    ('reorder', reorder, 12, {'reordered', 'edited'}, 'event 12 was written after the event now numbered 17'),
    ('insert a forged event', insert_forged_event, 16, {'edited', 'reordered', 'anchor_mismatch'},
     'events 16–31 do not verify under the key'),
    ('append a forged event', append_forged_event, 31, {'edited'}, 'event 31 does not verify under the key'),
    ('replace the anchor file with an older one', replace_anchor_file_with_older, 21, {'anchor_file_old'},
     'ends with an anchor at event 20, but the database records 1 later anchor(s)'),
    ('delete the anchor file', delete_anchor_file, 1, {'anchor_file_old'}, 'audit-anchors.log is missing'),
    ('edit the anchor file', edit_anchor_file, 21, {'anchor_forged', 'anchor_file_old'},
     'anchor file line 3 (event 30) does not verify under the key'),
    ('cut the log and the anchor file together', delete_last_10_and_cut_anchor_file, 21,
     {'truncated', 'anchor_file_old'}, 'events 21–30 are missing; last anchor at 30'),
]


def check() -> audit_verify.Report:
    with db.transaction() as session:
        return audit_verify.verify(session)


def test_an_untouched_log_passes(log: Log) -> None:
    report = check()
    assert report.ok, audit_verify.format_report(report)
    assert (report.events, report.head.seq, report.file_anchors, report.recorded_anchors) == (30, 30, 3, 3)
    assert audit_verify.format_report(report).endswith('audit log chain: OK')


@pytest.mark.parametrize(('case', 'tamper', 'first_bad', 'kinds', 'printed'), MATRIX, ids=[m[0] for m in MATRIX])
def test_tampering_is_detected_with_the_first_bad_sequence_number(log: Log, case: str, tamper, first_bad: int,
                                                                   kinds: set[str], printed: str) -> None:
    tamper(log)
    report = check()
    text = audit_verify.format_report(report)
    assert not report.ok, f'{case}: not detected\n{text}'
    assert report.first_bad_seq == first_bad, text
    assert {p.kind for p in report.problems} == kinds, text
    assert printed in text, text
    assert text.endswith(f'first bad sequence number: {first_bad}'), text


def test_a_lost_key_is_reported_not_mistaken_for_a_clean_log(log: Log, portal_env: Path) -> None:
    (portal_env / 'secrets' / audit.KEY_NAME).unlink()
    report = check()
    assert not report.ok and {p.kind for p in report.problems} == {'no_key'}
    assert 'restore the secrets folder' in audit_verify.format_report(report)


def test_a_replaced_key_is_explained(log: Log, portal_env: Path) -> None:
    (portal_env / 'secrets' / audit.KEY_NAME).write_text('another key')
    report = check()
    assert report.first_bad_seq == 1 and 'No event verifies under the current key' in audit_verify.format_report(report)


def test_an_emailed_head_given_on_the_command_line_is_checked(log: Log) -> None:
    head = rows()[-1]
    with db.transaction() as session:
        good = audit_verify.verify(session, expected=[(30, head['hash'])])
        bad = audit_verify.verify(session, expected=[(25, 'e' * 64)])
    assert good.ok
    assert bad.first_bad_seq == 21 and 'event 25 differs from its anchor (anchor given on the command line)' \
        in audit_verify.format_report(bad)


# ----------------------------------------------------------------------------- the command

def check_audit(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != 'NICEGUI_USER_SIMULATION'}
    return subprocess.run([sys.executable, 'main.py', 'check-audit', *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_audit_prints_ok_then_the_truncation_and_exits_1(log: Log) -> None:
    ok = check_audit()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert 'audit log: 30 events (sequence 1–30)' in ok.stdout and ok.stdout.rstrip().endswith('audit log chain: OK')
    delete_last_10(log)
    bad = check_audit()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert 'audit event 21: events 21–30 are missing; last anchor at 30' in bad.stdout
    assert bad.stdout.rstrip().endswith('audit log chain: 1 problem(s); first bad sequence number: 21')


def test_check_audit_finds_an_older_anchor_file(log: Log) -> None:
    replace_anchor_file_with_older(log)
    result = check_audit()
    assert result.returncode == 1
    assert 'audit event 21: the anchor file' in result.stdout and 'replaced by an older copy' in result.stdout


def test_check_audit_help_describes_what_it_checks() -> None:
    result = subprocess.run([sys.executable, 'main.py', 'check-audit', '--help'], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0
    for phrase in ('HMAC', 'secrets/audit_chain_key', 'SMP_AUDIT_ANCHOR_FILE', 'events 812-840 are missing',
                   'wiped', 'recomputed', 'reordered', 'older copy', 'first bad sequence number', '--expect'):
        assert phrase in result.stdout, phrase
