"""The command line: create-user, backup and migrations, run as an operator would."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from models import Account
from services import db

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, stdin: str = '') -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / 'main.py'), *args], input=stdin, capture_output=True, text=True,
                          env=dict(os.environ), cwd=ROOT, timeout=120)


def _accounts(data: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data / 'portal.db') as conn:
        return conn.execute('select username, role from account').fetchall()


def test_create_user_reads_the_password_from_stdin(portal_env: Path) -> None:
    result = run_cli('create-user', '--role', 'staff', '--email', 'Nurse@Clinic.test', stdin='a long enough passphrase 42\n')
    assert result.returncode == 0, result.stderr
    assert 'Created staff account nurse@clinic.test' in result.stdout
    assert _accounts(portal_env) == [('nurse@clinic.test', 'staff')]


@pytest.mark.parametrize(('args', 'stdin', 'message'), [
    (['--role', 'staff', '--email', 'not-an-email'], 'a long enough passphrase 42\n', 'Email is not a valid email address.'),
    (['--role', 'staff', '--email', 'a@clinic.test'], 'short\n', 'at least 12 characters'),
    (['--role', 'staff', '--email', 'a@clinic.test'], '\n', 'at least 12 characters'),
    (['--role', 'staff', '--email', 'a@clinic.test'], 'password1234\n', 'most common passwords'),
    (['--role', 'staff', '--email', 'a@clinic.test'], 'x' * 200 + '\n', 'at most 128 characters'),
])
def test_create_user_refuses_bad_input_and_stores_nothing(portal_env: Path, args, stdin, message) -> None:
    result = run_cli('create-user', *args, stdin=stdin)
    assert result.returncode == 2
    assert message in result.stderr
    assert 'Traceback' not in result.stderr
    assert _accounts(portal_env) == []


def test_create_user_refuses_an_unknown_role(portal_env: Path) -> None:
    result = run_cli('create-user', '--role', 'root', '--email', 'a@clinic.test', stdin='a long enough passphrase 42\n')
    assert result.returncode == 2
    assert "invalid choice: 'root'" in result.stderr


def test_backup_copies_database_and_files(portal_env: Path, tmp_path: Path) -> None:
    assert run_cli('create-user', '--role', 'admin', '--email', 'boss@clinic.test',
                   stdin='a long enough passphrase 42\n').returncode == 0
    from services import config
    secret = config.persistent_secret('storage_secret')
    target = tmp_path / 'backup'
    result = run_cli('backup', '--to', str(target))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(target / 'portal.db') as conn:
        assert conn.execute('select username from account').fetchall() == [('boss@clinic.test',)]
    assert (target / 'secrets' / 'storage_secret').read_text() == secret


def test_migrations_go_down_and_up_again_with_data(database: str) -> None:
    from alembic import command
    with db.transaction() as session:
        from tests import factories
        factories.account(session, role='staff', email='keep@clinic.test')
    command.downgrade(db.alembic_config(), 'base')
    command.upgrade(db.alembic_config(), 'heads')
    with db.transaction() as session:
        assert session.exec(select(Account)).all() == []  # the schema was rebuilt from nothing
        from tests import factories
        factories.account(session, role='staff', email='again@clinic.test')


def test_migrations_match_the_models(database: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    import models  # noqa: F401
    with db.engine().connect() as conn:
        # the search index of migration 0006 lives only in the migration: ix_share_search (pg_trgm, PostgreSQL)
        # and share_search* (an FTS5 virtual table and its shadow tables, SQLite)
        opts = {'compare_type': True, 'include_name': lambda name, kind, _: not (
            (kind == 'table' and name.startswith('share_search')) or (kind == 'index' and name == 'ix_share_search'))}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), SQLModel.metadata)
    assert diff == []
