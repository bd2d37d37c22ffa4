"""The header and footer through the pages (pages/frame.py): one element each, drawn by a Vue component from its
props, so these check the props by role and setting (tests/test_portal_frame_browser.py checks the drawing)."""
from __future__ import annotations

from nicegui.testing import User

from pages.frame import ADMIN_LINKS, STAFF_LINKS
from services import settings
from tests import factories
from tests.portal import RETRIES, portal_header, seed, sign_in, sign_out


def _links(pairs) -> tuple:
    return tuple({'label': label, 'url': url} for label, url in pairs)


async def test_signed_out_the_header_has_the_brand_and_no_controls(user: User) -> None:
    await user.open('/login')
    await user.should_see(marker='sign-in', retries=RETRIES)
    header = portal_header(user)
    assert dict(header.props) == {'portal_name': 'Secure Message Portal', 'home': '/'}
    assert 'signed-in' not in header._markers and not header._event_listeners
    await user.should_see('Secure Message Portal')
    await user.should_see('© Secure Message Portal')  # the footer without a text of its own


async def test_each_role_gets_its_own_controls(user: User) -> None:
    seed(lambda session: factories.account(session, role='admin', email='boss@clinic.test', name='Boss Admin'))
    await sign_in(user, 'boss@clinic.test')
    await user.should_see(marker='signed-in', retries=RETRIES)
    props = portal_header(user).props
    assert (props['home'], props['display_name'], props['unworked']) == ('/admin', 'Boss Admin', 0)
    assert props['links'] == _links(STAFF_LINKS + ADMIN_LINKS) and 'settings_url' not in props
    await user.should_see('Audit log')  # (a menu entry)
    await user.should_not_see('unworked replies')  # no badge at 0

    sign_out(user)
    await user.should_see(marker='sign-in', retries=RETRIES)
    seed(lambda session: factories.account(session, role='staff', email='nurse@clinic.test', name='Nurse Joy'))
    await sign_in(user, 'nurse@clinic.test')
    await user.should_see(marker='signed-in', retries=RETRIES)
    props = portal_header(user).props
    assert (props['home'], props['links'], props['unworked']) == ('/staff', _links(STAFF_LINKS), 0)

    sign_out(user)
    await user.should_see(marker='sign-in', retries=RETRIES)
    seed(lambda session: factories.contact_account(session, factories.contact(session, email='casey@outside.test',
                                                                              first='Casey', last='Adjuster')))
    await sign_in(user, 'casey@outside.test')
    await user.should_see(marker='signed-in', retries=RETRIES)
    props = portal_header(user).props
    assert (props['home'], props['links'], props['settings_url'], props['display_name']) == \
        ('/', (), '/settings', 'Casey Adjuster')
    assert 'unworked' not in props


async def test_texts_reach_the_frame_as_data_and_the_footer_can_be_off(user: User) -> None:
    name = 'Valley "Clinic" <b onmouseover=alert(1)>{{ 7*7 }}</b>'

    def brand(session) -> None:
        settings.set_value(session, 'portal_name', name)
        settings.set_value(session, 'header_text', "Occupational Health's {{ x }}")
        settings.set_value(session, 'footer_links', [{'label': 'Privacy', 'url': '/privacy'}])
        settings.set_value(session, 'help_desk_phone', '+1 555 000 1111')
    seed(brand)
    settings.invalidate_cache()
    await user.open('/login')
    await user.should_see(marker='sign-in', retries=RETRIES)
    assert portal_header(user).props['header_text'] == "Occupational Health's {{ x }}"
    assert portal_header(user).props['portal_name'] == name  # Vue puts it in as text: {{ }} and :attr escape
    footer = next(iter(user.find(marker='portal-footer').elements))
    assert dict(footer.props) == {'text': f'© {name}', 'links': ({'label': 'Privacy', 'url': '/privacy'},),
                                  'phone': '+1 555 000 1111'}
    await user.should_see('Help desk: +1 555 000 1111')

    seed(lambda session: settings.set_value(session, 'footer_enabled', False))
    settings.invalidate_cache()
    await user.open('/login')
    await user.should_see(marker='sign-in', retries=RETRIES)
    await user.should_not_see(marker='portal-footer')
    await user.should_see(marker='portal-header')
