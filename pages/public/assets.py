"""`/assets/portal.css`, `/assets/portal.js` and `/assets/passkeys.js`: the portal's own stylesheet and scripts,
loaded with constant tags (`static_assets.tag`: pages/frame.py, pages/passkey_widgets.py). Served from this origin,
so the CSP's `script-src 'self'` admits them; no page data is in them.

The versioned address a tag names (`?v=`) is answered as kept for a year (`immutable`); any other (no or an old
version) with `no-cache` and an ETag (a 304 while unchanged).
"""
from __future__ import annotations

from fastapi import Request, Response

from ..portal import public_endpoint
from ..static_assets import MEDIA_TYPES, NAMES, content


def _serve(name: str) -> None:
    """Serve assets/<name> at /assets/<name> (a sync route: FastAPI runs it in a thread)."""
    body, version = content(name)
    media_type = MEDIA_TYPES[name[name.rindex('.'):]]
    revalidate = {'Cache-Control': 'no-cache', 'ETag': f'"{version}"', 'X-Content-Type-Options': 'nosniff'}
    keep = {**revalidate, 'Cache-Control': 'public, max-age=31536000, immutable'}

    def asset(request: Request, v: str = '') -> Response:
        headers = keep if v == version else revalidate
        if headers['ETag'] in request.headers.get('if-none-match', ''):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media_type, headers=headers)

    asset.__name__ = asset.__qualname__ = f'asset_{name.replace(".", "_")}'
    public_endpoint(f'/assets/{name}')(asset)


for _name in NAMES:
    _serve(_name)
