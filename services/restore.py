"""Restore a backup (services.backup) into an empty data directory and database, then verify it.

Into an empty target only, unless forced: then a safety backup of what is there is taken first. Verifies the
row counts against the backup's manifest, every stored file against its SHA-256 name (and that every file row
has its file), and the audit log's keyed chain against the anchors the backup carried.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from . import backup as backup_module
from . import db
from .config import get_config
from .errors import PortalError


class RestoreRefused(PortalError):
    """The restore cannot start or did not verify (one line for the command line)."""


@dataclass
class Restored:
    """What a restore put back and what its checks found."""

    source: Path
    database: str
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    file_bytes: int = 0
    secrets: int = 0
    audit_events: int = 0
    safety_backup: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """The lines `main.py restore` prints."""
        lines = [f'Restored {self.source} ({self.database}):',
                 f'  database: {len(self.rows)} tables, {sum(self.rows.values()):,} rows (counts match the backup)'
                 if not any('rows' in p for p in self.problems) else
                 f'  database: {len(self.rows)} tables, {sum(self.rows.values()):,} rows',
                 f'  files: {self.files} ({self.file_bytes / 1e6:.1f} MB), every one matching its SHA-256',
                 f'  secrets: {self.secrets} file(s)',
                 f'  audit log: {self.audit_events:,} events, keyed chain verified']
        if self.safety_backup:
            lines.append(f'  what was there before is in {self.safety_backup}')
        if self.problems:
            lines = [lines[0]] + [f'  PROBLEM: {p}' for p in self.problems]
        return '\n'.join(lines)


def restore(source: Path, *, force: bool = False) -> Restored:
    """Restore the backup folder `source` into the configured data directory and database; verify; report.

    Refuses a target with data in it unless `force` (then a safety backup of it is taken first). The database
    must be initialised (`db.init`) but not migrated: restoring brings its own schema.
    """
    source = source.resolve()
    config = get_config()
    manifest = _manifest(source)
    url = db.engine().url
    kind = url.get_backend_name()
    dump = source / ('portal.db' if kind == 'sqlite' else 'portal.pgdump')
    if not dump.exists():
        other = 'PostgreSQL' if kind == 'sqlite' else 'SQLite'
        raise RestoreRefused(f'{source} holds a {manifest.get("database", other)} backup but the portal is '
                             f'configured for {kind}: set DATABASE_URL to match')
    found = _what_is_there()
    result = Restored(source=source, database=kind)
    if found:
        if not force:
            raise RestoreRefused(f'the data directory or database is not empty ({", ".join(found)}): restore into an '
                                 'empty one, or use --force to replace it after a safety backup')
        result.safety_backup = backup_module.backup(None)
        _clear()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    if kind == 'sqlite':
        db.engine().dispose()
        database = Path(str(url.database))
        database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dump, database)
    else:
        _pg_restore(url, dump)
    if (source / 'files').exists():
        shutil.copytree(source / 'files', config.files_dir, dirs_exist_ok=True)
    if (source / 'secrets').exists():
        shutil.copytree(source / 'secrets', config.data_dir / 'secrets', dirs_exist_ok=True)
        result.secrets = sum(1 for p in (config.data_dir / 'secrets').iterdir() if p.is_file())
    anchors = config.resolved_audit_anchor_file
    if (source / 'audit-anchors.log').exists() and not anchors.exists():
        anchors.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / 'audit-anchors.log', anchors)
    _verify(result, manifest, source)
    return result


def _manifest(source: Path) -> dict:
    if not (source / 'BACKUP.txt').exists():
        raise RestoreRefused(f'{source} is not a backup folder (no BACKUP.txt): give the folder `backup` wrote')
    path = source / backup_module.MANIFEST
    if not path.exists():
        return {}  # a backup from before manifests: counts cannot be compared, files and audit still are
    try:
        return json.loads(path.read_text())
    except ValueError:
        raise RestoreRefused(f'{path} is damaged (not JSON)') from None


def _what_is_there() -> list[str]:
    config = get_config()
    found = []
    if _tables():
        found.append('database tables')
    if config.files_dir.exists() and any(config.files_dir.iterdir()):
        found.append(f'files in {config.files_dir}')
    secrets = config.data_dir / 'secrets'
    if secrets.exists() and any(secrets.iterdir()):
        found.append(f'secrets in {secrets}')
    return found


def _tables() -> list[str]:
    engine = db.engine()
    if engine.url.get_backend_name() == 'sqlite' and not Path(engine.url.database).exists():
        return []
    with engine.connect() as conn:
        return sa.inspect(conn).get_table_names()


def _clear() -> None:
    config = get_config()
    engine = db.engine()
    if engine.url.get_backend_name() == 'sqlite':
        engine.dispose()
        for suffix in ('', '-wal', '-shm', '-journal'):
            Path(engine.url.database + suffix).unlink(missing_ok=True)
    else:
        with engine.begin() as conn:
            conn.execute(sa.text('DROP SCHEMA public CASCADE'))
            conn.execute(sa.text('CREATE SCHEMA public'))
        engine.dispose()
    for folder in (config.files_dir, config.data_dir / 'secrets'):
        if folder.exists():
            shutil.rmtree(folder)


def _pg_restore(url: sa.engine.URL, dump: Path) -> None:
    program = shutil.which('pg_restore')
    if program is None:
        raise RestoreRefused('pg_restore is not installed; install the PostgreSQL client to restore PostgreSQL')
    env, without_password = backup_module.pg_environment(url)
    db.engine().dispose()
    done = subprocess.run([program, '--no-password', '--no-owner', '--no-privileges', '--exit-on-error',
                           '--single-transaction', f'--dbname={without_password}', str(dump)],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ['no message'])[-1]
        raise RestoreRefused(f'pg_restore failed: {last[:300]}')


def _verify(result: Restored, manifest: dict, source: Path) -> None:
    from sqlmodel import select

    from models import StoredFile

    from . import audit_verify
    engine = db.engine()
    result.rows = backup_module._counts(engine)
    expected = manifest.get('rows')
    if expected is not None and expected != result.rows:
        differ = sorted(t for t in set(expected) | set(result.rows) if expected.get(t) != result.rows.get(t))
        result.problems.append(f'rows differ from the backup in: {", ".join(differ)}')
    files_dir = get_config().files_dir
    on_disk = {p.name: p for p in files_dir.glob('*/*')} if files_dir.exists() else {}
    for name, path in on_disk.items():
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != name:
            result.problems.append(f'file {name} does not match its SHA-256')
        result.files += 1
        result.file_bytes += len(data)
    if 'files' in manifest and set(manifest['files']) - set(on_disk):
        result.problems.append(f'{len(set(manifest["files"]) - set(on_disk))} file(s) of the backup are missing')
    with db.transaction() as session:
        missing = [h for h in session.exec(select(StoredFile.sha256)).all() if h not in on_disk]
        if missing:
            result.problems.append(f'{len(missing)} stored file row(s) have no file')
        anchors = source / 'audit-anchors.log'
        report = audit_verify.verify(session, anchor_file=anchors if anchors.exists() else None)
    result.audit_events = report.events
    if not report.ok:
        first = report.sorted_problems()[0]
        result.problems.append(f'audit chain: {first.message}')
