"""The settings page in a real browser: the live preview follows typing, an uploaded logo shows in the header."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests import factories
from tests.browser import wait_for

pytestmark = pytest.mark.browser


def test_admin_brands_the_portal_in_a_real_browser(portal_server, browser, tmp_path) -> None:
    portal_server.seed(lambda session: factories.account(session, role='admin', email='boss@clinic.test'))
    browser.get(portal_server.url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys('boss@clinic.test')
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: d.current_url.endswith('/admin'))

    browser.get(portal_server.url + '/admin/settings')
    header_text = wait_for(browser, lambda d: d.find_elements(
        By.XPATH, '//label[.//div[normalize-space()="Header text"]]//input'))[0]
    header_text.send_keys('Occupational Health Services')
    # the preview follows the typing before anything is saved
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//div[text()="Occupational Health Services"]'))

    logo = tmp_path / 'logo.png'
    logo.write_bytes(factories.MINIMAL_PNG)
    browser.find_element(By.CSS_SELECTOR, 'input[type=file]').send_keys(str(logo))
    wait_for(browser, lambda d: 'Logo saved.' in d.page_source)

    browser.get(portal_server.url + '/admin')
    image = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'header img[src^="/branding/logo?v="]'))[0]
    wait_for(browser, lambda d: d.execute_script('return arguments[0].complete && arguments[0].naturalWidth', image))
