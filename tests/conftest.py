"""Shared fixtures: a fresh data directory per test, databases (SQLite and PostgreSQL), an SMTP server, a clock.

Service tests take the `database` fixture and run once on SQLite and once on PostgreSQL
(when SMP_TEST_POSTGRES_URL is set; CI sets it, and CI fails if it is missing).
Page tests take NiceGUI's `user` fixture: the environment below is applied before it runs main.py.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from nicegui.testing import User

from services import clock as clock_module
from services import access_log, config, db, settings
from tests.smtp import SmtpServer

PG_URL = os.environ.get('SMP_TEST_POSTGRES_URL')
_nicegui_open = User.open


async def _open_like_a_browser(self: User, path: str, *, clear_forward_history: bool = True):
    """NiceGUI's simulated browser records the path it was asked for; the sign-in hop that sets the session
    cookie (`/session/start`) redirects, so record where a real browser would end up."""
    if path.startswith('/session/'):
        response = await self.http_client.get(path, follow_redirects=False)
        path = response.headers.get('location', '/login')
    return await _nicegui_open(self, path, clear_forward_history=clear_forward_history)


User.open = _open_like_a_browser
FAST_HASHING = {'SMP_ARGON2_MEMORY_KIB': '256', 'SMP_ARGON2_TIME_COST': '1'}
_ran_on: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def portal_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory and SQLite database, no scheduler ticks, cheap argon2."""
    data = tmp_path / 'data'
    data.mkdir()
    monkeypatch.setenv('SMP_DATA_DIR', str(data))
    monkeypatch.setenv('DATABASE_URL', f'sqlite:///{data / "portal.db"}')
    monkeypatch.setenv('SMP_SCHEDULER', 'false')
    for key, value in FAST_HASHING.items():
        monkeypatch.setenv(key, value)
    for key in list(os.environ):
        if key.startswith('SMP_SMTP_') or key in ('SMP_BASE_URL', 'SMP_MAIL_FROM'):
            monkeypatch.delenv(key)
    config.reload_config()
    settings.invalidate_cache()
    clock_module.set_clock(None)
    access_log.reset()
    yield data
    clock_module.set_clock(None)
    settings.invalidate_cache()


# ----------------------------------------------------------------------------- databases

@pytest.fixture(scope='session')
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is faster)."""
    path = tmp_path_factory.mktemp('template') / 'template.db'
    db.migrate(f'sqlite:///{path}')
    return path


@pytest.fixture(scope='session')
def postgres_template() -> str | None:
    """A migrated PostgreSQL template database, cloned for each test."""
    if not PG_URL:
        return None
    name = f'smp_template_{os.getpid()}'
    admin = sa.create_engine(PG_URL, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name}'))
        conn.execute(sa.text(f'CREATE DATABASE {name}'))
    db.migrate(_pg_url(name))
    yield name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
    admin.dispose()


def _pg_url(name: str) -> str:
    return sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=['sqlite', 'postgresql'])
def database(request: pytest.FixtureRequest, portal_env: Path, monkeypatch: pytest.MonkeyPatch,
             sqlite_template: Path) -> str:
    """A fresh, migrated database for one test: once on SQLite, once on PostgreSQL."""
    if request.param == 'sqlite':
        path = portal_env / 'portal.db'
        shutil.copy(sqlite_template, path)
        url = f'sqlite:///{path}'
        monkeypatch.setenv('DATABASE_URL', url)
        db.init(url)
        _ran_on['sqlite'] += 1
        yield url
        db.engine().dispose()
        return
    if not PG_URL:
        if os.environ.get('CI'):
            pytest.fail('SMP_TEST_POSTGRES_URL is not set: CI must run the database tests on PostgreSQL')
        pytest.skip('PostgreSQL not available (set SMP_TEST_POSTGRES_URL)')
    template = request.getfixturevalue('postgres_template')
    name = f'smp_test_{uuid.uuid4().hex[:12]}'
    admin = sa.create_engine(PG_URL, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE {name} TEMPLATE {template}'))
    url = _pg_url(name)
    monkeypatch.setenv('DATABASE_URL', url)
    config.reload_config()
    db.init(url)
    _ran_on['postgresql'] += 1
    yield url
    db.engine().dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def session(database: str):
    """A session on the test database; commit explicitly when a test needs other sessions to see data."""
    from sqlmodel import Session
    with Session(db.engine(), expire_on_commit=False) as s:
        yield s


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item):
    """Note on the test item whether the test itself failed (`item.failed_call`): fixtures then explain it."""
    report = yield
    if report.when == 'call':
        item.failed_call = report.failed
    return report


def pytest_terminal_summary(terminalreporter) -> None:
    if _ran_on:
        terminalreporter.write_line(
            'database tests ran on: ' + ', '.join(f'{name} ({count} tests)' for name, count in sorted(_ran_on.items())))


# ----------------------------------------------------------------------------- clock and mail

@pytest.fixture
def clock() -> clock_module.FrozenClock:
    """Freeze the services' clock; move it with `clock.advance(minutes=...)`."""
    frozen = clock_module.FrozenClock()
    clock_module.set_clock(frozen)
    yield frozen
    clock_module.set_clock(None)


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; the portal is configured to send to it."""
    server = SmtpServer()
    server.start()
    monkeypatch.setenv('SMP_SMTP_HOST', '127.0.0.1')
    monkeypatch.setenv('SMP_SMTP_PORT', str(server.port))
    monkeypatch.setenv('SMP_SMTP_TLS', 'none')
    monkeypatch.setenv('SMP_MAIL_FROM', 'portal@clinic.test')
    config.reload_config()
    settings.invalidate_cache()
    yield server
    server.stop()


pytest_plugins = ['tests.browser']
