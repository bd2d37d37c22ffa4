"""A separate process appending audit events (and anchors) to a shared database, for test_audit_concurrency.

    python -m tests.audit_worker WORKER COUNT START_AT

DATABASE_URL and SMP_DATA_DIR come from the environment. The process waits until START_AT (a Unix time), so
every worker starts appending at the same moment; every 50 events it also writes an anchor.
"""
from __future__ import annotations

import random
import sys
import time


def main(worker: int, count: int, start_at: float) -> None:
    from models.shapes import Actor
    from services import audit, audit_anchor, config, db

    cfg = config.reload_config()
    db.init(cfg.resolved_database_url)
    actor = Actor(username=f'worker{worker}@clinic.test', role='staff')
    time.sleep(max(0.0, start_at - time.time()))
    for n in range(count):
        with db.transaction() as session:
            audit.record(session, action='concurrency_test', actor=actor, object_type='worker', object_id=worker,
                         detail={'n': n})
        if n % 50 == 49:
            audit_anchor.anchor_if_due(force=True)
        time.sleep(random.uniform(0, 0.002))  # like real requests: not back to back, so the writers interleave
    db.engine().dispose()


if __name__ == '__main__':
    main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
