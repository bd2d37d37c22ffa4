"""The page script is a static file of this origin (assets/portal.js at /assets/portal.js), loaded by every page with a
constant tag: the CSP's `script-src 'self'` admits it and no page data is in it."""
from __future__ import annotations

from pathlib import Path

from nicegui.testing import User

SCRIPT = Path(__file__).resolve().parent.parent / 'assets' / 'portal.js'
TAG = '<script src="/assets/portal.js"></script>'


async def test_every_page_loads_the_portal_script_from_this_origin(user: User) -> None:
    answer = await user.http_client.get('/assets/portal.js')
    assert answer.status_code == 200
    assert answer.headers['content-type'].startswith('text/javascript')
    assert answer.content == SCRIPT.read_bytes()
    assert "script-src 'self'" in answer.headers['content-security-policy']
    again = await user.http_client.get('/assets/portal.js', headers={'If-None-Match': answer.headers['etag']})
    assert again.status_code == 304 and again.content == b''
    page = await user.http_client.get('/login')
    assert page.status_code == 200
    assert page.text.count(TAG) == 1
    assert 'window.portalA11y' not in page.text  # the script itself is not inlined any more
