"""Every button that creates something, double-clicked and hit by a scripted burst of five clicks in Chromium,
creates exactly one of each thing (the action helper ignores clicks while it runs; the idempotency key makes a
repeat that still gets through change nothing). One portal serves the whole module."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from sqlmodel import select

from services import db
from tests.browser import wait_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
BURST = 'const b = arguments[0]; for (let i = 0; i < 5; i++) { b.click(); }'


def count(model, *where) -> int:
    return db.run(lambda session: session.exec(select(sa.func.count()).select_from(model).where(*where)).one())


def click_when_ready(browser, xpath: str) -> None:
    def attempt(driver) -> bool:
        try:
            element = driver.find_element(By.XPATH, xpath)
            driver.execute_script('arguments[0].scrollIntoView({block: "center"})', element)
            element.click()
            return True
        except (StaleElementReferenceException, NoSuchElementException, ElementClickInterceptedException):
            return False
    wait_for(browser, attempt)


def press(browser, xpath: str, how: str) -> None:
    """Double-click the button, or send it five clicks in one script (as fast as a browser can)."""
    button = wait_for(browser, lambda d: d.find_elements(By.XPATH, xpath))[0]
    browser.execute_script('arguments[0].scrollIntoView({block: "center"})', button)
    if how == 'double':
        ActionChains(browser).double_click(button).perform()
    else:
        browser.execute_script(BURST, button)


def sign_in(browser, url: str, email: str) -> None:
    browser.delete_all_cookies()
    browser.get(url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(email)
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: '/login' not in d.current_url and '/session/' not in d.current_url)


def type_into(browser, label: str, text: str, tag: str = 'input') -> None:
    field = wait_for(browser, lambda d: d.find_elements(
        By.XPATH, f'//label[.//div[normalize-space()="{label}"]]//{tag}'))[0]
    field.send_keys(text)


@dataclass
class Case:
    """One button: `prepare` seeds and opens the page, returns the count to watch; `after` waits for the result."""

    name: str
    prepare: Callable
    button: str
    after: Callable


CASES: list[Case] = []


def case(name: str, button: str, after: Callable = lambda browser, url: None):
    def register(prepare: Callable) -> Callable:
        CASES.append(Case(name, prepare, button, after))
        return prepare
    return register


@pytest.fixture(params=['double', 'burst'])
def how(request) -> str:
    return request.param


def run_case(shared_portal, browser, how: str, name: str) -> None:
    chosen = next(c for c in CASES if c.name == name)
    watch = chosen.prepare(shared_portal, browser, how)
    before = watch()
    press(browser, chosen.button, how)
    chosen.after(browser, shared_portal.url)
    wait_for(browser, lambda d: watch() >= before + 1)
    import time
    time.sleep(1.5)  # a second submit would have landed by now
    assert watch() == before + 1, f'{name} ({how}): {watch() - before} created'


# ----------------------------------------------------------------------------- contact

@case('send reply', '//button[contains(., "Send reply")]',
      after=lambda browser, url: wait_for(browser, lambda d: d.current_url.rstrip('/') == url))
def _reply(portal, browser, how):
    from models import Reply
    from tests import portal_data
    person = portal.seed(portal_data.person, email=f'reply-{how}@outside.test', shares=1)
    portal.seed(portal_data.enable, replies_enabled=True)
    sign_in(browser, portal.url, person.email)
    browser.get(f'{portal.url}/message/{person.share_ids[0]}')
    type_into(browser, 'Your reply', 'Signed and returned.', 'textarea')
    return lambda: count(Reply, Reply.share_id == person.share_ids[0])


# ----------------------------------------------------------------------------- admin

def _admin(portal, browser, how: str) -> None:
    from tests import factories
    email = f'admin-{how}-{len(CASES)}-{id(browser)}@clinic.test'
    portal.seed(lambda session: factories.account(session, role='admin', email=email))
    sign_in(browser, portal.url, email)


@case('create account', '//button[contains(., "Create account")]')
def _create_account(portal, browser, how):
    from models import Account
    _admin(portal, browser, how)
    browser.get(f'{portal.url}/admin/accounts')
    click_when_ready(browser, '//div[contains(@class, "q-expansion-item")]//div[contains(., "New staff or admin account")]')
    email = f'new-{how}@clinic.test'
    type_into(browser, 'Email', email)
    type_into(browser, 'Name', 'New Person')
    return lambda: count(Account, Account.email == email)


@case('send test email', '//button[contains(., "Send test email")]')
def _test_email(portal, browser, how):
    from models import AuditEvent
    _admin(portal, browser, how)
    browser.get(f'{portal.url}/admin/email')
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//button[contains(., "Send test email")]'))
    return lambda: count(AuditEvent, AuditEvent.action == 'test_email_sent')


@pytest.mark.parametrize('name', [c.name for c in CASES])
def test_a_button_creates_one_thing(shared_portal, browser, how: str, name: str) -> None:
    run_case(shared_portal, browser, how, name)
