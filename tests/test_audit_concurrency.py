"""Several processes append to one audit log at once (4 processes × 200 events, anchoring as they go), on one
SQLite file and on PostgreSQL: the sequence stays gapless, nobody's event is lost or doubled, the chain and
every anchor verify. The processes also race to create the chain key on first use and must agree on one."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from models import AuditAnchor, AuditEvent
from services import audit, audit_anchor, audit_verify, db

ROOT = Path(__file__).resolve().parent.parent
WORKERS, EVENTS = 4, 200


def test_four_processes_append_200_events_each(database: str, portal_env: Path) -> None:
    assert not (portal_env / 'secrets' / audit.KEY_NAME).exists()  # the workers race to create it
    env = {k: v for k, v in os.environ.items() if k != 'NICEGUI_USER_SIMULATION'}
    start_at = time.time() + 4  # after every worker has imported and connected
    workers = [subprocess.Popen([sys.executable, '-m', 'tests.audit_worker', str(w), str(EVENTS), str(start_at)],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for w in range(WORKERS)]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err

    with db.transaction() as session:
        events = session.execute(sa.select(AuditEvent.seq, AuditEvent.object_id, AuditEvent.detail_json)
                                 .order_by(AuditEvent.seq)).all()
        anchors = session.exec(sa.select(AuditAnchor)).all()
        report = audit_verify.verify(session)
    assert [e.seq for e in events] == list(range(1, WORKERS * EVENTS + 1))  # gapless, none doubled
    for worker in range(WORKERS):  # each worker's events all there, in the order it wrote them
        mine = [json.loads(e.detail_json)['n'] for e in events if e.object_id == str(worker)]
        assert mine == list(range(EVENTS))
    switches = sum(a.object_id != b.object_id for a, b in zip(events, events[1:]))
    assert switches > 50  # they really wrote at the same time, interleaved
    assert report.ok, audit_verify.format_report(report)
    assert len(anchors) == WORKERS * EVENTS // 50 == report.file_anchors == report.recorded_anchors
    lines = audit_anchor.read_anchor_file(audit_anchor.anchor_path())
    assert len(lines) == len(anchors) and all(line.anchor is not None for line in lines)
    assert len(list((portal_env / 'secrets').iterdir())) == 1  # one key, no leftovers of the race
