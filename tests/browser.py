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

import pytest

from services import config, db

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PortalServer:
    url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen

    def seed(self, fn, **kwargs):
        """Run `fn(session=..., **kwargs)` against the server's database."""
        return db.run(fn, **kwargs)

    def log(self) -> str:
        return (self.data_dir / 'server.log').read_text(errors='replace')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def portal_server(portal_env: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> PortalServer:
    """Start main.py on a free loopback port with this test's data directory; stop it afterwards."""
    port = _free_port()
    url = f'http://127.0.0.1:{port}'
    monkeypatch.setenv('SMP_PORT', str(port))
    monkeypatch.setenv('SMP_BASE_URL', url)
    # the scheduler runs in the server so emails are delivered as in production
    # settings seeded by the test process must reach the server at once (no 5 s cache)
    env = dict(os.environ, SMP_SCHEDULER='true', SMP_LOG_LEVEL='WARNING', PYTHONUNBUFFERED='1',
               SMP_SETTINGS_CACHE_SECONDS='0')
    for key in [k for k in env if k.startswith('PYTEST') or k == 'NICEGUI_USER_SIMULATION']:
        env.pop(key)  # NiceGUI treats a process with these as a test run
    env['NICEGUI_STORAGE_PATH'] = str(portal_env / 'nicegui-storage')
    log = open(portal_env / 'server.log', 'w')
    process = subprocess.Popen([sys.executable, str(ROOT / 'main.py')], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = PortalServer(url=url, data_dir=portal_env, env=env, process=process)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + '/login', timeout=2)
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f'portal did not start:\n{server.log()}')
            time.sleep(0.2)
    config.reload_config()
    db.init(config.get_config().resolved_database_url)
    yield server
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


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
    """Wait until `condition(driver)` is truthy; return its value."""
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(condition)
