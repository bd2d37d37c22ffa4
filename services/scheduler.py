"""APScheduler 3 periodic ticks. Due work lives in database rows, so several processes can run these.

A clean stop (SIGTERM, Ctrl-C) lets the running jobs finish: `stopping()` tells a long job (the outbox) to end
after its current item, and the stop hooks then give back what this process still holds (claimed emails).
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services import metrics

log = logging.getLogger(__name__)
STOP_WAIT_SECONDS = 30  # at most this long for running jobs at a stop (one SMTP send is at most 10 s)


@dataclass(frozen=True)
class PeriodicJob:
    """A blocking function run every `seconds` on the scheduler's thread pool."""

    job_id: str
    func: Callable[[], object]
    seconds: int
    at_start: bool = False  # also run once right when the scheduler starts


_jobs: dict[str, PeriodicJob] = {}
_stop_hooks: list[Callable[[], object]] = []
_scheduler: AsyncIOScheduler | None = None
_stopping = threading.Event()
_idle = threading.Condition()
_running = 0


def register(job_id: str, func: Callable[[], object], *, seconds: int, at_start: bool = False) -> None:
    """Add a periodic job (services call this at import; the scheduler starts them)."""
    _jobs[job_id] = PeriodicJob(job_id, func, seconds, at_start)


def on_stop(hook: Callable[[], object]) -> None:
    """Run `hook` (blocking) after the jobs have finished at a clean stop, e.g. to give back claimed rows."""
    if hook not in _stop_hooks:
        _stop_hooks.append(hook)


def jobs() -> list[PeriodicJob]:
    """Every registered job."""
    return list(_jobs.values())


def stopping() -> bool:
    """True while the scheduler is stopping: a long job ends after its current item."""
    return _stopping.is_set()


def run_all_once() -> None:
    """Run every job once in this thread (tests and the `tick` CLI command)."""
    for job in _jobs.values():
        _guarded(job, reraise=True)()


def start() -> AsyncIOScheduler:
    """Start the ticks on the running event loop (called from app.on_startup)."""
    global _scheduler
    if _scheduler is not None and _scheduler.running:
        _scheduler.shutdown(wait=False)
    _stopping.clear()
    _scheduler = AsyncIOScheduler(
        executors={'default': ThreadPoolExecutor(2, pool_kwargs={'thread_name_prefix': 'smp-jobs'})},
        job_defaults={'coalesce': True, 'max_instances': 1, 'misfire_grace_time': 60},
        timezone='UTC',
    )
    for job in _jobs.values():
        _scheduler.add_job(_guarded(job), 'interval', seconds=job.seconds, id=job.job_id, name=job.job_id,
                           replace_existing=True, **({'next_run_time': datetime.now(UTC)} if job.at_start else {}))
    _scheduler.start()
    log.info('scheduler started with jobs: %s', ', '.join(_jobs))
    return _scheduler


def running() -> bool:
    """True while the ticks run in this process."""
    return _scheduler is not None and _scheduler.running


def stop():  # noqa: ANN201 (None, or an awaitable when called on a running event loop)
    """Stop the ticks (app.on_shutdown): no new runs; running jobs finish (the outbox after its current email),
    then the stop hooks give back what this process holds. On an event loop the waiting happens off the loop."""
    global _scheduler
    current, _scheduler = _scheduler, None
    if current is None or not current.running:
        return None
    _stopping.set()
    current.shutdown(wait=False)  # on the loop: removes the timers; jobs already running go on
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        _finish()
        return None
    return asyncio.to_thread(_finish)


def _finish() -> None:
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    with _idle:
        while _running and time.monotonic() < deadline:
            _idle.wait(timeout=max(deadline - time.monotonic(), 0.01))
    for hook in _stop_hooks:
        try:
            hook()
        except Exception:  # noqa: BLE001 (a failing hook must not keep the others from running)
            log.exception('stop hook %s failed', getattr(hook, '__qualname__', hook))
    log.info('scheduler stopped')


def _guarded(job: PeriodicJob, *, reraise: bool = False) -> Callable[[], None]:
    """`job` with one log line and one metrics sample per run (name, result, duration); an error is logged,
    not raised (unless asked)."""
    def run() -> None:
        global _running
        with _idle:
            _running += 1
        started = time.monotonic()
        result = 'ok'
        try:
            outcome = job.func()
            if isinstance(outcome, dict) and outcome:  # e.g. the outbox's counts per outcome
                result = 'ok ' + ' '.join(f'{key}={value}' for key, value in sorted(outcome.items()))
        except Exception:  # a failing tick must not stop the next one
            result = 'failed'
            log.exception('job %s failed', job.job_id)
            if reraise:
                raise
        finally:
            with _idle:
                _running -= 1
                _idle.notify_all()
        seconds = time.monotonic() - started
        metrics.job_ran(job.job_id, ok=result != 'failed', seconds=seconds)
        log.info('job %s %s in %.3f s', job.job_id, result, seconds)
    run.__name__ = run.__qualname__ = job.job_id  # APScheduler names the job after its function in its logs
    return run
