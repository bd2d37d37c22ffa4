"""Claimed emails are leases: renewed while a batch sends, given back on a clean stop, taken over after a crash."""
from __future__ import annotations

import asyncio
import threading
from datetime import datetime

import pytest
from sqlmodel import select

from models import OutboxEmail
from services import config, db, outbox, scheduler


def _queue(count: int) -> list[str]:
    with db.transaction() as session:
        return [outbox.enqueue(session, kind='test_email', to=f'lease{n}@outside.test',
                               context={'sent_at': f'test {n}'}).message_id for n in range(count)]


def _statuses() -> dict[str, int]:
    with db.transaction() as session:
        rows = session.exec(select(OutboxEmail)).all()
        return {status: sum(1 for r in rows if r.status == status) for status in {r.status for r in rows}}


def test_a_crashed_workers_claims_are_sent_after_the_lease_and_once(database, clock, smtp_server) -> None:
    ids = _queue(3)
    assert outbox.claim_due(worker='dead-host:1') != []  # this worker is killed before it sends anything
    assert outbox.process_outbox() == {}  # its lease holds
    clock.advance(seconds=outbox.LEASE_DEFAULT_SECONDS - 1)
    assert outbox.process_outbox() == {}
    clock.advance(seconds=2)  # about a minute after the crash, not ten
    assert outbox.process_outbox() == {'sent': 3}
    assert sorted(m['Message-ID'] for _, m in smtp_server.messages) == sorted(ids)
    clock.advance(hours=1)
    assert outbox.process_outbox() == {}


def test_the_lease_is_configurable(database, clock, smtp_server, monkeypatch) -> None:
    monkeypatch.setenv('SMP_OUTBOX_LEASE_SECONDS', '15')
    config.reload_config()  # (a bad value stops the start: tests/test_config_errors.py)
    _queue(1)
    outbox.claim_due(worker='dead-host:1')
    clock.advance(seconds=14)
    assert outbox.process_outbox() == {}
    clock.advance(seconds=2)
    assert outbox.process_outbox() == {'sent': 1}


def test_leases_are_renewed_while_a_long_batch_sends(database, clock, smtp_server, monkeypatch) -> None:
    _queue(4)
    real_deliver = outbox.deliver
    seen: list[int] = []

    def slow_deliver(email_id, cfg, backend=None, *, worker=outbox.WORKER_ID):
        clock.advance(seconds=40)  # each send takes 40 s: the batch outlives one lease
        # another worker looking now finds nothing to take over
        assert outbox.claim_due(worker='other-host:2') == []
        seen.append(email_id)
        return real_deliver(email_id, cfg, backend, worker=worker)

    monkeypatch.setattr(outbox, 'deliver', slow_deliver)
    assert outbox.process_outbox() == {'sent': 4}
    assert len(smtp_server.messages) == 4 and len(seen) == 4


def test_a_clean_stop_gives_claims_back_and_the_next_process_sends_them_at_once(database, clock, smtp_server,
                                                                                 monkeypatch) -> None:
    ids = _queue(5)
    real_deliver = outbox.deliver

    def deliver_then_stop(email_id, cfg, backend=None, *, worker=outbox.WORKER_ID):
        outcome = real_deliver(email_id, cfg, backend, worker=worker)
        scheduler._stopping.set()  # SIGTERM arrives while the first email is being sent
        return outcome

    monkeypatch.setattr(outbox, 'deliver', deliver_then_stop)
    try:
        assert outbox.process_outbox() == {'sent': 1, 'released': 4}
    finally:
        scheduler._stopping.clear()
    assert _statuses() == {'sent': 1, 'pending': 4}
    monkeypatch.setattr(outbox, 'deliver', real_deliver)
    # the next process (another worker id), at the same instant: no lease to wait for
    assert outbox.process_outbox(worker='next-process:2') == {'sent': 4}
    assert sorted(m['Message-ID'] for _, m in smtp_server.messages) == sorted(ids)


def test_stopping_the_scheduler_finishes_the_batch_and_releases_the_rest(database, smtp_server, monkeypatch) -> None:
    """The real shutdown path (app.on_shutdown -> scheduler.stop) while the outbox job is mid-batch."""
    _queue(6)
    started, go_on = threading.Event(), threading.Event()
    real_deliver = outbox.deliver

    def blocking_deliver(email_id, cfg, backend=None, *, worker=outbox.WORKER_ID):
        started.set()
        go_on.wait(5)
        return real_deliver(email_id, cfg, backend, worker=worker)

    monkeypatch.setattr(outbox, 'deliver', blocking_deliver)
    monkeypatch.setattr(scheduler, '_jobs', {})
    monkeypatch.setattr(scheduler, '_stop_hooks', [])
    scheduler.register('outbox', outbox.process_outbox, seconds=3600)
    scheduler.on_stop(outbox.release_own_claims)

    async def run() -> None:
        sched = scheduler.start()
        sched.get_job('outbox').modify(next_run_time=datetime.now(sched.timezone))
        await asyncio.to_thread(started.wait, 5)
        stopping = scheduler.stop()
        assert scheduler.stopping()
        go_on.set()
        await stopping

    asyncio.run(run())
    scheduler._stopping.clear()
    assert _statuses() == {'sent': 1, 'pending': 5}
    with db.transaction() as session:
        assert all(r.claimed_by is None for r in session.exec(select(OutboxEmail)).all())
    assert outbox.process_outbox() == {'sent': 5}


@pytest.mark.parametrize('name', ['outbox'])
def test_jobs_are_named_in_the_log(name, caplog, monkeypatch) -> None:
    import logging
    monkeypatch.setattr(scheduler, '_jobs', {})
    scheduler.register(name, lambda: {'sent': 2, 'failed': 1}, seconds=10)
    caplog.set_level(logging.INFO, logger='services.scheduler')
    scheduler.run_all_once()
    [line] = [r.getMessage() for r in caplog.records if r.name == 'services.scheduler']
    assert line.startswith('job outbox ok failed=1 sent=2 in ')


def test_every_delivery_batch_logs_its_counts_without_addresses(database, smtp_server, caplog) -> None:
    import logging
    smtp_server.reject.add('lease1@outside.test')
    _queue(3)
    caplog.set_level(logging.DEBUG, logger='services')
    assert outbox.process_outbox() == {'sent': 2, 'failed': 1}
    lines = [r.getMessage() for r in caplog.records if r.name.startswith('services')]  # not the test SMTP server's
    assert 'outbox batch: 2 sent, 1 failed, 0 deferred, 0 released' in lines
    assert not [line for line in lines if '@' in line]
