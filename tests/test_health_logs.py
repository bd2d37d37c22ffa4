"""The process log of a real browser run (staff and contact, at INFO) holds no secret, code or patient string,
and every request line carries a request id."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from sqlmodel import select

from models import AuditEvent

from services import activation, config, db
from tests import factories
from tests.browser import _free_port, click, wait_for

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
CONTACT_PASSWORD = 'violet harbour kettle 93'
WRONG_PASSWORD = 'wrong-horse-battery-77'
PATIENT = ('Zebulon', 'Quartermaine')
TITLE = 'Tibial plateau fracture'
BODY = 'Marrow edema along the medial condyle'


def _start(data: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(('SMP_', 'PYTEST', 'NICEGUI')) or k == 'DATABASE_URL')}
    env.update(SMP_DATA_DIR=str(data), SMP_PORT=str(port), SMP_BASE_URL=f'http://127.0.0.1:{port}',
               SMP_LOG_LEVEL='INFO', SMP_SETTINGS_CACHE_SECONDS='0', SMP_ARGON2_MEMORY_KIB='256',
               SMP_ARGON2_TIME_COST='1', PYTHONUNBUFFERED='1')
    with open(data.parent / 'server.log', 'w') as log:
        process = subprocess.Popen([sys.executable, str(ROOT / 'main.py')], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)
            return process
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail('portal did not start:\n' + (data.parent / 'server.log').read_text())
            time.sleep(0.2)


def _seed(session) -> tuple[str, int]:
    staff = factories.account(session, role='staff', email='nurse.logs@clinic.test')
    chart = factories.chart(session, first=PATIENT[0], last=PATIENT[1])
    contact = factories.contact(session, email='dr.whitlock@outside.test', first='Rowena', last='Whitlock')
    result = factories.share(session, contact_row=contact, sender=staff, chart_row=chart, title=TITLE,
                             body_html=f'<p>{BODY}</p>')
    return result.activation_code, chart.id


def _failed_sign_ins(session) -> int:
    return len(session.exec(select(AuditEvent).where(AuditEvent.action == 'sign_in_failed')).all())


def test_a_browser_run_leaves_no_secret_or_patient_string_in_the_log(tmp_path: Path, monkeypatch, browser) -> None:
    data = tmp_path / 'portal-data'
    data.mkdir()
    port = _free_port()
    url = f'http://127.0.0.1:{port}'
    process = _start(data, port)
    try:
        monkeypatch.setenv('SMP_DATA_DIR', str(data))
        monkeypatch.setenv('DATABASE_URL', f'sqlite:///{data / "portal.db"}')
        config.reload_config()
        db.init(f'sqlite:///{data / "portal.db"}')
        code, chart_id = db.run(_seed)

        # staff: one wrong password, then sign in and open the chart
        for password in (WRONG_PASSWORD, factories.PASSWORD):
            browser.get(url + '/login')
            field = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))[0]
            field.send_keys('nurse.logs@clinic.test')
            browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(password)
            browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
            if password == WRONG_PASSWORD:
                wait_for(browser, lambda d: db.run(_failed_sign_ins))
        wait_for(browser, lambda d: 'Clinic workspace' in d.page_source)
        staff_cookie = browser.get_cookie('smp_session')['value']
        browser.get(f'{url}/staff/chart/{chart_id}')
        wait_for(browser, lambda d: PATIENT[1] in d.page_source and TITLE in d.page_source)

        # the contact: the invitation link, a new account, the document
        browser.delete_all_cookies()
        browser.get(f'{url}/activate?code={code}')
        wait_for(browser, lambda d: 'Who is this activation code for?' in d.page_source)
        click(browser, '//button[normalize-space()="NEXT"]')
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=email]'))
        browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=email]').send_keys('dr.whitlock@outside.test')
        click(browser, '//button[normalize-space()="NEXT"]')
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=new-password]')) == 2)
        for field in browser.find_elements(By.CSS_SELECTOR, 'input[autocomplete=new-password]'):
            field.send_keys(CONTACT_PASSWORD)
        wait_for(browser, lambda d: 'Strength:' in d.page_source)
        click(browser, '//button[normalize-space()="CREATE ACCOUNT"]')
        wait_for(browser, lambda d: 'Secure messages' in d.page_source)
        click(browser, '//a[starts-with(@href, "/message/")]')
        wait_for(browser, lambda d: BODY in d.page_source)
        contact_cookie = browser.get_cookie('smp_session')['value']
    finally:
        process.terminate()
        process.wait(timeout=20)
        db.engine().dispose()

    log = (tmp_path / 'server.log').read_text(errors='replace')
    assert 'Traceback' not in log
    secrets_found = {path.name: path.read_text().strip() for path in (data / 'secrets').iterdir() if path.is_file()}
    forbidden = {
        'activation code': code, 'normalized code': activation.normalize_code(code),
        'code without separators': re.sub(r'[^0-9A-Za-z]', '', code),
        'staff password': factories.PASSWORD, 'contact password': CONTACT_PASSWORD, 'wrong password': WRONG_PASSWORD,
        'patient first name': PATIENT[0], 'patient last name': PATIENT[1], 'document title': TITLE,
        'document text': BODY, 'contact email': 'dr.whitlock@outside.test', 'contact name': 'Whitlock',
        'staff email': 'nurse.logs@clinic.test', 'staff session': staff_cookie, 'contact session': contact_cookie,
        **{f'secret file {name}': value for name, value in secrets_found.items()},
    }
    for what, value in forbidden.items():
        assert value and value.lower() not in log.lower(), f'{what} is in the log'
    # the one-time setup link is printed on the console on purpose, and nowhere else
    token = re.search(r'/setup\?token=(\S+)', log).group(1)
    assert log.count(token) == 1
    # every request line carries its request id, and the run was logged at all
    lines = [line for line in log.splitlines() if ' smp.access: ' in line]
    assert any('/activate?code=[redacted]' in line for line in lines)
    assert len(lines) > 5 and all(re.search(r' INFO \[[0-9a-f]{12}\] smp\.access: ', line) for line in lines)
