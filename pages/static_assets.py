"""The portal's own stylesheet and scripts in assets/ and the constant tags that load them (served by
pages/public/assets.py).

A tag names the file's version (`?v=` and the first characters of its SHA-256): the browser may keep that address
for a year, so a page open costs no request for them, and a new version has a new address.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / 'assets'
MEDIA_TYPES = {'.js': 'text/javascript', '.css': 'text/css'}
NAMES = ('portal.css', 'portal.js', 'passkeys.js')  # the page style and script; the browser's half of passkeys


@lru_cache(maxsize=None)
def content(name: str) -> tuple[bytes, str]:
    """assets/<name> and its version (read once)."""
    body = (ASSETS / name).read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:16]


def url(name: str) -> str:
    """The versioned address of assets/<name>."""
    return f'/assets/{name}?v={content(name)[1]}'


def tag(name: str) -> str:
    """The constant tag that loads assets/<name> (a stylesheet link or a script); only for the files in NAMES."""
    if name not in NAMES:
        raise ValueError(f'not one of the portal\'s own files: {name!r}')
    if name.endswith('.css'):
        return f'<link rel="stylesheet" href="{url(name)}">'
    return f'<script src="{url(name)}"></script>'
