"""Private file storage: content-addressed under the data directory, checked by real type and size.

Write, then commit: the bytes go to a `.tmp` file that is renamed into place, then the row is added in the
caller's transaction. A crash in between leaves a file without a row (or a `.tmp`); `sweep` removes those after a
grace period and never a file that has a row.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from models import StoredFile

from . import clock, db
from .config import get_config
from .errors import UploadRejected

log = logging.getLogger(__name__)
ORPHAN_GRACE = timedelta(hours=1)  # a file without a row is removed after this (its upload's transaction is long over)
TMP_GRACE = timedelta(minutes=1)  # a `.tmp` is a write that never finished (writes take milliseconds)
_SWEEPING = '.sweep'

# magic bytes of the file types the portal accepts
_SIGNATURES: dict[str, tuple[bytes, str]] = {
    'pdf': (b'%PDF-', 'application/pdf'),
    'png': (b'\x89PNG\r\n\x1a\n', 'image/png'),
    'jpeg': (b'\xff\xd8\xff', 'image/jpeg'),
}
DOCUMENT_TYPES = ('pdf', 'png', 'jpeg')
_EXTENSIONS = {'application/pdf': '.pdf', 'image/png': '.png', 'image/jpeg': '.jpg'}


@dataclass(frozen=True)
class FileContent:
    """Bytes of a stored file with what a download needs."""

    data: bytes
    mime_type: str
    file_name: str


def detect_type(data: bytes, allowed: tuple[str, ...] = DOCUMENT_TYPES) -> str | None:
    """The MIME type the bytes really are, among `allowed`, or None."""
    for name in allowed:
        magic, mime = _SIGNATURES[name]
        if data.startswith(magic):
            return mime
    return None


def check_upload(data: bytes, file_name: str, *, max_bytes: int, allowed: tuple[str, ...] = DOCUMENT_TYPES) -> str:
    """Validate an upload and return its real MIME type; raise UploadRejected with a clear reason."""
    label = safe_file_name(file_name)
    if not data:
        raise UploadRejected(f'"{label}" is empty.')
    if len(data) > max_bytes:
        raise UploadRejected(f'"{label}" is larger than the limit of {max_bytes // (1024 * 1024) or 1} MB.')
    mime = detect_type(data, allowed)
    if mime is None:
        kinds = ', '.join(a.upper() for a in allowed)
        raise UploadRejected(f'"{label}" is not a real {kinds} file.')
    return mime


def safe_file_name(name: str, mime_type: str | None = None) -> str:
    """A display/download name without path parts or control characters (never used as a path)."""
    base = os.path.basename((name or '').replace('\\', '/')).strip()
    base = ''.join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?')[:200] or 'file'
    if mime_type and not base.lower().endswith(_EXTENSIONS.get(mime_type, '')):
        base += _EXTENSIONS.get(mime_type, '')
    return base


def store(session: Session, data: bytes, file_name: str, *, max_bytes: int,
          allowed: tuple[str, ...] = DOCUMENT_TYPES) -> StoredFile:
    """Check and store an upload; identical content is stored once."""
    return store_verified(session, data, check_upload(data, file_name, max_bytes=max_bytes, allowed=allowed))


def store_verified(session: Session, data: bytes, mime_type: str) -> StoredFile:
    """Store content whose type the caller has already established (e.g. a sanitized SVG)."""
    digest = hashlib.sha256(data).hexdigest()
    existing = session.exec(select(StoredFile).where(StoredFile.sha256 == digest)).first()
    if existing:
        return existing
    path = _path_for(digest)
    # written again even when a file without a row is there: a fresh file is one the sweeper leaves alone
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f'.{os.getpid()}.{time.monotonic_ns()}.tmp')
    try:
        with open(tmp, 'wb') as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    stored = StoredFile(sha256=digest, size=len(data), mime_type=mime_type)
    session.add(stored)
    session.flush()
    return stored


def read(stored: StoredFile) -> bytes:
    """The bytes of a stored file."""
    return _path_for(stored.sha256).read_bytes()


def _path_for(digest: str) -> Path:
    if len(digest) != 64 or any(c not in '0123456789abcdef' for c in digest):
        raise ValueError('not a sha256 digest')
    root = get_config().files_dir.resolve()
    path = (root / digest[:2] / digest).resolve()
    if root not in path.parents:
        raise ValueError('path escapes the file store')
    return path


@dataclass(frozen=True)
class SweepResult:
    """What a sweep removed: files without a row, and unfinished `.tmp` writes."""

    orphans: int
    temporary: int


def sweep(*, grace: timedelta = ORPHAN_GRACE, tmp_grace: timedelta = TMP_GRACE) -> SweepResult:
    """Remove stored files that have no row and are older than `grace`, and `.tmp` files older than `tmp_grace`.

    A file with a row is never removed: a candidate is moved aside, the rows are read again, and it is put back
    when a row (or a fresh write of the same content) appeared meanwhile.
    """
    root = get_config().files_dir
    if not root.exists():
        return SweepResult(0, 0)
    now = clock.now().timestamp()
    temporary, candidates = 0, []
    for path in root.glob('*/*'):
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:
            continue
        if path.name.endswith('.tmp') or path.name.endswith(_SWEEPING):
            if age > tmp_grace.total_seconds():
                path.unlink(missing_ok=True)
                temporary += 1
        elif _is_digest(path.name) and age > grace.total_seconds():
            candidates.append(path)
    orphans = 0
    for chunk in (candidates[i:i + 500] for i in range(0, len(candidates), 500)):
        for path in _without_rows(chunk):
            aside = path.with_name(path.name + _SWEEPING)
            try:
                path.rename(aside)
            except FileNotFoundError:
                continue
            # a row committed, or the same content written again, after the first look: put it back
            if _without_rows([path]) and now - aside.stat().st_mtime > grace.total_seconds():
                aside.unlink()
                orphans += 1
            else:
                aside.replace(path)
    if orphans or temporary:
        log.info('file sweep: removed %d file(s) without a row and %d unfinished write(s)', orphans, temporary)
    return SweepResult(orphans, temporary)


def sweep_job() -> dict[str, int]:
    """The scheduler's sweep (also run when the scheduler starts: `.tmp` files of a crash go at once)."""
    found = sweep()
    return {'orphans_removed': found.orphans, 'tmp_removed': found.temporary} if found.orphans or found.temporary \
        else {}


def _is_digest(name: str) -> bool:
    return len(name) == 64 and all(c in '0123456789abcdef' for c in name)


def _without_rows(paths: list[Path]) -> list[Path]:
    digests = {path.name for path in paths}
    with db.transaction() as session:
        having = set(session.exec(select(StoredFile.sha256).where(StoredFile.sha256.in_(digests))).all())
    return [path for path in paths if path.name not in having]
