"""Issue 17 in a real browser over real SMTP: a share with replies off, an expiry and acknowledgement required,
the contact acknowledging, staff seeing the time, the expiry passing (controlled clock), and a bounced invitation."""
from __future__ import annotations

from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlmodel import select

from models import Share
from services import clock, sharing
from services.settings import get_settings
from tests import factories, portal_data
from tests.browser import click, wait_for

pytestmark = pytest.mark.browser

FETCH = '''
const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: 'same-origin'})
  .then(r => r.text().then(t => done([r.status, t])))
  .catch(e => done(['error', String(e)]));
'''


def _seed(session, *, with_account: bool, email: str) -> dict:
    staff = factories.account(session, role='staff', email='nurse@clinic.test', name='Nurse Joy')
    chart = factories.chart(session, first='Pat', last='Lee')
    document = factories.document(session, chart_row=chart, author=staff, title='Work status')
    contact = factories.contact(session, first='Casey', last='Adjuster', email=email)
    if with_account:
        factories.contact_account(session, contact)
    portal_data.enable(session, replies_enabled=True, review_window_minutes=0)
    return {'document': document.id, 'contact': contact.id}


def _sign_in(browser, url: str, email: str, landed: str) -> None:
    browser.delete_all_cookies()
    browser.get(url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(email)
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: landed in d.page_source)


def _field(browser, label: str):
    return wait_for(browser, lambda d: d.find_elements(
        By.XPATH, f'//label[.//div[starts-with(normalize-space(), "{label}")]]//input'))[0]


def _send(browser, url: str, document_id: int, email: str, *, replies: bool = True, expires_on: str = '',
          acknowledge: bool = False) -> None:
    browser.get(f'{url}/staff/document/{document_id}')
    click(browser, '//button[.//span[normalize-space()="Send document"]]')
    _field(browser, 'Find a recipient').send_keys(email[:6])
    click(browser, f'//div[contains(@class, "q-item")][.//div[contains(normalize-space(), "{email}")]]')
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//div[contains(@class, "q-chip")]'))
    if not replies:
        click(browser, '//div[@role="switch"][.//div[normalize-space()="Allow replies"]]')
        wait_for(browser, lambda d: d.find_element(
            By.XPATH, '//div[@role="switch"][.//div[normalize-space()="Allow replies"]]')
            .get_attribute('aria-checked') == 'false')
    if expires_on:
        _field(browser, 'Expires on').send_keys(expires_on)
    if acknowledge:
        click(browser, '//div[@role="checkbox"][.//div[starts-with(normalize-space(), "Require acknowledgement")]]')
    click(browser, '//div[contains(@class, "q-dialog")]//button[.//span[normalize-space()="Send"]]')
    wait_for(browser, lambda d: 'Sent 1 share' in d.page_source)


def _share(document_id: int) -> Share:
    from services import db
    with db.transaction() as session:
        return session.exec(select(Share).where(Share.source_document_id == document_id)).one()


def test_replies_off_expiry_and_acknowledgement_end_to_end(smtp_server, portal_server, browser) -> None:
    ids = portal_server.seed(_seed, with_account=True, email='casey@outside.test')
    url = portal_server.url
    in_two_days = (sharing.portal_today(get_settings()) + timedelta(days=2)).isoformat()

    # staff send with replies off, an expiry in 2 days and acknowledgement required
    _sign_in(browser, url, 'nurse@clinic.test', 'Clinic workspace')
    _send(browser, url, ids['document'], 'casey@outside.test', replies=False, expires_on=in_two_days,
          acknowledge=True)
    share = _share(ids['document'])
    assert (share.replies_allowed, share.acknowledgement_required) == (False, True)
    assert sharing.expiry_date(share.expires_at, get_settings()).isoformat() == in_two_days
    smtp_server.wait_for('casey@outside.test', timeout=30)  # the Reminder to Review went over SMTP

    # the contact: no Reply To arrow, the Action needed mark, acknowledges at the bottom of the document
    _sign_in(browser, url, 'casey@outside.test', 'LOGOUT')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'a[href="/message/{share.id}"]'))
    assert 'Action needed' in browser.page_source
    assert not browser.find_elements(By.CSS_SELECTOR, '[aria-label="Reply To"]')
    browser.get(f'{url}/message/{share.id}')
    click(browser, '//button[.//span[normalize-space()="I have reviewed this document"]]')
    wait_for(browser, lambda d: 'You confirmed you reviewed this document on' in d.page_source)
    assert 'Send reply' not in browser.page_source
    acknowledged = _share(ids['document']).acknowledged_at
    assert acknowledged is not None

    # staff see the time in the send history
    _sign_in(browser, url, 'nurse@clinic.test', 'Clinic workspace')
    browser.get(f'{url}/staff/document/{ids["document"]}')
    wait_for(browser, lambda d: f'{acknowledged:%Y-%m-%d %H:%M}' in d.page_source)
    assert 'reminder to review: sent' in browser.page_source

    # the clock passes the expiry: the scheduler's job, run here with a frozen clock on the shared database
    clock.set_clock(clock.FrozenClock(clock.now() + timedelta(days=3)))
    try:
        assert sharing.expire_shares() == 1
    finally:
        clock.set_clock(None)

    _sign_in(browser, url, 'casey@outside.test', 'LOGOUT')
    assert not browser.find_elements(By.CSS_SELECTOR, f'a[href="/message/{share.id}"]')
    browser.get(f'{url}/message/{share.id}')
    wait_for(browser, lambda d: 'This message is not available' in d.page_source)
    status, text = browser.execute_async_script(FETCH, f'{url}/files/message/{share.id}')
    assert status == 404 and 'not available' in text

    _sign_in(browser, url, 'nurse@clinic.test', 'Clinic workspace')
    browser.get(f'{url}/staff/document/{ids["document"]}')
    wait_for(browser, lambda d: f'expired {in_two_days}' in d.page_source)

    # staff extend it after the expiry: the contact can read it again
    in_a_week = (sharing.portal_today(get_settings()) + timedelta(days=7)).isoformat()
    click(browser, '//button[.//span[normalize-space()="Expiry"]]')
    field = _field(browser, 'Expires on')
    field.send_keys(Keys.CONTROL, 'a')
    field.send_keys(Keys.DELETE)
    field.send_keys(in_a_week)
    click(browser, '//button[.//span[normalize-space()="Save expiry"]]')
    wait_for(browser, lambda d: f'expires {in_a_week}' in d.page_source)
    _sign_in(browser, url, 'casey@outside.test', 'LOGOUT')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'a[href="/message/{share.id}"]'))


def test_a_bounced_invitation_shows_as_bounced(smtp_server, portal_server, browser) -> None:
    smtp_server.reject.add('gone@outside.test')
    ids = portal_server.seed(_seed, with_account=False, email='gone@outside.test')
    url = portal_server.url
    _sign_in(browser, url, 'nurse@clinic.test', 'Clinic workspace')
    _send(browser, url, ids['document'], 'gone@outside.test')  # the admin's defaults: replies on, no expiry
    share = _share(ids['document'])
    assert share.replies_allowed and not share.acknowledgement_required and share.expires_at is None

    def bounced(driver) -> bool:
        driver.get(f'{url}/staff/document/{ids["document"]}')
        return 'invitation: bounced: 550 5.1.1 No such user here' in driver.page_source
    wait_for(browser, bounced, timeout=45)  # the server's outbox job ticks every 10 s
    browser.get(f'{url}/staff/contacts/{ids["contact"]}')
    wait_for(browser, lambda d: 'invitation: bounced: 550' in d.page_source)
