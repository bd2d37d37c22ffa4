"""The portal serves its sign-in page to a real browser, and a staff member signs in."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests import factories
from tests.browser import wait_for

pytestmark = pytest.mark.browser


def test_staff_signs_in_with_a_real_browser(portal_server, browser) -> None:
    portal_server.seed(lambda session: factories.account(session, role='staff', email='nurse@clinic.test'))
    browser.get(portal_server.url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys('nurse@clinic.test')
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: 'Clinic workspace' in d.page_source)
    assert browser.current_url.endswith('/staff')
