"""Private file storage: content-addressed under the data directory, checked by real type and size."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from models import StoredFile

from .config import get_config
from .errors import UploadRejected

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
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f'.{os.getpid()}.tmp')
        with open(tmp, 'wb') as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
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
