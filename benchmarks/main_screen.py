"""Benchmark: the main screen's list queries for a contact with 10 shares and one with 10,000.

    python benchmarks/main_screen.py [--runs 30]

Builds a temporary SQLite database (and a temporary PostgreSQL database when SMP_TEST_POSTGRES_URL is
set), bulk-inserts the shares (then VACUUM ANALYZE on PostgreSQL, as autovacuum would), and prints the
median time of `messages.list_messages` (count + one page) for the first page, a search and a sort by
REGARDING. No server is started.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from models.shapes import Actor  # noqa: E402
from services import config, db, messages, settings  # noqa: E402
from tests import factories, portal_data  # noqa: E402

SIZES = (10, 10_000)
CASES = {
    'first page': {},
    'search': {'search': 'patient 007'},
    'sort REGARDING': {'sort': 'regarding', 'descending': False},
}


def seed() -> dict[int, Actor]:
    """One contact per size, its shares bulk-inserted; the Actor that reads them."""
    actors = {}
    for size in SIZES:
        contact_id = db.run(lambda session: factories.contact(session).id)
        db.run(portal_data.bulk_shares, contact_id=contact_id, count=size)
        actors[size] = Actor(account_id=None, username=f'bench{size}', role='contact', contact_ids=(contact_id,))
    return actors


def median_ms(actor: Actor, runs: int, **kwargs) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        page = db.run(messages.list_messages, actor=actor, limit=25, **kwargs)
        timings.append((time.perf_counter() - start) * 1000)
        assert page.rows
    return statistics.median(timings)


def bench(label: str, url: str, runs: int) -> list[tuple[str, str, int, float]]:
    db.init(url)
    db.migrate()
    settings.invalidate_cache()
    actors = seed()
    if db.is_postgres():  # what autovacuum does after a bulk load; without statistics the planner guesses
        with db.engine().connect().execution_options(isolation_level='AUTOCOMMIT') as conn:
            conn.execute(sa.text('VACUUM ANALYZE share'))
    results = []
    for case, kwargs in CASES.items():
        for size, actor in actors.items():
            median_ms(actor, 3, **kwargs)  # warm up caches and the query planner
            results.append((label, case, size, median_ms(actor, runs, **kwargs)))
    db.engine().dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=30)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ['SMP_DATA_DIR'] = tmp
        os.environ['DATABASE_URL'] = f'sqlite:///{tmp}/bench.db'
        config.reload_config()
        results += bench('SQLite', f'sqlite:///{tmp}/bench.db', args.runs)
        pg = os.environ.get('SMP_TEST_POSTGRES_URL')
        if pg:
            name = f'smp_bench_{uuid.uuid4().hex[:8]}'
            admin = sa.create_engine(pg, isolation_level='AUTOCOMMIT')
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE {name}'))
            try:
                url = sa.engine.make_url(pg).set(database=name).render_as_string(hide_password=False)
                results += bench('PostgreSQL', url, args.runs)
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
                admin.dispose()
    print(f'median of {args.runs} runs, count + first page of 25 rows, milliseconds')
    print(f'{"database":<11} {"query":<15} ' + ' '.join(f'{f"{s:,} shares":>14}' for s in SIZES))
    for label in dict.fromkeys(r[0] for r in results):
        for case in CASES:
            cells = [f'{r[3]:>14.2f}' for r in results if r[0] == label and r[1] == case]
            print(f'{label:<11} {case:<15} ' + ' '.join(cells))
    return 0


if __name__ == '__main__':
    sys.exit(main())
