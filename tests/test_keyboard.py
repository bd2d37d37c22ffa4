"""Keyboard only (WCAG 2.1.1, 2.1.2, 2.4.7): whole flows with Tab, Shift+Tab, Enter, Space and arrow keys.

Text is typed into the focused field; a file is "chosen" by giving its path to the focused file input (what the
browser's file chooser, opened with Enter, would do). Every control is reached by Tab from where the focus is
(never by a click or a script focus), within a bound, so a keyboard trap fails the test. Each test prints the
number of keys it needed.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlmodel import select

from models import Contact, Registration, Reply, Share
from pages import frame
from services import activation, registration, settings
from tests import factories, portal_data
from tests.browser import wait_for
from tests.factories import MINIMAL_PDF, PASSWORD

pytestmark = pytest.mark.browser

ACTIVATION_PASSWORD = 'violet harbour kettle 93'
MAX_TABS = 80  # more Tab presses than any page needs: beyond it the focus is trapped or the control unreachable


class Keyboard:
    """Presses keys in the browser and counts them; checks that each focus stop shows a visible focus outline."""

    def __init__(self, driver) -> None:
        self.driver = driver
        self.keys = 0  # Tab, Shift+Tab, Enter, Space, arrows
        self.typed = 0  # characters typed into fields

    def press(self, key: str) -> None:
        ActionChains(self.driver).send_keys(key).perform()
        self.keys += 1

    def type(self, text: str) -> None:
        ActionChains(self.driver).send_keys(text).perform()
        self.typed += len(text)

    def active(self):
        return self.driver.switch_to.active_element

    def tab_to(self, wanted: Callable[[object], bool], what: str, *, back: bool = False) -> None:
        """Tab (or Shift+Tab) until the focused element is `wanted`; fail after MAX_TABS (a trap)."""
        for _ in range(MAX_TABS):
            if self._matches(wanted):
                self._check_focus_visible(what)
                return
            if back:
                ActionChains(self.driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
                self.keys += 1
            else:
                self.press(Keys.TAB)
        raise AssertionError(f'{what} was not reached with {MAX_TABS} Tab presses (trapped or unreachable)')

    def _matches(self, wanted) -> bool:
        try:
            return bool(wanted(self.active()))
        except Exception:  # noqa: BLE001 (the page re-rendered under us: look again after the next key)
            return False

    def _check_focus_visible(self, what: str) -> None:
        def outline(driver):
            style = driver.execute_script(FOCUS_OUTLINE)
            return style if style[0] != 'none' and style[1] >= 2 else None
        try:
            wait_for(self.driver, outline, timeout=3)
        except Exception:  # noqa: BLE001
            raise AssertionError(f'focus on {what} is not visible: {self.driver.execute_script(FOCUS_OUTLINE)}') from None


# the outline that shows where the focus is: on the field's box for text fields, on the button around a file input
FOCUS_OUTLINE = """
const e = document.activeElement; const f = e.closest('.q-field');
const t = f ? f.querySelector('.q-field__control') : (e.matches('.q-uploader__input') ? e.closest('.q-btn') : e);
const s = getComputedStyle(t); return [s.outlineStyle, parseFloat(s.outlineWidth), t.className];
"""


def main_text(driver) -> str:
    """The page's main text, or '' while the page is being replaced (a navigation)."""
    try:
        return driver.find_element(By.TAG_NAME, 'main').text
    except (NoSuchElementException, StaleElementReferenceException):
        return ''


def dialog_text(driver) -> str:
    try:
        return driver.find_element(By.CSS_SELECTOR, '[role=dialog]').text
    except (NoSuchElementException, StaleElementReferenceException):
        return ''


def attr(name: str, value: str) -> Callable[[object], bool]:
    return lambda element: element.get_attribute(name) == value


def button(text: str) -> Callable[[object], bool]:
    # (Quasar shows buttons in capitals; the text includes the icon's name)
    return lambda element: element.tag_name == 'button' and text.lower() in (element.text or '').lower()


