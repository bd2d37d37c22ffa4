"""The invitation email's link, taken from a real SMTP server, creates the account in headless Chromium."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from services import activation
from tests import factories
from tests.browser import wait_for
from tests.smtp import find_link, text_body

pytestmark = pytest.mark.browser
PASSWORD = 'violet harbour kettle 93'


def _button(driver, text: str):
    return driver.find_element(By.XPATH, f'//button[normalize-space()="{text}"]')


def _input(driver, label: str):
    return driver.find_element(By.XPATH, f'//label[.//*[normalize-space()="{label}"]]//input')


def test_invitation_link_fills_the_code_and_creates_the_account(smtp_server, portal_server, browser) -> None:
    def invite(session):
        contact = factories.contact(session, email='dr.jones@outside.test')
        return factories.share(session, contact_row=contact).activation_code
    code = portal_server.seed(invite)
    [invitation] = smtp_server.wait_for('dr.jones@outside.test', timeout=40)  # sent by the portal's scheduler
    assert code in text_body(invitation)
    link = find_link(invitation, '/activate?code=')
    assert link.endswith(activation.normalize_code(code))

    browser.get(link)
    wait_for(browser, lambda d: 'Who is this activation code for?' in d.page_source)
    assert browser.current_url == portal_server.url + '/activate'  # the code left the address bar
    assert browser.find_element(By.XPATH, '//*[@role="radio" and @aria-checked="true"]').text.strip() == 'myself'
    _button(browser, 'NEXT').click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=email]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=email]').send_keys('dr.jones@outside.test')
    _button(browser, 'NEXT').click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=new-password]'))
    first, second = browser.find_elements(By.CSS_SELECTOR, 'input[autocomplete=new-password]')
    first.send_keys(PASSWORD)
    second.send_keys(PASSWORD)
    wait_for(browser, lambda d: 'Strength:' in d.page_source)
    _button(browser, 'CREATE ACCOUNT').click()
    wait_for(browser, lambda d: 'Signed in as dr.jones@outside.test' in d.page_source)
    assert browser.current_url == portal_server.url + '/'
    smtp_server.wait_for('dr.jones@outside.test', count=2, timeout=40)  # the account confirmation
