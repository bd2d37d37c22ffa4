"""Huge uploads are refused before the portal reads them: a 200 MB body posted straight at every upload route
leaves the server's memory where it was."""
from __future__ import annotations

import http.client
import re
import urllib.parse

import pytest
from selenium.webdriver.common.by import By

from tests import portal_data
from tests.browser import wait_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

TOTAL = 200 * 1024 * 1024
CHUNK = b'x' * (1024 * 1024)
PART_HEAD = (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
             b'Content-Type: application/pdf\r\n\r\n%PDF-1.4\n')
UPLOAD_URL = re.compile(r'/_nicegui/client/[0-9a-f-]+/upload/\d+')


def _rss_mib(pid: int) -> float:
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
    raise AssertionError('no VmRSS')


def _post(base: str, path: str, cookie: str, *, declare_length: bool) -> int | None:
    """POST 200 MB to `path`; the status the server answered (None when it closed the connection mid-body)."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.putrequest('POST', path)
    connection.putheader('Cookie', cookie)
    connection.putheader('Content-Type', 'multipart/form-data; boundary=xyz')
    if declare_length:
        connection.putheader('Content-Length', str(TOTAL))
    else:
        connection.putheader('Transfer-Encoding', 'chunked')
    connection.endheaders()
    try:
        for n in range(TOTAL // len(CHUNK)):
            piece = (PART_HEAD if n == 0 else b'') + CHUNK
            connection.send(piece if declare_length else b'%x\r\n' % len(piece) + piece + b'\r\n')
        if not declare_length:
            connection.send(b'0\r\n\r\n')
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        return connection.getresponse().status
    except (http.client.HTTPException, ConnectionError):
        return None
    finally:
        connection.close()


UPLOAD_URLS = '''
return Object.values(mounted_app.elements).map(e => e.props && e.props.url).filter(Boolean);
'''


def _upload_paths(browser) -> list[str]:
    """The upload addresses of the uploaders on the page (from NiceGUI's element store: elements that arrived
    over the websocket are not in the HTML)."""
    return sorted({path for path in browser.execute_script(UPLOAD_URLS) if UPLOAD_URL.fullmatch(path)})


def test_the_reply_upload_refuses_200_mb_without_reading_it(portal_server, browser) -> None:
    casey = portal_server.seed(portal_data.person, email='casey@outside.test', shares=1)
    portal_server.seed(portal_data.enable, replies_enabled=True)
    browser.get(portal_server.url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(casey.email)
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: 'LOGOUT' in d.page_source)
    browser.get(f'{portal_server.url}/message/{casey.share_ids[0]}')
    wait_for(browser, lambda d: _upload_paths(d))
    cookie = '; '.join(f'{c["name"]}={c["value"]}' for c in browser.get_cookies())
    pid = portal_server.process.pid
    before = _rss_mib(pid)
    for path in _upload_paths(browser):
        for declare_length in (True, False):
            status = _post(portal_server.url, path, cookie, declare_length=declare_length)
            assert status in (413, None), (path, declare_length, status)
    assert _rss_mib(pid) - before < 20
    # the page still works afterwards
    assert browser.find_elements(By.XPATH, '//button[contains(., "Send reply")]')
