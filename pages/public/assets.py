"""`/assets/portal.js` and `/assets/passkeys.js`: the portal's own scripts, loaded with constant tags (pages/frame.py,
pages/passkey_widgets.py). Served from this origin, so the CSP's `script-src 'self'` admits them; no page data is in them.

The browser keeps each but asks again on each page (`no-cache` with an ETag: a 304 while it is unchanged), so a new
version reaches every page at once.
"""
from __future__ import annotations

import hashlib

from fastapi import Request, Response

from ..frame import ASSETS
from ..portal import public_endpoint


def _serve_script(name: str) -> None:
    """Serve assets/<name> at /assets/<name>; 304 when the browser's copy is current (a sync route: FastAPI runs
    it in a thread)."""
    body = (ASSETS / name).read_bytes()
    headers = {'Cache-Control': 'no-cache', 'ETag': f'"{hashlib.sha256(body).hexdigest()[:32]}"',
               'X-Content-Type-Options': 'nosniff'}

    def script(request: Request) -> Response:
        if headers['ETag'] in request.headers.get('if-none-match', ''):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type='text/javascript', headers=headers)

    script.__name__ = script.__qualname__ = f'script_{name.replace(".", "_")}'
    public_endpoint(f'/assets/{name}')(script)


for _name in ('portal.js', 'passkeys.js'):  # the page script; the browser's half of the passkey ceremonies
    _serve_script(_name)
