"""The list part of benchmarks/user_feel.py: search, sort and paging cost for 1,000 vs 50,000 shares.

    python benchmarks/main_screen.py [--runs 30] [--sizes 1000,50000]

Service level only (no server: user_feel.py measures page opens): builds a temporary SQLite database (and a
temporary PostgreSQL database when SMP_TEST_POSTGRES_URL is set) through the migrations (so with the search
index), bulk-inserts the shares (then VACUUM ANALYZE on PostgreSQL, as autovacuum would), and prints a
Markdown table of the median time of `messages.list_messages` (a page of 25 with its count), the contacts
measured in turn, and the ratio between the largest and the smallest contact.
"""
from __future__ import annotations

import argparse
import functools
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

SIZES = (1_000, 50_000)
CASES = {
    'first page': {},
    'next page (by key)': {'after': 'first page'},
    'last page': {'last': True},
    'search, 1% matching': {'search': 'patient 007'},
    'search, one match': {'search': 'bulk 00007'},
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


def medians_ms(actors: dict[int, Actor], runs: int, **kwargs) -> dict[int, float]:
    """The median time of one case per size, the sizes measured in turn (A/B/A/B...), so that a slow moment of
    the machine falls on both instead of on one side of the ratio."""
    calls = {}
    for size, actor in actors.items():
        arguments = dict(kwargs)
        if arguments.get('after') == 'first page':
            arguments['after'] = db.run(messages.list_messages, actor=actor, limit=25).last
        calls[size] = functools.partial(db.run, messages.list_messages, actor=actor, limit=25, **arguments)
    timings: dict[int, list[float]] = {size: [] for size in actors}
    for run in range(3 + runs):  # 3 to warm up caches and the query planner
        for size, call in calls.items():
            start = time.perf_counter()
            page = call()
            if run >= 3:
                timings[size].append((time.perf_counter() - start) * 1000)
            assert page.rows
    return {size: statistics.median(t) for size, t in timings.items()}


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
        results += [(label, case, size, ms) for size, ms in medians_ms(actors, runs, **kwargs).items()]
    db.engine().dispose()
    return results


def main() -> int:
    global SIZES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=30)
    parser.add_argument('--sizes', default=','.join(str(s) for s in SIZES))
    args = parser.parse_args()
    SIZES = tuple(int(s) for s in args.sizes.split(','))
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
    print(f'| List (service level, page of 25 + count), median of {args.runs} | '
          + ' | '.join(f'{size:,} shares' for size in SIZES) + ' | Ratio |')
    print('|---|' + '---|' * (len(SIZES) + 1))
    for label in dict.fromkeys(r[0] for r in results):
        for case in CASES:
            cells = [r[3] for r in results if r[0] == label and r[1] == case]
            print(f'| {label}: {case} | ' + ' | '.join(f'{c:.1f} ms' for c in cells)
                  + f' | {cells[-1] / cells[0]:.2f}× |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
