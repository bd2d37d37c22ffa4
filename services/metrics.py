"""Prometheus metrics: what the portal counts, and the outbox figures read from the database when scraped.

Definitions only (no web framework here): call sites increment them with one line; `/metrics`
(pages/public/health.py) renders `render()` for the addresses in SMP_METRICS_ALLOW. Labels never carry a
person, an address or an id: only route templates, job names, results and status classes.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import sqlalchemy as sa
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
disable_created_metrics()  # no *_created series: they double the output and nobody graphs them
REGISTRY = CollectorRegistry()
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter('smp_http_requests', 'HTTP requests answered, by method and status class',
                   ['method', 'status'], registry=REGISTRY)
REQUEST_SECONDS = Histogram('smp_http_request_duration_seconds', 'Time to answer an HTTP request',
                            registry=REGISTRY)
PAGE_BUILDS = Counter('smp_page_builds', 'Pages built, by route', ['route'], registry=REGISTRY)
PAGE_BUILD_SECONDS = Histogram('smp_page_build_duration_seconds', 'Time to build a page, by route', ['route'],
                               registry=REGISTRY)
SIGN_INS = Counter('smp_sign_ins', 'Sign-in attempts, by result (success or failure)', ['result'],
                   registry=REGISTRY)
LOCKOUTS = Counter('smp_lockouts', 'Locks that started after too many failures, by scope', ['scope'],
                   registry=REGISTRY)
JOB_RUNS = Counter('smp_job_runs', 'Scheduler job runs, by job and result', ['job', 'result'], registry=REGISTRY)
JOB_SECONDS = Histogram('smp_job_duration_seconds', 'Scheduler job run time, by job', ['job'],
                        buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=REGISTRY)
CONNECTED_CLIENTS = Gauge('smp_connected_clients', 'Browser tabs connected to this process', registry=REGISTRY)


@contextmanager
def page_build(route: str) -> Iterator[None]:
    """Count and time one page build (the route template, e.g. /staff/chart/{chart_id})."""
    PAGE_BUILDS.labels(route=route).inc()
    with PAGE_BUILD_SECONDS.labels(route=route).time():
        yield


def job_ran(job_id: str, *, ok: bool, seconds: float) -> None:
    """Count and time one run of scheduler job `job_id` (called by the scheduler after every run)."""
    JOB_RUNS.labels(job=job_id, result='success' if ok else 'failure').inc()
    JOB_SECONDS.labels(job=job_id).observe(seconds)


def status_class(status: int) -> str:
    """`2xx`, `3xx`, … for a response status."""
    return f'{status // 100}xx'


class OutboxCollector(Collector):
    """Outbox figures read from the database at scrape time: emails per status and the age of the oldest
    email still waiting to be sent."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from models import OutboxEmail
        from . import db

        table = OutboxEmail.__table__
        by_status = GaugeMetricFamily('smp_outbox_emails', 'Emails in the outbox, by status', labels=['status'])
        oldest = GaugeMetricFamily('smp_outbox_oldest_waiting_seconds',
                                   'Age of the oldest email waiting to be sent (0 when none waits)')
        try:
            with db.engine().connect() as connection:
                counts: dict[str, int] = dict(connection.execute(sa.select(table.c.status, sa.func.count()).group_by(table.c.status))
                              .all())
                first = connection.execute(sa.select(sa.func.min(table.c.created_at))
                                           .where(table.c.status.in_(('pending', 'sending')))).scalar()
        except Exception:  # a scrape must answer even when the database does not (readiness reports that)
            log.warning('outbox metrics unavailable: the database did not answer')
            return
        for status in ('pending', 'sending', 'sent', 'failed', 'cancelled'):
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        age = 0.0
        if first is not None:
            first = first if first.tzinfo else first.replace(tzinfo=timezone.utc)
            age = max(0.0, (datetime.now(timezone.utc) - first).total_seconds())
        oldest.add_metric([], age)
        yield oldest


REGISTRY.register(OutboxCollector())


def render() -> bytes:
    """Every metric in Prometheus's text format."""
    return generate_latest(REGISTRY)


def count_connected(counter: Callable[[], float]) -> None:
    """Read the connected-client count from `counter` at each scrape (the page layer knows the clients)."""
    CONNECTED_CLIENTS.set_function(counter)


