"""Any number of processes may start at once on an empty database; the `alembic` command line finds it too."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get('SMP_TEST_POSTGRES_URL')
PROCESSES = 3


def _env(data: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(('SMP_', 'PYTEST', 'NICEGUI')) or k == 'DATABASE_URL')}
    env['SMP_DATA_DIR'] = str(data)
    if database_url:
        env['DATABASE_URL'] = database_url
    return env


def _start_all_at_once(env: dict[str, str]) -> list[subprocess.CompletedProcess]:
    def migrate(_: int) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / 'main.py'), 'migrate'], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=240)
    with ThreadPoolExecutor(max_workers=PROCESSES) as pool:
        return list(pool.map(migrate, range(PROCESSES)))


def _assert_all_migrated(results: list[subprocess.CompletedProcess], env: dict[str, str]) -> None:
    from services import db
    head = db.head_revision()
    for result in results:
        assert result.returncode == 0, result.stderr
        assert f'is at revision {head}.' in result.stdout
        assert 'Traceback' not in result.stderr
    current = subprocess.run([sys.executable, '-m', 'alembic', 'current'], capture_output=True, text=True, env=env,
                             cwd=ROOT, timeout=120)
    assert current.returncode == 0, current.stderr
    assert f'{head} (head)' in current.stdout


def test_processes_starting_at_once_on_an_empty_sqlite_database_all_succeed(tmp_path: Path) -> None:
    env = _env(tmp_path / 'data', None)
    _assert_all_migrated(_start_all_at_once(env), env)
    assert (tmp_path / 'data' / 'portal.db').exists()


def test_processes_starting_at_once_on_an_empty_postgresql_database_all_succeed(tmp_path: Path) -> None:
    if not PG_URL:
        if os.environ.get('CI'):
            pytest.fail('SMP_TEST_POSTGRES_URL is not set: CI must run the database tests on PostgreSQL')
        pytest.skip('PostgreSQL not available (set SMP_TEST_POSTGRES_URL)')
    name = f'smp_start_{uuid.uuid4().hex[:12]}'
    admin = sa.create_engine(PG_URL, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE {name}'))
    try:
        url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        env = _env(tmp_path / 'data', url)
        _assert_all_migrated(_start_all_at_once(env), env)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
        admin.dispose()
