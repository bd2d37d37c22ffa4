"""The main screen, the viewer and replies in headless Chromium against a real portal process."""
from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests import portal_data
from tests.browser import click, wait_for
from tests.factories import MINIMAL_PDF, PASSWORD

pytestmark = pytest.mark.browser

FETCH = '''
const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: 'same-origin'})
  .then(r => done([r.status, r.headers.get('content-type'), r.headers.get('content-disposition')]))
  .catch(e => done(['error', String(e), '']));
'''


def _sign_in(browser, portal_server, email: str) -> None:
    browser.get(portal_server.url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(email)
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: 'LOGOUT' in d.page_source)


def test_a_pdf_shows_inline(portal_server, browser) -> None:
    casey = portal_server.seed(portal_data.pdf_person, email='casey@outside.test')
    _sign_in(browser, portal_server, casey.email)
    # the paper icon of the row opens the document
    click(browser, by=By.CSS_SELECTOR, selector=f'a[href="/message/{casey.share_ids[0]}"]')
    frame = wait_for(browser, lambda d: d.find_elements(By.TAG_NAME, 'iframe'))[0]
    src = frame.get_attribute('src')
    assert src == f'{portal_server.url}/files/message/{casey.share_ids[0]}'
    status, content_type, disposition = browser.execute_async_script(FETCH, src)
    assert (status, content_type) == (200, 'application/pdf') and disposition.startswith('inline')
    assert frame.size['height'] > 300 and frame.size['width'] > 300


def test_the_pdf_viewer_does_not_take_the_focus_from_a_reply_being_typed(portal_server, browser) -> None:
    casey = portal_server.seed(portal_data.pdf_person, email='casey@outside.test')
    portal_server.seed(portal_data.enable, replies_enabled=True)
    _sign_in(browser, portal_server, casey.email)
    click(browser, by=By.CSS_SELECTOR, selector='a[aria-label="Reply To"]')
    text = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'textarea'))[0]
    # Chromium's PDF viewer now and then takes the focus as it loads, and the words being typed went into the PDF
    # (a CI run sent the reply "Sig"): here the frame takes it just after the page opened
    active = 'return [document.activeElement.tagName, document.querySelector("textarea").value]'
    assert browser.execute_script(active) == ['TEXTAREA', '']  # (Reply To: the field has the focus)
    browser.execute_script('document.querySelector("iframe").focus()')
    wait_for(browser, lambda d: d.execute_script(active)[0] == 'TEXTAREA', timeout=2)
    text.send_keys('Signed form attached.')
    assert browser.execute_script(active) == ['TEXTAREA', 'Signed form attached.']
    # the person's own click into the document, once it has loaded, keeps the focus there (to scroll it by keys)
    time.sleep(3.2)
    ActionChains(browser).move_to_element(browser.find_element(By.TAG_NAME, 'iframe')).click().perform()
    time.sleep(0.3)
    assert browser.execute_script('return document.activeElement.tagName') == 'IFRAME'


def test_a_reply_with_a_pdf_attachment_appears_in_the_summary(portal_server, browser, tmp_path) -> None:
    casey = portal_server.seed(portal_data.person, email='casey@outside.test', shares=1)
    portal_server.seed(portal_data.enable, replies_enabled=True)
    pdf = tmp_path / 'signed form.pdf'
    pdf.write_bytes(MINIMAL_PDF + b'\n%' + b'x' * 200_000 + b'\n')  # a scan's size: seconds on a slow upload
    _sign_in(browser, portal_server, casey.email)
    click(browser, by=By.CSS_SELECTOR, selector='a[aria-label="Reply To"]')
    text = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'textarea'))[0]
    text.send_keys('Signed form attached. <script>window.hacked = 1</script><img src=x onerror="window.hacked=2">')
    browser.set_network_conditions(latency=20, download_throughput=10_000_000, upload_throughput=100_000)
    browser.find_element(By.CSS_SELECTOR, 'input[type=file]').send_keys(str(pdf))
    # Send while the file is still on its way (about 2 s): the reply waits for it instead of going without it
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '.q-uploader__file'))
    assert not browser.find_elements(By.CSS_SELECTOR, 'button[aria-label="Remove signed form.pdf"]')
    click(browser, by=By.XPATH, selector='//button[contains(., "Send reply")]')
    wait_for(browser, lambda d: d.current_url.rstrip('/') == portal_server.url and 'Replies' in d.page_source)
    click(browser, by=By.CSS_SELECTOR, selector=f'a[href="/message/{casey.share_ids[0]}"]')
    link = wait_for(browser, lambda d: d.find_elements(By.XPATH, '//a[normalize-space()="signed form.pdf"]'))[0]
    assert 'Signed form attached. <script>window.hacked = 1</script>' in browser.find_element(By.TAG_NAME, 'body').text
    assert browser.execute_script('return window.hacked') is None
    status, content_type, _ = browser.execute_async_script(FETCH, link.get_attribute('href'))
    assert (status, content_type) == (200, 'application/pdf')


def test_the_main_screen_fits_a_360px_phone(portal_server, browser) -> None:
    casey = portal_server.seed(portal_data.person, email='casey@outside.test', shares=3)
    browser.set_window_size(360, 800)
    _sign_in(browser, portal_server, casey.email)
    # the card template is sent once the browser reports the phone layout: wait for the cards, not only the grid
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, '.q-table__grid-content .q-card')) == 3)
    assert browser.execute_script('return document.documentElement.scrollWidth') <= 360
    assert browser.find_element(By.XPATH, '//button[contains(., "LOGOUT")]').is_displayed()


def test_a_desktop_window_narrowed_to_a_phone_gets_the_cards(portal_server, browser) -> None:
    robin = portal_server.seed(portal_data.person, email='robin@outside.test', shares=2)
    browser.set_window_size(1280, 900)
    _sign_in(browser, portal_server, robin.email)
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, '.q-table tbody tr')) == 2)
    assert not browser.find_elements(By.CSS_SELECTOR, '.q-table__grid-content .q-card')  # no phone template yet
    browser.set_window_size(360, 800)  # assets/portal.js tells the page, which sends the card template
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, '.q-table__grid-content .q-card')) == 2)
