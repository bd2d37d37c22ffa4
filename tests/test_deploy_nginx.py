"""Two portal processes on one PostgreSQL database behind the nginx sample (deploy/nginx.conf: TLS, sticky
sessions by cookie, websockets): a contact and a staff member work through Chromium while the process that
served the contact is restarted."""
from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By

from services import config, db
from tests import factories
from tests.browser import _PAGE_READY, _free_port, click, wait_for

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get('SMP_TEST_POSTGRES_URL')
NGINX = shutil.which('nginx') or next((p for p in ('/usr/sbin/nginx',) if os.path.exists(p)), None)
CONTACT_PASSWORD = 'violet harbour kettle 93'
BODY = 'Cleared for full duty from Monday'


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = folder / 'cert.pem', folder / 'key.pem'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _nginx_config(folder: Path, tls_port: int, http_port: int, backends: list[int]) -> Path:
    """deploy/nginx.conf as shipped, with test ports, a self-signed certificate and paths in `folder`."""
    cert, key = _certificate(folder)
    sample = (ROOT / 'deploy' / 'nginx.conf').read_text()
    replacements = {
        'listen 80;': f'listen 127.0.0.1:{http_port};', 'listen [::]:80;': '',
        'listen 443 ssl http2;': f'listen 127.0.0.1:{tls_port} ssl http2;', 'listen [::]:443 ssl http2;': '',
        'server 127.0.0.1:8081 ': f'server 127.0.0.1:{backends[0]} ', 'server 127.0.0.1:8082 ': f'server 127.0.0.1:{backends[1]} ',
        '/etc/letsencrypt/live/portal.clinic.org/fullchain.pem': str(cert),
        '/etc/letsencrypt/live/portal.clinic.org/privkey.pem': str(key),
    }
    for old, new in replacements.items():
        assert old in sample, f'deploy/nginx.conf no longer has {old!r}'
        sample = sample.replace(old, new)
    (folder / 'smp.conf').write_text(sample)
    temp = ' '.join(f'{kind}_temp_path {folder / kind};' for kind in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'))
    main = folder / 'nginx.conf'
    main.write_text(('user root;\n' if os.geteuid() == 0 else '') +
                    f'pid {folder / "nginx.pid"};\nerror_log {folder / "error.log"} warn;\nevents {{}}\n'
                    f'http {{\n {temp}\n include {folder / "smp.conf"};\n}}\n')
    return main


def _start_portal(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    with open(log_path, 'a') as log:
        return subprocess.Popen([sys.executable, str(ROOT / 'main.py')], cwd=ROOT, env=dict(env, SMP_PORT=str(port)),
                                stdout=log, stderr=subprocess.STDOUT)


def _wait_ready(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(url + '/healthz', timeout=2)
            return
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f'portal did not start:\n{log_path.read_text()}')
            time.sleep(0.3)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def proxied_browser(tmp_path: Path):
    """Headless Chromium that accepts the test certificate (the `browser` fixture, plus that flag)."""
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
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
                 '--ignore-certificate-errors', '--disable-quic', f'--user-data-dir={tmp_path / "chromium-profile"}',
                 '--window-size=1280,900'):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    plain_get = driver.get

    def get_and_wait(url: str) -> None:
        plain_get(url)
        wait_for(driver, lambda d: d.execute_script(_PAGE_READY))

    driver.get = get_and_wait
    yield driver
    driver.quit()


def _seed(session) -> tuple[str, int]:
    staff = factories.account(session, role='staff', email='nurse.proxy@clinic.test')
    chart = factories.chart(session, first='Morgan', last='Proxyton')
    contact = factories.contact(session, email='dr.proxy@outside.test')
    result = factories.share(session, contact_row=contact, sender=staff, chart_row=chart, title='Return to work',
                             body_html=f'<p>{BODY}</p>')
    return result.activation_code, chart.id


def test_two_processes_behind_nginx_survive_a_restart(tmp_path: Path, monkeypatch, proxied_browser) -> None:
    if NGINX is None:
        if os.environ.get('CI'):
            pytest.fail('nginx must be installed in CI (.ci/run installs it)')
        pytest.skip('nginx is not installed (apt-get install nginx): the multi-process deployment is not tested')
    if not PG_URL:
        if os.environ.get('CI'):
            pytest.fail('SMP_TEST_POSTGRES_URL is not set: CI must run the database tests on PostgreSQL')
        pytest.skip('PostgreSQL not available (set SMP_TEST_POSTGRES_URL)')
    browser = proxied_browser
    name = f'smp_proxy_{uuid.uuid4().hex[:12]}'
    admin = sa.create_engine(PG_URL, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE {name}'))
    url_db = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    nginx_dir = tmp_path / 'nginx'
    nginx_dir.mkdir()
    shared = tmp_path / 'shared-data'  # the one data directory every process uses
    backends, tls_port, http_port = [_free_port(), _free_port()], _free_port(), _free_port()
    proxy = f'https://127.0.0.1:{tls_port}'
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(('SMP_', 'PYTEST', 'NICEGUI')) or k == 'DATABASE_URL')}
    env.update(SMP_DATA_DIR=str(shared), DATABASE_URL=url_db, SMP_BASE_URL=proxy, SMP_COOKIE_HTTPS_ONLY='true',
               SMP_ARGON2_MEMORY_KIB='256', SMP_ARGON2_TIME_COST='1', SMP_SETTINGS_CACHE_SECONDS='0',
               SMP_LOG_LEVEL='INFO', PYTHONUNBUFFERED='1')
    logs = [tmp_path / 'portal-a.log', tmp_path / 'portal-b.log']
    processes = [_start_portal(env, port, log) for port, log in zip(backends, logs)]  # at once, empty database
    nginx = None
    try:
        for port, process, log in zip(backends, processes, logs):
            _wait_ready(f'http://127.0.0.1:{port}', process, log)
        nginx = subprocess.Popen([NGINX, '-c', str(_nginx_config(nginx_dir, tls_port, http_port, backends)),
                                  '-p', str(nginx_dir), '-g', 'daemon off;'], stderr=subprocess.PIPE)
        monkeypatch.setenv('DATABASE_URL', url_db)
        monkeypatch.setenv('SMP_DATA_DIR', str(shared))
        config.reload_config()
        db.init(url_db)
        code, chart_id = db.run(_seed)

        # the contact activates through the proxy and reaches the main screen
        browser.get(f'{proxy}/activate?code={code}')
        wait_for(browser, lambda d: 'Who is this activation code for?' in d.page_source)
        route = browser.get_cookie('smp_route')
        assert route and route['secure'] and route['httpOnly']  # sticky by the proxy's own cookie
        click(browser, '//button[normalize-space()="NEXT"]')
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=email]'))
        browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=email]').send_keys('dr.proxy@outside.test')
        click(browser, '//button[normalize-space()="NEXT"]')
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=new-password]')) == 2)
        for field in browser.find_elements(By.CSS_SELECTOR, 'input[autocomplete=new-password]'):
            field.send_keys(CONTACT_PASSWORD)
        wait_for(browser, lambda d: 'Strength:' in d.page_source)
        click(browser, '//button[normalize-space()="CREATE ACCOUNT"]')
        wait_for(browser, lambda d: 'Secure messages' in d.page_source)

        # every step of the wizard went to one process (sticky); restart that one
        served = [i for i, log in enumerate(logs) if '"GET /activate?code=[redacted] HTTP' in log.read_text()]
        assert len(served) == 1, 'the contact was not kept on one process'
        a = served[0]
        _stop(processes[a])
        # while it is down, the contact goes on through the other process, still signed in
        browser.get(proxy + '/')
        wait_for(browser, lambda d: 'Secure messages' in d.page_source, timeout=30)
        click(browser, '//a[starts-with(@href, "/message/")]')
        wait_for(browser, lambda d: BODY in d.page_source, timeout=30)
        processes[a] = _start_portal(env, backends[a], logs[a])
        _wait_ready(f'http://127.0.0.1:{backends[a]}', processes[a], logs[a])

        # a staff member signs in through the proxy and opens the chart
        browser.delete_all_cookies()
        browser.get(proxy + '/login')
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
        browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys('nurse.proxy@clinic.test')
        browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
        click(browser, '//button[normalize-space()="Sign in"]')
        wait_for(browser, lambda d: 'Clinic workspace' in d.page_source, timeout=30)
        browser.get(f'{proxy}/staff/chart/{chart_id}')
        wait_for(browser, lambda d: 'Proxyton' in d.page_source and 'Return to work' in d.page_source, timeout=30)
        for log in logs:
            assert 'Traceback' not in log.read_text(), log.read_text()
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        for process in processes:
            _stop(process)
        db.engine().dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
        admin.dispose()
