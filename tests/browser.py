"""Real-browser fixtures: the portal as a subprocess on 127.0.0.1 and headless Chromium driving it.

Use them in test modules marked `pytestmark = pytest.mark.browser`:

    def test_x(portal_server, browser): browser.get(portal_server.url + '/login') ...

The test process shares the server's SQLite database (WAL), so `portal_server.seed(fn)` creates records.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services import config, db

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PortalServer:
    url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen
    log_file: object = None

    def seed(self, fn, **kwargs):
        """Run `fn(session=..., **kwargs)` against the server's database."""
        return db.run(fn, **kwargs)

    def log(self) -> str:
        return (self.data_dir / 'server.log').read_text(errors='replace')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start_portal(data_dir: Path, environ: dict[str, str], *, host_name: str = '127.0.0.1') -> PortalServer:
    """Start main.py on a free loopback port with `data_dir`; return once it answers.

    `host_name='localhost'` makes SMP_BASE_URL (and `url`) http://localhost:PORT, a name WebAuthn accepts as a
    relying party (an IP address is not one); the server still listens on 127.0.0.1 only.
    """
    port = _free_port()
    url = f'http://{host_name}:{port}'
    # the scheduler runs in the server so emails are delivered as in production
    # settings seeded by the test process must reach the server at once (no 5 s cache)
    env = dict(environ, SMP_PORT=str(port), SMP_BASE_URL=url, SMP_DATA_DIR=str(data_dir),
               DATABASE_URL=environ.get('DATABASE_URL', f'sqlite:///{data_dir / "portal.db"}'),
               SMP_SCHEDULER='true', SMP_LOG_LEVEL='WARNING', PYTHONUNBUFFERED='1', SMP_SETTINGS_CACHE_SECONDS='0',
               NICEGUI_STORAGE_PATH=str(data_dir / 'nicegui-storage'))
    for key in [k for k in env if k.startswith('PYTEST') or k == 'NICEGUI_USER_SIMULATION']:
        env.pop(key)  # NiceGUI treats a process with these as a test run
    log = open(data_dir / 'server.log', 'w')
    process = subprocess.Popen([sys.executable, str(ROOT / 'main.py')], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    server = PortalServer(url=url, data_dir=data_dir, env=env, process=process)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/login', timeout=2)
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f'portal did not start:\n{server.log()}')
            time.sleep(0.2)
    server.log_file = log
    return server


def stop_portal(server: PortalServer, *, explain: bool = False) -> None:
    """Stop the portal; `explain` (the test failed) prints the end of its log into the failure report."""
    if explain:
        print(f'--- the end of the portal\'s log ({server.data_dir / "server.log"}):\n{server.log()[-6000:]}')
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
    server.log_file.close()


@pytest.fixture
def portal_server(portal_env: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> PortalServer:
    """Start main.py on a free loopback port with this test's data directory; stop it afterwards."""
    server = start_portal(portal_env, dict(os.environ))
    monkeypatch.setenv('SMP_PORT', server.env['SMP_PORT'])
    monkeypatch.setenv('SMP_BASE_URL', server.url)
    config.reload_config()
    db.init(config.get_config().resolved_database_url)
    yield server
    stop_portal(server, explain=getattr(request.node, 'failed_call', False))


@pytest.fixture(scope='module')
def module_portal(tmp_path_factory: pytest.TempPathFactory) -> PortalServer:
    """One portal for a whole test module (browser tests whose data do not collide): start once, share."""
    data_dir = tmp_path_factory.mktemp('module-portal')
    environ = {k: v for k, v in os.environ.items() if not k.startswith('SMP_SMTP_')}
    environ.update(SMP_ARGON2_MEMORY_KIB='256', SMP_ARGON2_TIME_COST='1')
    environ.pop('DATABASE_URL', None)
    server = start_portal(data_dir, environ)
    yield server
    stop_portal(server)


@pytest.fixture
def shared_portal(module_portal: PortalServer, monkeypatch: pytest.MonkeyPatch) -> PortalServer:
    """The module's portal, with this test process pointed at its database and data directory for seeding."""
    for key in ('SMP_DATA_DIR', 'DATABASE_URL', 'SMP_BASE_URL', 'SMP_PORT'):
        monkeypatch.setenv(key, module_portal.env[key])
    config.reload_config()
    db.init(module_portal.env['DATABASE_URL'])
    return module_portal


@pytest.fixture
def browser(tmp_path: Path):
    """Headless Debian Chromium through chromedriver (selenium)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    driver_path = shutil.which('chromedriver')
    if not chromium or not driver_path:
        if os.environ.get('CI'):
            pytest.fail('chromium and chromium-driver must be installed in CI')
        pytest.skip('chromium/chromedriver not installed')
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync',
                 '--no-first-run', '--disable-quic', f'--user-data-dir={tmp_path / "chromium-profile"}',
                 '--window-size=1280,900'):
        options.add_argument(flag)
    options.add_experimental_option('prefs', {'download.default_directory': str(tmp_path / 'downloads'),
                                              'plugins.always_open_pdf_externally': False})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(0)
    plain_get = driver.get

    def get_and_wait(url: str) -> None:
        """Open a URL and, on a NiceGUI page, wait for its websocket: clicks before it are lost."""
        plain_get(url)
        wait_for(driver, lambda d: d.execute_script(_PAGE_READY))

    driver.get = get_and_wait
    yield driver
    driver.quit()


_PAGE_READY = ("return document.readyState === 'complete' && "
               "(window.did_handshake === true || !document.getElementById('app'))")


def wait_for(driver, condition, timeout: float = 15.0):
    """Wait until `condition(driver)` is truthy; return its value. An element the page removed while the
    condition looked at it (a menu closing, a list re-rendered) means "not yet": the condition is asked again."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)
    except TimeoutException as error:
        try:  # what the person would see when the wait gave up: the failure says why without a rerun
            seen = f'at {driver.current_url}, the page shows:\n' + driver.find_element('tag name', 'body').text[:3000]
        except WebDriverException as unseen:
            seen = f'(the page could not be read: {unseen.msg})'
        raise TimeoutException(f'waited {timeout:g} s; {seen}') from error


def sign_in_as(driver, url: str, email: str, *, then: Any = None) -> None:
    """Sign in through the real sign-in page (cookies of an earlier person cleared first) and wait for the page
    it leads to (or for `then(driver)`, e.g. a second step)."""
    from selenium.webdriver.common.by import By

    from tests import factories
    driver.delete_all_cookies()
    driver.get(url + '/login')
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(email)
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    click(driver, '//button[normalize-space()="Sign in"]')
    wait_for(driver, then or (lambda d: '/login' not in d.current_url and '/session/' not in d.current_url
                              and d.find_elements(By.CSS_SELECTOR, 'main h1')))


def click(driver, selector: str, by: str = 'xpath') -> None:
    """Click an element once it is there, retrying while Vue re-renders it (a stale reference is no failure)."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        NoSuchElementException,
        StaleElementReferenceException,
    )

    def attempt(d) -> bool:
        try:
            element = d.find_element(by, selector)
            d.execute_script('arguments[0].scrollIntoView({block: "center"})', element)
            element.click()
            return True
        except (StaleElementReferenceException, NoSuchElementException, ElementClickInterceptedException):
            return False
    wait_for(driver, attempt)
