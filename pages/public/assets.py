"""`/assets/portal.js`: the portal's page script (assets/portal.js), which every page loads with a constant tag
(pages/frame.py). Served from this origin, so the CSP's `script-src 'self'` admits it; no page data is in it.

The browser keeps it but asks again on each page (`no-cache` with an ETag: a 304 while it is unchanged), so a new
version reaches every page at once.
"""
from __future__ import annotations

import hashlib

from fastapi import Request, Response

from ..frame import ASSETS
from ..portal import public_endpoint

SCRIPT = (ASSETS / 'portal.js').read_bytes()
ETAG = f'"{hashlib.sha256(SCRIPT).hexdigest()[:32]}"'
HEADERS = {'Cache-Control': 'no-cache', 'ETag': ETAG, 'X-Content-Type-Options': 'nosniff'}


@public_endpoint('/assets/portal.js')
def portal_script(request: Request) -> Response:
    """The page script; 304 when the browser's copy is current. A sync route: FastAPI runs it in a thread."""
    if ETAG in request.headers.get('if-none-match', ''):
        return Response(status_code=304, headers=HEADERS)
    return Response(SCRIPT, media_type='text/javascript', headers=HEADERS)
