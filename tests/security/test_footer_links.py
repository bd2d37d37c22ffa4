"""Footer links an admin saves can only point at a web address, an email address or a path on this portal."""
from __future__ import annotations

import pytest

from services.errors import InvalidInput
from services.settings_admin import parse_footer_links

REFUSED = ['//evil.example', '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)', 'JavaScript:alert(1)',
           'data:text/html,<script>alert(1)</script>', 'vbscript:x', 'https:///evil.example', 'http://', '/ /x',
           'https://evil.example/\\x', 'mailto:', ' https://ok.example', 'file:///etc/passwd']
ACCEPTED = ['https://clinic.example/privacy', 'http://clinic.example', 'mailto:help@clinic.example', '/login', '/']


@pytest.mark.parametrize('url', REFUSED)
def test_a_hostile_footer_address_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match='Footer link line 1'):
        parse_footer_links(f'Privacy | {url}' if not url.startswith(' ') else f'Privacy |{url}x y')


@pytest.mark.parametrize('url', ACCEPTED)
def test_ordinary_footer_addresses_are_kept(url: str) -> None:
    assert parse_footer_links(f'Privacy | {url}') == [{'label': 'Privacy', 'url': url}]
