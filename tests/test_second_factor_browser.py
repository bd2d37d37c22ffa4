"""Two-step sign-in in Chromium, on one portal for the module: an authenticator app set up and used with codes the
test computes, a reused code refused, a recovery code that works once, an enrolment the admin requires blocking
every page and file until it is done, and the admin's reset."""
from __future__ import annotations

import re
import time
import urllib.error
import urllib.request

import pyotp
import pytest
from selenium.webdriver.common.by import By
from sqlmodel import select

from models import Account, AuditEvent, OutboxEmail
from pages import register_all
from pages.portal import ROUTES
from services import second_factor
from tests import factories
from tests.browser import click, sign_in_as, wait_for

pytestmark = pytest.mark.browser


def _password(driver, url: str, email: str) -> None:
    sign_in_as(driver, url, email, then=lambda d: '/login?' not in d.current_url and not d.current_url.endswith('/login'))


def _type(driver, label: str, text: str) -> None:
    field = wait_for(driver, lambda d: [e for e in d.find_elements(
        By.XPATH, f'//label[.//*[normalize-space()="{label}"]]//input') if e.is_displayed()])[0]
    field.clear()
    field.send_keys(text)


def _visible_text(driver, text: str):
    return wait_for(driver, lambda d: [e for e in d.find_elements(By.XPATH, f'//*[contains(text(), "{text}")]')
                                       if e.is_displayed()])


def _set_up_authenticator(driver, button: str) -> tuple[str, list[str]]:
    """Press `button`, read the key, confirm with a code computed here; the key and the recovery codes shown."""
    click(driver, f'//button[normalize-space()="{button}"]')
    secret = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '.select-all'))[0].text.replace(' ', '')
    assert driver.find_elements(By.CSS_SELECTOR, 'img[src^="data:image/svg+xml"]')  # the QR code
    _type(driver, 'Code from the app', pyotp.TOTP(secret).now())
    click(driver, '//button[normalize-space()="Confirm and turn on"]')
    items = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, 'ol li'))
    return secret, [item.text.strip() for item in items]


