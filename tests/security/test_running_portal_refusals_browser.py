"""Items the services refuse, attacked through the running portal in Chromium as a person would: a weak new
password on the settings page, and an over-long username on the sign-in page."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from sqlmodel import select

from models import Account, AuditEvent
from services import db
from tests import portal_data
from tests.browser import wait_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _field(browser, label: str):
    return wait_for(browser, lambda d: d.find_elements(By.XPATH, f'//label[.//div[normalize-space()="{label}"]]//input'))[0]


def _sign_in(browser, url: str, username: str, password: str = PASSWORD) -> None:
    browser.get(url + '/login')
    _field(browser, 'Username (your email)').send_keys(username)
    _field(browser, 'Password').send_keys(password)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()


def test_a_weak_new_password_is_refused_with_the_reason(portal_server, browser) -> None:
    casey = portal_server.seed(portal_data.person, email='casey@outside.test', shares=1)
    before = db.run(lambda session: session.get(Account, casey.account_id).password_hash)
    _sign_in(browser, portal_server.url, casey.email)
    wait_for(browser, lambda d: 'LOGOUT' in d.page_source)
    browser.get(portal_server.url + '/settings')
    for weak in ('password123456', 'aaaaaaaaaaaa'):
        for label in ('Current password', 'New password', 'Repeat new password'):
            field = _field(browser, label)
            field.clear()
            field.send_keys(PASSWORD if label == 'Current password' else weak)
        button = browser.find_element(By.XPATH, '//button[contains(., "CHANGE PASSWORD")]')
        browser.execute_script('arguments[0].scrollIntoView({block: "center"})', button)
        button.click()
        wait_for(browser, lambda d: d.find_elements(By.XPATH, '//*[@role="alert"][contains(., "password")]'))
        assert db.run(lambda session: session.get(Account, casey.account_id).password_hash) == before
    assert browser.current_url.endswith('/settings')  # still signed in: nothing changed


def test_an_overlong_username_gets_the_ordinary_answer_and_is_counted(portal_server, browser) -> None:
    _sign_in(browser, portal_server.url, 'x' * 300 + '@outside.test', 'wrong password')
    wait_for(browser, lambda d: 'The username or password is not correct' in d.page_source)
    failed = db.run(lambda session: session.exec(
        select(AuditEvent).where(AuditEvent.action == 'sign_in_failed')).all())
    assert len(failed) == 1 and len(failed[0].actor) <= 254