def test_contact_reads_and_replies_with_an_attachment_by_keyboard(shared_portal, browser, tmp_path) -> None:
    casey = shared_portal.seed(portal_data.person, email='casey@outside.test', shares=2)
    shared_portal.seed(portal_data.enable, replies_enabled=True)
    pdf = tmp_path / 'signed form.pdf'
    pdf.write_bytes(MINIMAL_PDF)
    keys = Keyboard(browser)
    share = casey.share_ids[0]

    browser.get(shared_portal.url + '/login')
    keys.tab_to(attr('autocomplete', 'username'), 'the username field')
    keys.type(casey.email)
    keys.tab_to(attr('autocomplete', 'current-password'), 'the password field')
    keys.type(PASSWORD)
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.current_url.rstrip('/') == shared_portal.url and 'LOGOUT' in d.page_source)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'a[href="/message/{share}"]'))

    keys.tab_to(lambda e: (e.get_attribute('href') or '').endswith(f'/message/{share}'), 'the first message')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: f'/message/{share}' in d.current_url and d.find_elements(By.CSS_SELECTOR, 'main h1'))

    keys.tab_to(attr('aria-label', 'Home'), 'Home')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.current_url.rstrip('/') == shared_portal.url and 'LOGOUT' in d.page_source)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'a[aria-label="Reply To"]'))

    keys.tab_to(lambda e: e.get_attribute('aria-label') == 'Reply To'
                and (e.get_attribute('href') or '').endswith(f'/message/{share}?reply=1'), 'Reply To')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: 'reply=1' in d.current_url and d.find_elements(By.TAG_NAME, 'textarea'))

    keys.tab_to(lambda e: e.tag_name == 'textarea', 'the reply text')
    keys.type('Signed form attached.')
    keys.tab_to(attr('type', 'file'), 'the attachment chooser')
    keys.active().send_keys(str(pdf))  # what Enter and the browser's file chooser would hand to the page
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'button[aria-label="Remove signed form.pdf"]'))
    keys.tab_to(button('Send reply'), 'Send reply')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.current_url.rstrip('/') == shared_portal.url and 'Replies' in d.page_source)
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//button[contains(., "LOGOUT")]'))

    keys.tab_to(button('LOGOUT'), 'LOGOUT')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: '/login' in d.current_url)
    print(f'keyboard: contact sign-in, open, Home, Reply To, send with attachment, LOGOUT: {keys.keys} keys '
          f'(+ {keys.typed} characters typed)')


def test_activation_from_the_emailed_link_by_keyboard(shared_portal, browser) -> None:
    def invite(session):
        contact = factories.contact(session, email='dr.jones@outside.test')
        return factories.share(session, contact_row=contact).activation_code
    code = shared_portal.seed(invite)
    keys = Keyboard(browser)

    browser.get(f'{shared_portal.url}/activate?code={activation.normalize_code(code)}')  # the email's link
    wait_for(browser, lambda d: 'Who is this activation code for?' in d.page_source)
    wait_for(browser, lambda d: d.switch_to.active_element.tag_name == 'h1')  # the step's heading has the focus
    keys.tab_to(button('NEXT'), 'NEXT (who)')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=email]'))
    wait_for(browser, lambda d: d.switch_to.active_element.tag_name == 'h1'
             and 'Verify your email' in d.switch_to.active_element.text)  # the focus moved with the step
    keys.tab_to(attr('autocomplete', 'email'), 'the email field')
    keys.type('dr.jones@outside.test')
    keys.tab_to(button('NEXT'), 'NEXT (email)')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=new-password]'))
    wait_for(browser, lambda d: d.switch_to.active_element.tag_name == 'h1'
             and 'username and password' in d.switch_to.active_element.text)
    keys.tab_to(attr('autocomplete', 'new-password'), 'the password field')
    keys.type(ACTIVATION_PASSWORD)
    keys.press(Keys.TAB)
    assert keys.active().get_attribute('autocomplete') == 'new-password'  # the confirmation, next in order
    keys.type(ACTIVATION_PASSWORD)
    wait_for(browser, lambda d: 'Strength:' in d.page_source)
    keys.tab_to(button('CREATE ACCOUNT'), 'CREATE ACCOUNT')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: 'Secure messages' in d.page_source and d.current_url == shared_portal.url + '/')
    print(f'keyboard: activation from the emailed link to the portal: {keys.keys} keys (+ {keys.typed} characters typed)')


