"""A real browser: staff upload a PDF into a chart and see it inline, served by the session-checked route."""
from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from selenium.webdriver.common.by import By

from tests import factories
from tests.browser import wait_for

pytestmark = pytest.mark.browser


def _seed(session):
    factories.account(session, role='staff', email='nurse@clinic.test', name='Nurse Joy')
    return factories.chart(session, first='Pat', last='Lee').id


def _sign_in(browser, url: str) -> None:
    browser.get(url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys('nurse@clinic.test')
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: 'Clinic workspace' in d.page_source)


def test_staff_uploads_a_pdf_and_sees_it_inline(portal_server, browser, tmp_path) -> None:
    chart_id = portal_server.seed(_seed)
    pdf = tmp_path / 'scan.pdf'
    pdf.write_bytes(factories.MINIMAL_PDF)
    _sign_in(browser, portal_server.url)
    browser.get(f'{portal_server.url}/staff/chart/{chart_id}/new-document')
    title = wait_for(browser, lambda d: d.find_elements(By.XPATH, '//label[.//div[normalize-space()="Title"]]//input'))
    title[0].send_keys('Scanned work status')
    browser.find_element(By.XPATH, '//div[@role="radio"][.//div[normalize-space()="PDF or image file"]]').click()
    file_input = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[type=file]'))
    file_input[0].send_keys(str(pdf))
    wait_for(browser, lambda d: 'Chosen: scan.pdf' in d.page_source)
    browser.find_element(By.XPATH, '//button[contains(normalize-space(), "Save document")]').click()
    frame = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'iframe[src^="/staff/files/document/"]'))[0]
    wait_for(browser, lambda d: 'Document saved.' in d.page_source)  # the notice came along to the new page
    src = frame.get_attribute('src')
    # the browser itself (with its session cookie) gets the PDF from the route the iframe shows
    answer = browser.execute_async_script(
        'const done = arguments[arguments.length - 1];'
        'fetch(arguments[0]).then(r => done([r.status, r.headers.get("content-type"), r.headers.get("cache-control"),'
        ' r.headers.get("content-disposition")]));', src)
    assert answer[0] == 200 and answer[1] == 'application/pdf' and answer[2] == 'no-store'
    assert answer[3].startswith('inline;')
    assert frame.size['height'] > 300 and frame.is_displayed()
    # without the session the same address refuses (401: sign in first)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(src, timeout=5)
    assert refused.value.code == 401
