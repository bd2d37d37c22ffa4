"""Consistent backups of the database and the file store."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from . import clock, db
from .config import get_config


def backup(target: Path | None = None) -> Path:
    """Copy the database (online, consistent) and the stored files into a new folder; return it."""
    config = get_config()
    stamp = clock.now().strftime('%Y%m%d-%H%M%S')
    target = target or config.data_dir / 'backups' / stamp
    target.mkdir(parents=True, exist_ok=False)
    url = db.engine().url
    if url.get_backend_name() == 'sqlite':
        source = sqlite3.connect(url.database)
        dest = sqlite3.connect(target / 'portal.db')
        with dest:
            source.backup(dest)  # SQLite's online backup: a consistent snapshot while the portal runs
        source.close()
        dest.close()
    else:
        dump = shutil.which('pg_dump')
        if dump is None:
            raise RuntimeError('pg_dump is not installed; install the PostgreSQL client to back up PostgreSQL.')
        # the password goes in pg_dump's environment, never on its command line (ps and /proc show that to all)
        env = dict(os.environ)
        if url.password:
            env['PGPASSWORD'] = str(url.password)
        without_password = sa.engine.URL.create('postgresql', username=url.username, host=url.host, port=url.port,
                                                database=url.database, query=url.query).render_as_string()
        subprocess.run([dump, '--format=custom', '--no-password', f'--file={target / "portal.pgdump"}',
                        f'--dbname={without_password}'], check=True, env=env)
    # stored files are content-addressed and never change, so copying after the snapshot is consistent
    if config.files_dir.exists():
        shutil.copytree(config.files_dir, target / 'files')
    for name in ('secrets',):  # includes the audit chain key: without it the copied log cannot be verified
        if (config.data_dir / name).exists():
            shutil.copytree(config.data_dir / name, target / name)
    anchors = config.resolved_audit_anchor_file
    if anchors.exists():  # a copy only: the live anchor file stays where it is (ideally on another volume)
        shutil.copy2(anchors, target / 'audit-anchors.log')
    (target / 'BACKUP.txt').write_text(f'Secure Message Portal backup taken {datetime.now().isoformat()}\n')
    return target