def _next_code(secret: str) -> str:
    """The code of the next 30-second step: the set-up spent the current one, and each code works once."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_authenticator_app_set_up_sign_in_reuse_and_recovery(shared_portal, browser) -> None:
    url = shared_portal.url
    shared_portal.seed(lambda session: factories.account(session, role='staff', email='totp@clinic.test'))
    _password(browser, url, 'totp@clinic.test')
    wait_for(browser, lambda d: d.current_url.endswith('/staff'))  # the grace period: a notice, nothing blocked
    _visible_text(browser, 'The clinic requires a second step at sign-in')

    browser.get(url + '/staff/settings')
    secret, codes = _set_up_authenticator(browser, 'Set up authenticator app')
    assert len(codes) == 10
    _visible_text(browser, 'The authenticator app is turned on.')

    _password(browser, url, 'totp@clinic.test')
    wait_for(browser, lambda d: '/login/second-step' in d.current_url)
    _visible_text(browser, 'Enter the 6-digit code from your authenticator app')
    code = _next_code(secret)
    _type(browser, '6-digit code', code)
    click(browser, '//button[normalize-space()="Verify"]')
    wait_for(browser, lambda d: d.current_url.endswith('/staff'))

    _password(browser, url, 'totp@clinic.test')  # the same code again: refused
    wait_for(browser, lambda d: '/login/second-step' in d.current_url)
    _type(browser, '6-digit code', code)
    click(browser, '//button[normalize-space()="Verify"]')
    _visible_text(browser, 'not correct or was already used')
    assert '/login/second-step' in browser.current_url

    click(browser, '//button[normalize-space()="Use a recovery code instead"]')
    _type(browser, 'Recovery code', codes[0])
    click(browser, '//button[normalize-space()="Use recovery code"]')
    wait_for(browser, lambda d: d.current_url.endswith('/staff'))

    _password(browser, url, 'totp@clinic.test')  # the recovery code again: refused
    click(browser, '//button[normalize-space()="Use a recovery code instead"]')
    _type(browser, 'Recovery code', codes[0])
    click(browser, '//button[normalize-space()="Use recovery code"]')
    _visible_text(browser, 'recovery code is not correct or was already used')


def _cookie_header(driver) -> str:
    return '; '.join(f'{c["name"]}={c["value"]}' for c in driver.get_cookies())


def _status(url: str, cookie: str) -> int:
    request = urllib.request.Request(url, headers={'Cookie': cookie})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_required_enrolment_blocks_every_page_and_file_until_done(shared_portal, browser) -> None:
    url = shared_portal.url

    def make(session):
        account = factories.account(session, role='staff', email='forced@clinic.test')
        account.second_factor_forced = True
        session.add(account)
        chart = factories.chart(session)
        return factories.document(session, chart_row=chart).id
    document_id = shared_portal.seed(make)
    _password(browser, url, 'forced@clinic.test')
    wait_for(browser, lambda d: '/login/second-step/setup' in d.current_url)

    register_all()
    for path in ('/staff', '/staff/settings', '/staff/contacts', '/staff/worklist', '/', '/admin'):
        browser.get(url + path)
        wait_for(browser, lambda d: '/login/second-step/setup' in d.current_url)
    cookie = _cookie_header(browser)
    files = sorted(r.path for r in ROUTES.values() if r.kind == 'file')
    assert files
    answers = {path: _status(url + re.sub(r'\{[^}]+\}', str(document_id), path), cookie) for path in files}
    assert set(answers.values()) == {401}, answers

    browser.get(url + '/login/second-step/setup')
    _set_up_authenticator(browser, 'Set up an authenticator app')
    click(browser, '//button[normalize-space()="Continue"]')
    wait_for(browser, lambda d: d.current_url.endswith('/staff'))
    browser.get(url + '/staff/settings')
    _visible_text(browser, 'Authenticator app: set up')
    assert _status(url + f'/staff/files/document/{document_id}', _cookie_header(browser)) != 401


def test_admin_resets_two_step_sign_in(shared_portal, browser) -> None:
    url = shared_portal.url

    def make(session):
        factories.account(session, role='admin', email='boss@clinic.test')
        staff = factories.account(session, role='staff', email='lostphone@clinic.test')
        actor = factories.actor_for(session, staff)
        setup = second_factor.start_totp(session, actor=actor)
        second_factor.confirm_totp(session, actor=actor, code=pyotp.TOTP(setup.secret.replace(' ', '')).now())
    shared_portal.seed(make)
    _password(browser, url, 'boss@clinic.test')
    browser.get(url + '/admin/accounts')
    _type(browser, 'Search (name, email)', 'lostphone')
    click(browser, '//td[normalize-space()="lostphone@clinic.test"]')
    _visible_text(browser, 'Two-step sign-in: Authenticator app')
    click(browser, '//button[normalize-space()="Reset two-step sign-in"]')
    _visible_text(browser, 'Two-step sign-in: not set up')

    def read(session):
        account = session.exec(select(Account).where(Account.email == 'lostphone@clinic.test')).one()
        emails = session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'second_factor_reset')).all()
        return second_factor.enrolled_factors(session, account.id), [e.to_address for e in emails]
    factors, sent_to = shared_portal.seed(read)
    assert factors == set() and sent_to == ['lostphone@clinic.test']
    _password(browser, url, 'lostphone@clinic.test')  # the password alone again (the grace period runs)
    wait_for(browser, lambda d: d.current_url.endswith('/staff'))
    actions = shared_portal.seed(lambda session: [e.action for e in session.exec(select(AuditEvent)).all()])
    assert 'second_factor_reset' in actions


def test_a_trusted_browser_skips_the_second_step(shared_portal, browser) -> None:
    url = shared_portal.url

    def make(session):
        from services import settings
        settings.set_value(session, 'second_factor_trust_browser', True)
        staff = factories.account(session, role='staff', email='trusted@clinic.test')
        actor = factories.actor_for(session, staff)
        setup = second_factor.start_totp(session, actor=actor)
        secret = setup.secret.replace(' ', '')
        second_factor.confirm_totp(session, actor=actor, code=pyotp.TOTP(secret).now())
        return secret
    secret = shared_portal.seed(make)
    _password(browser, url, 'trusted@clinic.test')
    wait_for(browser, lambda d: '/login/second-step' in d.current_url)
    click(browser, '//div[contains(@class, "q-checkbox")][.//*[contains(text(), "Trust this browser")]]')
    _type(browser, '6-digit code', _next_code(secret))
    click(browser, '//button[normalize-space()="Verify"]')
    wait_for(browser, lambda d: d.current_url.endswith('/staff'))
    trusted = browser.get_cookie('smp_trusted')
    assert trusted and trusted['httpOnly']

    browser.delete_cookie('smp_session')  # signed out here; the trusted-browser cookie stays
    browser.get(url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys('trusted@clinic.test')
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    click(browser, '//button[normalize-space()="Sign in"]')
    # the sign-in passes /staff on its way to the second step, which this browser's trust then finishes by itself
    wait_for(browser, lambda d: 'trusted_browser_used' in shared_portal.seed(
        lambda session: [e.action for e in session.exec(select(AuditEvent)).all()]))
    wait_for(browser, lambda d: d.current_url.endswith('/staff'))  # no code asked
    assert not browser.find_elements(By.XPATH, '//*[contains(text(), "6-digit code")]')