def test_admin_changes_a_setting_by_keyboard(shared_portal, browser) -> None:
    shared_portal.seed(lambda session: factories.account(session, role='admin', email='boss@clinic.test'))
    shared_portal.seed(portal_data.enable, registration_enabled=False)
    keys = Keyboard(browser)

    browser.get(shared_portal.url + '/login')
    keys.tab_to(attr('autocomplete', 'username'), 'the username field')
    keys.type('boss@clinic.test')
    keys.tab_to(attr('autocomplete', 'current-password'), 'the password field')
    keys.type(PASSWORD)
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: '/admin' in d.current_url and d.find_elements(By.CSS_SELECTOR, 'main h1'))

    keys.tab_to(button('Menu'), 'Menu', back=True)  # the header is before the page's h1
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '.q-menu [role=menuitem]'))
    keys.tab_to(lambda e: e.get_attribute('role') == 'menuitem' and e.text.strip() == 'Settings', 'the Settings item')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.current_url.endswith('/admin/settings') and d.find_elements(By.CSS_SELECTOR, 'main h1'))

    keys.tab_to(lambda e: e.get_attribute('role') == 'switch' and 'New registration enabled' in e.text,
                'the New registration switch')
    assert keys.active().get_attribute('aria-checked') == 'false'
    keys.press(Keys.SPACE)
    wait_for(browser, lambda d: d.switch_to.active_element.get_attribute('aria-checked') == 'true')
    keys.tab_to(attr('aria-label', 'Save features'), 'Save (Features)')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: 'Saved.' in main_text(d))
    assert shared_portal.seed(lambda session: settings.get_settings(session).registration_enabled) is True
    print(f'keyboard: admin signs in, opens Settings from the menu and saves a switch: {keys.keys} keys '
          f'(+ {keys.typed} characters typed)')


def test_registration_wizard_by_keyboard(shared_portal, browser) -> None:
    def start(session):
        settings.set_value(session, 'registration_enabled', True)
        settings.invalidate_cache()
        contact = factories.contact(session, email='robin.submitter@outside.test')
        actor = factories.actor_for(session, factories.contact_account(session, contact))
        return registration.start(session, actor=actor)
    token = shared_portal.seed(start)
    keys = Keyboard(browser)

    def next_step(label: str) -> None:
        keys.tab_to(button('Next'), f'Next ({label})')
        keys.press(Keys.ENTER)

    def step_is(number: int) -> None:
        wait_for(browser, lambda d: f'Step {number} of 6' in main_text(d))

    browser.get(f'{shared_portal.url}/registration/{token}')
    step_is(1)
    keys.tab_to(attr('aria-label', 'First name *'), 'First name')
    keys.type('Robin')
    keys.tab_to(attr('aria-label', 'Last name *'), 'Last name')
    keys.type('Quill')
    keys.tab_to(attr('aria-label', 'Date of birth *'), 'Date of birth')
    keys.type('04021990')  # Chromium's date field takes the digits in locale order
    keys.tab_to(lambda e: e.get_attribute('role') == 'combobox', 'Sex')
    keys.press(Keys.ENTER)  # opens the options
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '.q-menu [role=option]'))
    for _ in range(10):
        highlighted = browser.find_elements(By.CSS_SELECTOR, '.q-menu .q-manual-focusable--focused')
        if highlighted and highlighted[0].text.strip() == 'Female':
            break
        keys.press(Keys.ARROW_DOWN)
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: 'Female' in main_text(d))
    next_step('the person')
    step_is(2)
    wait_for(browser, lambda d: d.switch_to.active_element.get_attribute('aria-label') == 'Phone *')  # focus moved
    keys.type('+1 555 123 4567')
    next_step('contact details')
    step_is(3)
    next_step('employment')
    step_is(4)
    keys.tab_to(attr('aria-label', 'Reason for the registration *'), 'Reason')
    keys.type('Pre-employment exam')
    next_step('reason')
    step_is(5)
    keys.tab_to(lambda e: (e.get_attribute('aria-label') or '').startswith('Your name'), 'Your name')
    keys.type('Casey Case')
    keys.tab_to(lambda e: (e.get_attribute('aria-label') or '').startswith('Your phone'), 'Your phone')
    keys.type('555 987 6543')
    next_step('about you')
    step_is(6)
    keys.tab_to(button('Submit registration'), 'Submit registration')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: 'Thank you' in d.page_source)
    assert shared_portal.seed(lambda session: session.exec(select(Registration)).first()) is not None
    print(f'keyboard: the registration wizard, six steps to the reference: {keys.keys} keys '
          f'(+ {keys.typed} characters typed)')


