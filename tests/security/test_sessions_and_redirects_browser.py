"""Attacks on sign-in as an outsider would make them, against a running portal in Chromium.

Session fixation, a copied cookie replayed after sign-out, open redirects through `next=`, and the headers.
"""
from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import pytest
from selenium.webdriver.common.by import By

from pages.access import safe_next
from tests import portal_data
from tests.browser import wait_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

HOSTILE_NEXT = [
    '//evil.example/phish', '/%2F%09%2Fevil.example/phish', '/%09/evil.example', '/\t/evil.example',
    '/%0A/evil.example', '/%0D/evil.example', '/\n/evil.example', '/\\evil.example', '/%5Cevil.example',
    '/\\/evil.example', '\\\\evil.example', 'https://evil.example', 'http:evil.example', '//user@evil.example',
    '/%2F%2Fevil.example', '%2F%2Fevil.example', 'javascript:alert(1)', '/@evil.example', '///evil.example',
    '/%252F%252Fevil.example'.replace('%25', '%'), 'evil.example', ' /evil', '/\x00//evil.example',
    '//evil.example%2F%2E%2E', '/ /evil.example',
]


VIOLATIONS = ("window.cspViolations = []; document.addEventListener('securitypolicyviolation', "
              "e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));")


def _sign_in(browser, url: str, email: str, next_: str | None = None) -> None:
    browser.get(url + '/login' + (f'?next={urllib.parse.quote(next_, safe="")}' if next_ else ''))
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(email)
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()


def _status(url: str, cookie: str | None) -> int:
    request = urllib.request.Request(url, headers={'Cookie': f'smp_session={cookie}'} if cookie else {})
    try:
        return urllib.request.urlopen(request, timeout=5).status
    except urllib.error.HTTPError as error:
        return error.code


def test_hostile_next_values_are_refused_by_the_one_check() -> None:
    assert len(HOSTILE_NEXT) >= 20
    assert [value for value in HOSTILE_NEXT if safe_next(value) is not None] == []
    assert safe_next('/message/12?reply=1') == '/message/12?reply=1'


def test_a_planted_or_copied_cookie_is_worth_nothing(portal_server, browser) -> None:
    casey = portal_server.seed(portal_data.person, email='casey@outside.test', shares=1)
    file_url = f'{portal_server.url}/files/message/{casey.share_ids[0]}'
    # the attacker plants a value of its choosing before the victim signs in
    browser.get(portal_server.url + '/login')
    browser.add_cookie({'name': 'smp_session', 'value': 'planted-by-attacker', 'path': '/'})
    _sign_in(browser, portal_server.url, casey.email)
    wait_for(browser, lambda d: 'LOGOUT' in d.page_source)
    cookie = browser.get_cookie('smp_session')
    assert cookie['value'] != 'planted-by-attacker' and len(cookie['value']) >= 32
    assert cookie['httpOnly'] is True and cookie['sameSite'] == 'Lax'
    assert _status(file_url, 'planted-by-attacker') == 401
    assert _status(file_url, cookie['value']) == 200  # the victim's own cookie works while signed in
    copied = cookie['value']
    # sign out and back in: the copied value never works again
    browser.find_element(By.XPATH, '//button[contains(., "LOGOUT")]').click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    assert _status(file_url, copied) == 401
    _sign_in(browser, portal_server.url, casey.email)
    wait_for(browser, lambda d: 'LOGOUT' in d.page_source)
    assert browser.get_cookie('smp_session')['value'] != copied
    assert _status(file_url, copied) == 401


def test_next_never_leaves_the_portal(portal_server, browser) -> None:
    casey = portal_server.seed(portal_data.person, email='casey@outside.test', shares=1)
    _sign_in(browser, portal_server.url, casey.email, next_='/%2F%09%2Fevil.example/phish')
    wait_for(browser, lambda d: 'LOGOUT' in d.page_source)
    assert browser.current_url.startswith(portal_server.url)
    for value in HOSTILE_NEXT:  # signed in, /login sends on to next= at once: every value stays here
        browser.get(portal_server.url + '/login?next=' + urllib.parse.quote(value, safe=''))
        wait_for(browser, lambda d: 'LOGOUT' in d.page_source)
        assert browser.current_url.startswith(portal_server.url + '/'), value


def test_every_page_answer_carries_the_policy_and_is_not_cached(portal_server, browser) -> None:
    casey = portal_server.seed(portal_data.person, email='casey@outside.test', shares=1)
    answer = urllib.request.urlopen(portal_server.url + '/login', timeout=5)
    csp = answer.headers['Content-Security-Policy']
    for part in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'self'", "form-action 'self'"):
        assert part in csp
    assert answer.headers['Cache-Control'] == 'no-store'
    assert 'Strict-Transport-Security' not in answer.headers  # only behind HTTPS (SMP_COOKIE_HTTPS_ONLY)
    assert _status(portal_server.url + '/files/message/999999', None) == 401
    # the pages still work under the policy: sign in, open the document, no violation reported on any page
    browser.execute_cdp_cmd('Page.addScriptToEvaluateOnNewDocument', {'source': VIOLATIONS})
    _sign_in(browser, portal_server.url, casey.email)
    wait_for(browser, lambda d: 'LOGOUT' in d.page_source)
    assert browser.execute_script('return window.cspViolations') == []
    browser.get(f'{portal_server.url}/message/{casey.share_ids[0]}')
    wait_for(browser, lambda d: 'Fit for light duty.' in d.page_source)
    assert browser.execute_script('return window.cspViolations') == []
