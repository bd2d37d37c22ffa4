"""Consistent backups of the database, the file store and the secrets, with a manifest `restore` verifies.

MANIFEST.json records, from the same snapshot as the database copy, the row count of every table, and the
stored files (named by their SHA-256). Unfinished writes (`.tmp`) are not copied.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from . import clock, db
from .config import get_config
from .errors import PortalError

MANIFEST = 'MANIFEST.json'
_SKIP = shutil.ignore_patterns('*.tmp', '*.sweep')


class BackupRefused(PortalError):
    """The backup cannot be written where asked (one line for the command line)."""


def backup(target: Path | None = None) -> Path:
    """Copy the database (online, consistent) and the stored files into a new folder; return it.

    Without `target`: a new folder data/backups/<time> (-2, -3... when taken in the same second). With `target`:
    an empty or missing folder; a folder with anything in it is refused.
    """
    config = get_config()
    if target is None:
        target = _new_folder(config.data_dir / 'backups', clock.now().strftime('%Y%m%d-%H%M%S'))
    else:
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise BackupRefused(f'backup target {target} is not an empty folder: choose a new or empty one')
        target.mkdir(parents=True, exist_ok=True)
    url = db.engine().url
    if url.get_backend_name() == 'sqlite':
        source = sqlite3.connect(url.database)
        dest = sqlite3.connect(target / 'portal.db')
        with dest:
            source.backup(dest)  # SQLite's online backup: a consistent snapshot while the portal runs
        source.close()
        dest.close()
        counts = _counts(sa.create_engine(f'sqlite:///{target / "portal.db"}'))
    else:
        counts = _pg_dump(url, target / 'portal.pgdump')
    # stored files are content-addressed and never change, so copying after the snapshot is consistent
    # (a row is committed only after its file is written: every row of the snapshot has its file by now)
    if config.files_dir.exists():
        shutil.copytree(config.files_dir, target / 'files', ignore=_SKIP)
    for name in ('secrets',):  # includes the audit chain key: without it the copied log cannot be verified
        if (config.data_dir / name).exists():
            shutil.copytree(config.data_dir / name, target / name, ignore=_SKIP)
    anchors = config.resolved_audit_anchor_file
    if anchors.exists():  # a copy only: the live anchor file stays where it is (ideally on another volume)
        shutil.copy2(anchors, target / 'audit-anchors.log')
    stored = sorted(p.name for p in (target / 'files').glob('*/*')) if (target / 'files').exists() else []
    (target / MANIFEST).write_text(json.dumps({
        'taken_at': clock.now().isoformat(), 'database': url.get_backend_name(), 'rows': counts,
        'files': stored}, indent=1))
    (target / 'BACKUP.txt').write_text(f'Secure Message Portal backup taken {datetime.now().isoformat()}\n'
                                       f'Restore it with: python main.py restore {target}\n')
    return target


def _new_folder(parent: Path, stamp: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = parent / (stamp if n == 1 else f'{stamp}-{n}')
        try:
            folder.mkdir()  # atomic: two backups in the same second get two folders
            return folder
        except FileExistsError:
            continue
    raise BackupRefused(f'too many backups named {stamp} in {parent}')


def _counts(engine: sa.Engine, conn: sa.Connection | None = None) -> dict[str, int]:
    """Rows per table (alembic's own table left out)."""
    def count(c: sa.Connection) -> dict[str, int]:
        tables = [t for t in sa.inspect(c).get_table_names() if t != 'alembic_version']
        return {t: c.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one() for t in sorted(tables)}
    if conn is not None:
        return count(conn)
    try:
        with engine.connect() as c:
            return count(c)
    finally:
        engine.dispose()


def pg_environment(url: sa.engine.URL) -> tuple[dict[str, str], str]:
    """The environment (password, never on a command line: ps shows that to all) and the URL without password."""
    env = dict(os.environ)
    if url.password:
        env['PGPASSWORD'] = str(url.password)
    without_password = sa.engine.URL.create('postgresql', username=url.username, host=url.host, port=url.port,
                                            database=url.database, query=url.query).render_as_string()
    return env, without_password


def _pg_dump(url: sa.engine.URL, path: Path) -> dict[str, int]:
    dump = shutil.which('pg_dump')
    if dump is None:
        raise BackupRefused('pg_dump is not installed; install the PostgreSQL client to back up PostgreSQL.')
    env, without_password = pg_environment(url)
    # count the rows in an exported snapshot and dump that same snapshot: the counts match the dump under load
    with db.engine().connect() as conn:
        conn = conn.execution_options(isolation_level='REPEATABLE READ')
        with conn.begin():
            snapshot = conn.execute(sa.text('SELECT pg_export_snapshot()')).scalar_one()
            counts = _counts(db.engine(), conn)
            subprocess.run([dump, '--format=custom', '--no-password', f'--snapshot={snapshot}', f'--file={path}',
                            f'--dbname={without_password}'], check=True, env=env)
    return counts
