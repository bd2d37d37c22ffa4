"""The registration wizard in a real browser: the stepper moves, a draft survives a reload, submit shows the reference."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from services import settings
from tests import factories
from tests.browser import wait_for

pytestmark = pytest.mark.browser


def contact_with_registration_enabled(session) -> None:
    settings.set_value(session, 'registration_enabled', True)
    factories.contact_account(session, factories.contact(session, email='casey@outside.test'))


def field(browser, label: str):
    return browser.find_element(By.XPATH, f'//label[.//*[normalize-space()="{label}"]]//*[self::input or self::textarea]')


def click(browser, text: str) -> None:
    buttons = [b for b in browser.find_elements(By.XPATH, f'//button[normalize-space()="{text}"]') if b.is_displayed()]
    browser.execute_script('arguments[0].scrollIntoView({block: "center"})', buttons[0])  # clear of the fixed footer
    buttons[0].click()


def test_contact_walks_the_wizard_in_a_browser(portal_server, browser) -> None:
    portal_server.seed(contact_with_registration_enabled)
    browser.get(portal_server.url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys('casey@outside.test')
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    click(browser, 'Sign in')
    wait_for(browser, lambda d: '/login' not in d.current_url)
    browser.get(portal_server.url + '/registration/start')
    click(browser, 'Sign out and register')
    wait_for(browser, lambda d: 'Step 1 of 6: The person' in d.page_source)
    wizard_url = browser.current_url
    assert '/registration/' in wizard_url and not wizard_url.endswith('/start')

    click(browser, 'arrow_forwardNext')
    wait_for(browser, lambda d: 'First name is required.' in d.page_source)
    field(browser, 'First name *').send_keys('Robin')
    field(browser, 'Last name *').send_keys('Quill')
    field(browser, 'Date of birth *').send_keys('04021990')  # Chromium's date input takes the digits in locale order
    field(browser, 'Sex *').click()
    wait_for(browser, lambda d: [e for e in d.find_elements(By.XPATH, '//div[contains(@class,"q-item")]'
                                                                       '[normalize-space()="Female"]') if e.is_displayed()])
    [e for e in browser.find_elements(By.XPATH, '//div[contains(@class,"q-item")][normalize-space()="Female"]')
     if e.is_displayed()][0].click()
    click(browser, 'arrow_forwardNext')
    wait_for(browser, lambda d: 'Step 2 of 6: Contact details' in d.page_source)

    browser.get(wizard_url)  # a reload keeps the draft and the step
    wait_for(browser, lambda d: 'Step 2 of 6: Contact details' in d.page_source)
    click(browser, 'Back')
    wait_for(browser, lambda d: 'Step 1 of 6: The person' in d.page_source)
    assert field(browser, 'First name *').get_attribute('value') == 'Robin'
    assert field(browser, 'Date of birth *').get_attribute('value') == '1990-04-02'
