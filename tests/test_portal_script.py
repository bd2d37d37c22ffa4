"""The page script and style are static files of this origin (assets/portal.js and assets/portal.css under /assets/),
loaded by every page with constant, versioned tags: the CSP's `script-src 'self'` admits them, no page data is in
them, and the browser keeps the versioned address instead of asking again on every page open."""
from __future__ import annotations

from pathlib import Path

from nicegui.testing import User

from pages import static_assets

ASSETS = Path(__file__).resolve().parent.parent / 'assets'
SCRIPT = ASSETS / 'portal.js'
TAG = static_assets.tag('portal.js')
STYLESHEET = static_assets.tag('portal.css')


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
    assert page.text.count(STYLESHEET) == 1 and 'WCAG 2.2 AA' not in page.text  # nor the style


async def test_the_versioned_address_is_kept_and_any_other_is_checked_again(user: User) -> None:
    for name, media_type in (('portal.js', 'text/javascript'), ('portal.css', 'text/css'),
                             ('passkeys.js', 'text/javascript')):
        body = (ASSETS / name).read_bytes()
        kept = await user.http_client.get(static_assets.url(name))
        assert kept.status_code == 200 and kept.content == body
        assert kept.headers['content-type'].startswith(media_type)
        assert kept.headers['cache-control'] == 'public, max-age=31536000, immutable'
        for old in (f'/assets/{name}', f'/assets/{name}?v=0123456789abcdef'):  # no or an old version
            answer = await user.http_client.get(old)
            assert answer.content == body and answer.headers['cache-control'] == 'no-cache'
    assert (await user.http_client.get('/assets/other.js')).status_code == 404
