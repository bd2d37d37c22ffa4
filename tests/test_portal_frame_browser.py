"""The header and footer in a real browser. Each is one element drawn by a Vue component (pages/frame.py,
assets/portal_header.js, assets/portal_footer.js): the page tests read their props, this checks what the browser
draws from them and that the controls in them work (the skip link, the logo, the staff Menu with its badge, the
contact's Settings, Sign out, the footer)."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from sqlmodel import select

from models import Reply, Share, UserSession
from services import db, files, settings
from tests import factories
from tests.browser import click, sign_in_as, wait_for

pytestmark = pytest.mark.browser

STAFF, CONTACT = 'nurse@clinic.test', 'casey@outside.test'
# the accessible parts of the header, in document order
HEADER = """
const h = document.querySelector('header.q-header.portal-header');
const img = h.querySelector('.portal-logo img');
const menu = [...h.querySelectorAll('nav button')].find((b) => b.innerText.includes('Menu'));
return {
  headers: document.querySelectorAll('header').length,
  first: h.querySelector('a, button').outerHTML, skip: h.querySelector('a.skip-link').getAttribute('href'),
  home: h.querySelectorAll('a')[1].getAttribute('href'), alt: img && img.getAttribute('alt'),
  src: img && img.getAttribute('src'), icon: !!h.querySelector('i[aria-hidden=true]'),
  text: h.innerText.replace(/\\s+/g, ' ').trim(),
  nav: h.querySelector('nav') && h.querySelector('nav').getAttribute('aria-label'),
  menu: menu ? menu.textContent.replace(/\\s+/g, ' ').trim() : null,
  badge: menu && menu.querySelector('.q-badge') ? menu.querySelector('.q-badge').textContent.trim() : null,
  settings: h.querySelector('a[aria-label=Settings]') && h.querySelector('a[aria-label=Settings]').getAttribute('href'),
};
"""
FOOTER = """
const f = document.querySelector('footer.q-footer.portal-footer');
return f && {text: f.innerText.replace(/\\s+/g, ' ').trim(),
             links: [...f.querySelectorAll('a')].map((a) => [a.textContent, a.getAttribute('href'), a.className])};
"""


def _world(session) -> None:
    staff = factories.account(session, role='staff', email=STAFF, name='Nurse Joy')
    contact = factories.contact(session, email=CONTACT, first='Casey', last='Adjuster')
    account = factories.contact_account(session, contact)
    share = session.get(Share, factories.share(session, contact_row=contact, sender=staff).share_id)
    session.add(Reply(share_id=share.id, account_id=account.id, author_name='Casey Adjuster', body='Noted.'))
    settings.set_value(session, 'header_text', 'Occupational Health')
    settings.set_value(session, 'footer_text', 'Valley Clinic, Main Street 1')
    settings.set_value(session, 'footer_links', [{'label': 'Privacy', 'url': 'https://clinic.test/privacy'},
                                                 {'label': 'Terms', 'url': '/terms'}])
    settings.set_value(session, 'help_desk_phone', '+1 555 000 1111')
    settings.set_value(session, 'logo_file_id', files.store(session, factories.MINIMAL_PNG, 'logo.png',
                                                            max_bytes=10_000).id)
    settings.set_value(session, 'logo_alt', 'Valley Clinic logo')


def _sessions() -> int:
    with db.transaction() as session:
        return len(session.exec(select(UserSession)).all())


def test_the_header_and_footer_draw_their_settings_and_their_controls_work(portal_server, browser) -> None:
    portal_server.seed(_world)
    url = portal_server.url

    browser.get(url + '/login')  # signed out: the brand, no navigation
    header = wait_for(browser, lambda d: d.execute_script(HEADER))
    assert header['headers'] == 1 and header['first'].startswith('<a') and 'Skip to main content' in header['first']
    assert (header['skip'], header['home'], header['alt'], header['nav']) == ('#main', '/', 'Valley Clinic logo', None)
    assert header['src'].startswith('/branding/logo?v=')
    assert header['text'] == 'Skip to main content Secure Message Portal Occupational Health'
    footer = browser.execute_script(FOOTER)
    assert footer['text'] == 'Valley Clinic, Main Street 1 Privacy Terms Help desk: +1 555 000 1111'
    assert footer['links'] == [['Privacy', 'https://clinic.test/privacy', 'nicegui-link text-grey-9'],
                               ['Terms', '/terms', 'nicegui-link text-grey-9']]

    sign_in_as(browser, url, STAFF)  # staff: the Menu, its badge (one unworked reply) and its links
    header = wait_for(browser, lambda d: d.execute_script(HEADER))
    assert (header['home'], header['nav'], header['settings'], header['badge']) == ('/staff', 'Portal', None, '1')
    menu = browser.find_element(By.XPATH, '//header//button[contains(normalize-space(), "Menu")]')
    assert menu.accessible_name == 'Menu 1 unworked replies'  # the button's name says what the red number counts
    assert header['text'].endswith('Nurse Joy logout SIGN OUT')
    ActionChains(browser).move_to_element(browser.find_element(By.CSS_SELECTOR, 'header .q-badge')).perform()
    tooltip = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '.q-tooltip'))
    assert tooltip[0].text == '1 unworked replies in the SMP worklist'
    click(browser, '//header//button[contains(normalize-space(), "Menu")]')
    items = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '.q-menu [role=menuitem]'))
    assert [(i.text, i.get_attribute('href')) for i in items] == [
        (label, url + target) for label, target in (('Charts', '/staff'), ('Contacts', '/staff/contacts'),
                                                    ('SMP worklist', '/staff/worklist'),
                                                    ('Registrations', '/staff/registrations'),
                                                    ('My settings', '/staff/settings'))]
    click(browser, '//div[contains(@class, "q-menu")]//a[normalize-space()="SMP worklist"]')
    wait_for(browser, lambda d: d.current_url == url + '/staff/worklist' and d.find_elements(By.CSS_SELECTOR, 'main h1'))

    assert _sessions() == 1
    click(browser, '//header//button[contains(normalize-space(), "Sign out")]')  # a server action: the session ends
    wait_for(browser, lambda d: d.current_url.startswith(url + '/login'))
    assert _sessions() == 0
    browser.get(url + '/staff')
    wait_for(browser, lambda d: d.current_url.startswith(url + '/login'))

    sign_in_as(browser, url, CONTACT)  # a contact: Settings (a link), no Menu
    header = wait_for(browser, lambda d: d.execute_script(HEADER))
    assert (header['home'], header['menu'], header['badge'], header['settings']) == ('/', None, None, '/settings')
    settings_link = browser.find_element(By.CSS_SELECTOR, 'header a[aria-label=Settings]')
    assert settings_link.get_attribute('title') == 'Settings'
    settings_link.click()
    wait_for(browser, lambda d: d.current_url == url + '/settings' and d.find_elements(By.CSS_SELECTOR, 'main h1'))
