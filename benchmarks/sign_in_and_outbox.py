"""Benchmark: argon2id cost at production parameters, sign-in latency, and outbox delivery throughput.

    .venv/bin/python benchmarks/sign_in_and_outbox.py [--emails 500]

Uses a temporary data directory with SQLite (and PostgreSQL too when SMP_TEST_POSTGRES_URL is set),
and a local aiosmtpd server on 127.0.0.1. Prints one table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--emails', type=int, default=500)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='smp-bench-'))
    os.environ['SMP_DATA_DIR'] = str(tmp)
    for key in [k for k in os.environ if k.startswith('SMP_ARGON2')]:
        del os.environ[key]  # production cost
    from services import config
    config.reload_config()

    from services import passwords
    hashes = []
    for _ in range(5):
        start = time.perf_counter()
        passwords.hash_password('a long enough passphrase 42')
        hashes.append(time.perf_counter() - start)
    print(f'argon2id hash (m={config.get_config().argon2_memory_kib} KiB, t={config.get_config().argon2_time_cost}): '
          f'median {statistics.median(hashes) * 1000:.0f} ms')

    targets = [('sqlite', f'sqlite:///{tmp / "bench.db"}')]
    if os.environ.get('SMP_TEST_POSTGRES_URL'):
        targets.append(('postgresql', _fresh_pg(os.environ['SMP_TEST_POSTGRES_URL'])))
    for name, url in targets:
        bench_database(name, url, args.emails)


def bench_database(name: str, url: str, emails: int) -> None:
    from services import auth, db, outbox, settings
    from tests import factories
    from tests.smtp import SmtpServer
    db.init(url)
    db.migrate()
    settings.invalidate_cache()
    with db.transaction() as session:
        factories.account(session, role='staff', email='nurse@clinic.test')

    latencies = []
    for _ in range(5):
        start = time.perf_counter()
        assert auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD, ip_address=None)
        latencies.append(time.perf_counter() - start)
    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        ok = list(pool.map(lambda _: auth.sign_in(username='nurse@clinic.test', password=factories.PASSWORD,
                                                  ip_address=None), range(16)))
    burst = time.perf_counter() - start
    assert all(ok)

    server = SmtpServer()
    server.start()
    os.environ.update(SMP_SMTP_HOST='127.0.0.1', SMP_SMTP_PORT=str(server.port), SMP_SMTP_TLS='none')
    from services import config
    config.reload_config()
    settings.invalidate_cache()
    with db.transaction() as session:
        for i in range(emails):
            outbox.enqueue(session, kind='test_email', to=f'r{i}@example.test', context={'sent_at': 'now'})
    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: outbox.process_outbox(limit=50), range(2)))
    sent_time = time.perf_counter() - start
    server.stop()
    for key in ('SMP_SMTP_HOST', 'SMP_SMTP_PORT', 'SMP_SMTP_TLS'):
        del os.environ[key]
    config.reload_config()
    print(f'{name}: sign-in median {statistics.median(latencies) * 1000:.0f} ms; 16 sign-ins from 8 threads '
          f'{burst:.2f} s; outbox {emails} emails by 2 workers in {sent_time:.2f} s '
          f'({emails / sent_time:.0f}/s, delivered {len(server.messages)})')
    db.engine().dispose()


def _fresh_pg(base: str) -> str:
    import sqlalchemy as sa
    name = f'smp_bench_{uuid.uuid4().hex[:8]}'
    engine = sa.create_engine(base, isolation_level='AUTOCOMMIT')
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE {name}'))
    engine.dispose()
    return sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)


if __name__ == '__main__':
    main()
