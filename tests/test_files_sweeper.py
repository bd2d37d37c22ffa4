"""Files are written, then committed; crashes in between leave files the sweeper removes after a grace period,
never a file that has a row; unfinished `.tmp` writes go when the scheduler starts."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlmodel import select

from models import StoredFile
from services import config, db, files, jobs, scheduler

PDF = b'%PDF-1.4 test document '


def _on_disk() -> set[str]:
    return {p.name for p in config.get_config().files_dir.glob('*/*')}


def _age(path: Path, seconds: float) -> None:
    past = path.stat().st_mtime - seconds
    os.utime(path, (past, past))


def test_a_crash_between_write_and_commit_leaves_a_file_the_sweeper_removes_after_the_grace(database, clock) -> None:
    with db.transaction() as session:
        kept = files.store(session, PDF + b'kept', 'kept.pdf', max_bytes=10_000)
    with pytest.raises(RuntimeError):
        with db.transaction() as session:
            lost = files.store(session, PDF + b'lost', 'lost.pdf', max_bytes=10_000)
            raise RuntimeError('the process dies before the commit')
    assert _on_disk() == {kept.sha256, lost.sha256}  # written first, the row never committed
    assert files.sweep() == files.SweepResult(0, 0)  # within the grace: it may be an upload still committing
    clock.advance(minutes=59)
    assert files.sweep().orphans == 0
    clock.advance(minutes=2)
    assert files.sweep() == files.SweepResult(1, 0)
    assert _on_disk() == {kept.sha256}  # the file with a row stays, however old
    clock.advance(days=30)
    assert files.sweep().orphans == 0
    with db.transaction() as session:
        assert files.read(session.get(StoredFile, kept.id)) == PDF + b'kept'


def test_content_uploaded_again_after_a_crash_is_kept(database, clock) -> None:
    with pytest.raises(RuntimeError):
        with db.transaction() as session:
            files.store(session, PDF + b'again', 'a.pdf', max_bytes=10_000)
            raise RuntimeError('crash')
    clock.advance(hours=2)  # an old orphan ...
    with db.transaction() as session:
        again = files.store(session, PDF + b'again', 'a.pdf', max_bytes=10_000)  # ... the same content, committed
    assert files.sweep().orphans == 0
    with db.transaction() as session:
        assert files.read(session.get(StoredFile, again.id)) == PDF + b'again'


def test_unfinished_writes_are_removed_when_the_scheduler_starts(database, clock, monkeypatch) -> None:
    with db.transaction() as session:
        stored = files.store(session, PDF + b'x', 'x.pdf', max_bytes=10_000)
    folder = config.get_config().files_dir / stored.sha256[:2]
    crashed = folder / f'{"ab" * 32}.4242.1.tmp'
    crashed.write_bytes(b'%PDF-half')
    _age(crashed, 120)
    writing = folder / f'{"cd" * 32}.4243.1.tmp'  # another process writing right now
    writing.write_bytes(b'%PDF-')
    monkeypatch.setattr(scheduler, '_jobs', {})
    jobs.register_all()
    [sweeper] = [job for job in scheduler.jobs() if job.job_id == 'file_sweeper']
    assert sweeper.at_start
    sweeper.func()
    assert not crashed.exists() and writing.exists() and (folder / stored.sha256).exists()


def test_kill_9_between_write_and_commit(database, clock, tmp_path) -> None:
    """A real process killed after the file is written and before its transaction commits."""
    if not database.startswith('sqlite'):
        pytest.skip('one real process kill is enough (SQLite)')
    script = textwrap.dedent(f'''
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from services import config, db, files
        config.reload_config()
        db.init(os.environ['DATABASE_URL'])
        with db.transaction() as session:
            files.store(session, {PDF + b'killed'!r}, 'k.pdf', max_bytes=10_000)
            os.kill(os.getpid(), 9)
    ''')
    result = subprocess.run([sys.executable, '-c', script], env=os.environ.copy(), timeout=60)
    assert result.returncode == -9
    assert len(_on_disk()) == 1
    with db.transaction() as session:
        assert session.exec(select(StoredFile)).all() == []
    clock.advance(hours=1, minutes=1)
    assert files.sweep().orphans == 1
    assert _on_disk() == set()
