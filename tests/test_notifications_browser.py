"""The template editor in a real browser: the preview follows the edits and is sanitized."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests import factories
from tests.browser import wait_for

pytestmark = pytest.mark.browser


def test_the_template_preview_follows_edits_in_a_browser(portal_server, browser) -> None:
    portal_server.seed(lambda session: factories.account(session, role='admin', email='boss@clinic.test'))
    browser.get(portal_server.url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys('boss@clinic.test')
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: d.current_url.endswith('/admin'))
    browser.get(portal_server.url + '/admin/templates?kind=reminder_to_review')
    wait_for(browser, lambda d: '3 new documents have been shared with you' in d.page_source)
    body = browser.find_element(By.XPATH, '//label[.//div[normalize-space()="HTML"]]//textarea')
    body.send_keys(Keys.CONTROL, 'a')
    body.send_keys('{% extends "_layout.html" %}{% block body %}<p id="added">{{ document_count }} waiting</p>'
                   '<img src=x onerror="window.hacked=1">{% endblock %}')
    wait_for(browser, lambda d: d.find_elements(By.ID, 'added'))
    assert browser.find_element(By.ID, 'added').text == '3 waiting'
    assert browser.execute_script('return window.hacked') is None
    assert not browser.find_elements(By.CSS_SELECTOR, 'img[onerror]')
