"""Opening a page changes nothing by itself: a plain GET (a prefetcher, a scanner) and a link on another site
neither mark a message read nor write an audit row; the person's own click on the page does."""
from __future__ import annotations

import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from sqlmodel import select

from models import AuditEvent, Share
from services import db
from tests import portal_data
from tests.browser import click, wait_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _viewed(share_id: int) -> tuple[bool, int]:
    def read(session):
        share = session.get(Share, share_id)
        views = session.exec(select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == 'document_viewed')).one()
        return share.first_read_at is not None, views
    return db.run(read)


def _sign_in(browser, url: str, email: str) -> None:
    browser.get(url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(email)
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: 'LOGOUT' in d.page_source)


@pytest.fixture
def other_site():
    """A page on another site (127.0.0.2, loopback) that links into the portal: `other_site(target_url)`."""
    target: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = f'<html><body><a id="go" href="{target["url"]}">a harmless link</a></body></html>'.encode()
            self.send_response(200)
            self.send_header('Content-Type', 'text/html')
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(('127.0.0.2', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def link_to(url: str) -> str:
        target['url'] = url
        return f'http://127.0.0.2:{server.server_port}/'
    yield link_to
    server.shutdown()


VIEWS = pytest.mark.parametrize('suffix', ['', '/print'], ids=['viewer', 'print view'])


@VIEWS
def test_a_plain_get_of_the_viewer_changes_nothing(portal_server, browser, suffix: str) -> None:
    casey = portal_server.seed(portal_data.person, email='casey@outside.test', shares=1)
    _sign_in(browser, portal_server.url, casey.email)
    cookie = '; '.join(f'{c["name"]}={c["value"]}' for c in browser.get_cookies())
    request = urllib.request.Request(f'{portal_server.url}/message/{casey.share_ids[0]}{suffix}',
                                     headers={'Cookie': cookie})
    assert urllib.request.urlopen(request, timeout=10).status == 200
    assert _viewed(casey.share_ids[0]) == (False, 0)


@VIEWS
def test_a_link_from_another_site_asks_before_opening(portal_server, browser, other_site, suffix: str) -> None:
    casey = portal_server.seed(portal_data.person, email='casey@outside.test', shares=1)
    _sign_in(browser, portal_server.url, casey.email)
    browser.get(other_site(f'{portal_server.url}/message/{casey.share_ids[0]}{suffix}'))
    browser.find_element(By.ID, 'go').click()
    show = '//button[contains(., "Show the message")]'
    wait_for(browser, lambda d: d.execute_script('return window.did_handshake === true') and
             d.find_elements(By.XPATH, show))
    assert 'Fit for light duty.' not in browser.page_source
    assert _viewed(casey.share_ids[0]) == (False, 0)
    click(browser, show)
    wait_for(browser, lambda d: 'Fit for light duty.' in d.page_source)
    assert _viewed(casey.share_ids[0]) == (True, 1)


def test_opening_from_the_list_marks_read_once_the_browser_is_connected(portal_server, browser) -> None:
    casey = portal_server.seed(portal_data.person, email='casey@outside.test', shares=1)
    _sign_in(browser, portal_server.url, casey.email)
    click(browser, f'//a[@href="/message/{casey.share_ids[0]}"]')
    wait_for(browser, lambda d: 'Fit for light duty.' in d.page_source)
    assert _viewed(casey.share_ids[0]) == (True, 1)
