"""APScheduler 3 periodic ticks. Due work lives in database rows, so several processes can run these."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    """A blocking function run every `seconds` on the scheduler's thread pool."""

    job_id: str
    func: Callable[[], object]
    seconds: int


_jobs: dict[str, PeriodicJob] = {}
_scheduler: AsyncIOScheduler | None = None


def register(job_id: str, func: Callable[[], object], *, seconds: int) -> None:
    """Add a periodic job (services call this at import; the scheduler starts them)."""
    _jobs[job_id] = PeriodicJob(job_id, func, seconds)


def jobs() -> list[PeriodicJob]:
    """Every registered job."""
    return list(_jobs.values())


def run_all_once() -> None:
    """Run every job once in this thread (tests and the `tick` CLI command)."""
    for job in _jobs.values():
        job.func()


def start() -> AsyncIOScheduler:
    """Start the ticks on the running event loop (called from app.on_startup)."""
    global _scheduler
    stop()
    _scheduler = AsyncIOScheduler(
        executors={'default': ThreadPoolExecutor(2, pool_kwargs={'thread_name_prefix': 'smp-jobs'})},
        job_defaults={'coalesce': True, 'max_instances': 1, 'misfire_grace_time': 60},
        timezone='UTC',
    )
    for job in _jobs.values():
        _scheduler.add_job(_guarded(job), 'interval', seconds=job.seconds, id=job.job_id, replace_existing=True)
    _scheduler.start()
    log.info('scheduler started with jobs: %s', ', '.join(_jobs))
    return _scheduler


def stop() -> None:
    """Stop the ticks (called from app.on_shutdown)."""
    global _scheduler
    if _scheduler is not None and _scheduler.running:
        _scheduler.shutdown(wait=False)
    _scheduler = None


def _guarded(job: PeriodicJob) -> Callable[[], None]:
    def run() -> None:
        try:
            job.func()
        except Exception:  # a failing tick must not stop the next one
            log.exception('job %s failed', job.job_id)
    return run
