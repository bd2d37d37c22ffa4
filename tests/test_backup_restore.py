"""Backup and restore round trip under load, on SQLite and PostgreSQL: counts, file hashes and the audit chain."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from services import audit, backup, config, db, files, restore
from tests import factories
from tests.conftest import PG_URL, _pg_url

ROOT = Path(__file__).resolve().parent.parent
PDF = b'%PDF-1.4 load '


def _write_under_load(stop: threading.Event, written: list[int]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        with db.transaction() as session:
            files.store(session, PDF + uuid.uuid4().bytes, f'load{n}.pdf', max_bytes=10_000)
            audit.record(session, action='load_test', object_type='test', object_id=n)
        written.append(n)


def _new_target(database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> str:
    """Point the portal at a new, empty data directory and database."""
    data = tmp_path / name
    monkeypatch.setenv('SMP_DATA_DIR', str(data))
    if database.startswith('sqlite'):
        url = f'sqlite:///{data / "portal.db"}'
    else:
        db_name = f'smp_restore_{uuid.uuid4().hex[:10]}'
        admin = sa.create_engine(PG_URL, isolation_level='AUTOCOMMIT')
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE {db_name}'))
        admin.dispose()
        url = _pg_url(db_name)
    monkeypatch.setenv('DATABASE_URL', url)
    config.reload_config()
    db.init(url)
    return url


def _drop(url: str) -> None:
    if url.startswith('postgresql'):
        db.engine().dispose()
        admin = sa.create_engine(PG_URL, isolation_level='AUTOCOMMIT')
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS {sa.engine.make_url(url).database} WITH (FORCE)'))
        admin.dispose()


def test_a_backup_under_load_restores_identical_into_a_new_data_dir(database, tmp_path, monkeypatch) -> None:
    audit.chain_key()
    with db.transaction() as session:
        contact = factories.contact(session, email='casey@outside.test')
        factories.share(session, contact_row=contact)
    stop, written = threading.Event(), []
    writer = threading.Thread(target=_write_under_load, args=(stop, written))
    writer.start()
    try:
        while len(written) < 5:
            threading.Event().wait(0.02)
        first = backup.backup()
        second = backup.backup()  # the same second: a second folder, not FileExistsError
        while len(written) < 10:
            threading.Event().wait(0.02)
    finally:
        stop.set()
        writer.join()
    assert first != second and first.parent == second.parent
    with pytest.raises(backup.BackupRefused, match='not an empty folder'):
        backup.backup(first)
    source_url = database

    url = _new_target(database, tmp_path, monkeypatch, 'restored')
    try:
        result = restore.restore(second)
        assert result.ok, result.summary()
        assert result.rows['audit_event'] >= 5 and result.rows['stored_file'] >= 5
        assert result.files >= result.rows['stored_file'] and result.secrets >= 1
        summary = result.summary()
        assert 'counts match the backup' in summary and 'keyed chain verified' in summary
        # a second restore over it is refused, and --force replaces it after a safety backup
        with pytest.raises(restore.RestoreRefused, match='not empty'):
            restore.restore(first)
        forced = restore.restore(first, force=True)
        assert forced.ok, forced.summary()
        assert forced.safety_backup is not None and (forced.safety_backup / 'BACKUP.txt').exists()
        assert forced.rows['audit_event'] <= result.rows['audit_event']
    finally:
        _drop(url)
    assert source_url


def test_restore_refusals_are_one_line(database, tmp_path, monkeypatch) -> None:
    with pytest.raises(restore.RestoreRefused, match='not a backup folder'):
        restore.restore(tmp_path)
    target = tmp_path / 'not-empty'
    target.mkdir()
    (target / 'something').write_text('x')
    with pytest.raises(backup.BackupRefused, match='not an empty folder'):
        backup.backup(target)
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert backup.backup(empty) == empty  # an empty folder is fine


def test_the_restore_command(database, tmp_path, monkeypatch) -> None:
    if not database.startswith('sqlite'):
        pytest.skip('the command line is the same for both; the service is tested on both')
    audit.chain_key()
    with db.transaction() as session:
        factories.contact(session, email='casey@outside.test')
    taken = backup.backup()
    _new_target(database, tmp_path, monkeypatch, 'cli')
    run = subprocess.run([sys.executable, str(ROOT / 'main.py'), 'restore', str(taken)], capture_output=True,
                         text=True, env=dict(os.environ), cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f'Restored {taken}') and 'keyed chain verified' in run.stdout