def test_staff_send_a_document_and_work_the_reply_by_keyboard(shared_portal, browser) -> None:
    def clinic(session):
        factories.account(session, role='staff', email='nurse@clinic.test', name='Nurse Joy')
        chart = factories.chart(session, first='Pat', last='Keyboard')
        document = factories.document(session, chart_row=chart, title='Fitness note')
        return chart.id, document.id
    chart_id, document_id = shared_portal.seed(clinic)
    keys = Keyboard(browser)

    browser.get(shared_portal.url + '/login')
    keys.tab_to(attr('autocomplete', 'username'), 'the username field')
    keys.type('nurse@clinic.test')
    keys.tab_to(attr('autocomplete', 'current-password'), 'the password field')
    keys.type(PASSWORD)
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'a[href="/staff/chart/{chart_id}"]'))

    keys.tab_to(lambda e: (e.get_attribute('href') or '').endswith(f'/staff/chart/{chart_id}'), 'the chart')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'a[href="/staff/document/{document_id}"]'))
    keys.tab_to(lambda e: (e.get_attribute('href') or '').endswith(f'/staff/document/{document_id}'), 'the document')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: f'/staff/document/{document_id}' in d.current_url)

    keys.tab_to(button('Send document'), 'Send document')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '[role=dialog]'))
    keys.tab_to(lambda e: 'New contact' in e.text and e.get_attribute('aria-expanded') is not None, 'New contact')
    keys.press(Keys.ENTER)
    keys.tab_to(attr('aria-label', 'First name'), 'First name')
    keys.type('Kim')
    keys.tab_to(attr('aria-label', 'Last name'), 'Last name')
    keys.type('Keyboard')
    keys.tab_to(attr('aria-label', 'Email'), 'Email')
    keys.type('kim.keyboard@outside.test')
    keys.tab_to(button('Add contact'), 'Add contact')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: 'Kim Keyboard' in dialog_text(d)
             and 'added' in dialog_text(d))
    keys.tab_to(lambda e: e.tag_name == 'button' and e.text.strip().lower().endswith('send')
                and 'document' not in e.text.lower(), 'Send')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: 'Sent 1 share' in main_text(d))

    def reply(session):  # the new contact activates and replies (their part is tested on its own)
        share = session.exec(select(Share).where(Share.source_document_id == document_id)).one()
        contact = session.get(Contact, share.contact_id)
        account = factories.contact_account(session, contact)
        row = Reply(share_id=share.id, account_id=account.id, author_name='Kim Keyboard', body='Noted, thanks.')
        session.add(row)
        share.reply_count += 1
        share.last_reply_at = row.created_at
        session.add(share)
        session.flush()
        return row.id
    reply_id = shared_portal.seed(reply)

    keys.tab_to(button('Menu'), 'Menu', back=True)
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '.q-menu [role=menuitem]'))
    keys.tab_to(lambda e: e.get_attribute('role') == 'menuitem' and e.text.strip() == 'SMP worklist', 'SMP worklist')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'a[href="/staff/reply/{reply_id}"]'))
    keys.tab_to(lambda e: (e.get_attribute('href') or '').endswith(f'/staff/reply/{reply_id}'), 'the reply')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: f'/staff/reply/{reply_id}' in d.current_url and 'Noted, thanks.' in d.page_source)

    keys.tab_to(button('Mark worked'), 'Mark worked')
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: 'status: worked' in main_text(d))
    keys.tab_to(button('Move into chart'), 'Move into chart')  # (a moved reply is done: "moved" replaces "worked")
    keys.press(Keys.ENTER)
    wait_for(browser, lambda d: 'Moved into the chart' in main_text(d))
    wait_for(browser, lambda d: 'status: moved' in main_text(d))
    print(f'keyboard: staff open a chart, send to a new contact, open the reply from the worklist, worked, Move: '
          f'{keys.keys} keys (+ {keys.typed} characters typed)')


ACTIVE = ("const a = document.activeElement; "
          "return a ? a.tagName + ' ' + (a.getAttribute('autocomplete') || '') : '';")


@pytest.mark.parametrize('script, waits', [(frame.FOCUS_HEADING_JS, 0.4), (frame.FOCUS_STEP_JS, 3.5)])
def test_a_step_focus_script_leaves_the_focus_in_a_field_the_person_went_to(shared_portal, browser, script,
                                                                            waits) -> None:
    """A new step's focus script runs a moment after the step is drawn; someone who is already typing in one of
    its fields keeps the focus and every character (the clean-clone CI lost half a password to the h1)."""
    browser.get(shared_portal.url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=current-password]'))
    browser.execute_script('document.activeElement.blur()')
    browser.execute_script(script)
    field = browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]')
    browser.execute_script('arguments[0].focus()', field)
    time.sleep(waits)  # the script has looked at the focus by now
    assert browser.execute_script(ACTIVE) == 'INPUT current-password'
    ActionChains(browser).send_keys(ACTIVATION_PASSWORD).perform()  # typed where the focus is
    assert field.get_attribute('value') == ACTIVATION_PASSWORD

    browser.execute_script('document.activeElement.blur()')  # nobody moved the focus: it goes to the h1
    browser.execute_script(script)
    wait_for(browser, lambda d: d.execute_script(ACTIVE) == 'H1 ', timeout=waits + 2)
