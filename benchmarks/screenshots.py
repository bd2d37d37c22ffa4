"""Take the README's screenshots: start the portal with the demo clinic and photograph its pages.

    .venv/bin/python benchmarks/screenshots.py     (needs Debian's chromium and chromium-driver)

Writes PNG files to docs/screenshots/. The portal listens on 127.0.0.1 only.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / 'docs' / 'screenshots'


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix='smp-shots-'))
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    url = f'http://127.0.0.1:{port}'
    env = dict(os.environ, SMP_DATA_DIR=str(data), SMP_PORT=str(port), SMP_BASE_URL=url, SMP_LOG_LEVEL='WARNING',
               NICEGUI_STORAGE_PATH=str(data / 'storage'))
    demo = subprocess.run([sys.executable, 'main.py', 'demo'], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    print(demo.stdout)
    server = subprocess.Popen([sys.executable, 'main.py'], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + '/login', timeout=2)
                break
            except Exception:
                time.sleep(0.3)
        driver = _driver(data, width=1280, height=860)
        OUT.mkdir(parents=True, exist_ok=True)
        shoot(driver, url + '/login', 'sign-in.png')
        staff = re.search(r'Staff sign-in:\s+(\S+)', demo.stdout)
        contact = re.search(r'Contact sign-in:\s+(\S+)', demo.stdout)
        password = re.search(r'Password \(both\):\s+(\S+)', demo.stdout).group(1)
        if contact:
            sign_in(driver, url, contact.group(1), password)
            shoot(driver, url + '/', 'portal-main-screen.png')
            links = driver.find_elements(By.CSS_SELECTOR, 'a[href^="/message/"]')
            if links:
                shoot(driver, links[0].get_attribute('href'), 'document-viewer.png')
            phone = _driver(data, width=390, height=844, profile='phone')
            sign_in(phone, url, contact.group(1), password)
            shoot(phone, url + '/', 'portal-main-screen-phone.png')
            phone.quit()
            driver.delete_all_cookies()
        if staff:
            sign_in(driver, url, staff.group(1), password)
            shoot(driver, url + '/staff', 'staff-charts.png')
            shoot(driver, url + '/staff/worklist', 'staff-worklist.png')
            driver.get(url + '/staff/contacts')
            time.sleep(1)
            charts = driver.find_elements(By.CSS_SELECTOR, 'a[href^="/staff/contacts/"]')
            if charts:  # the whole chart, down to the contact's replies and emails
                shoot(driver, charts[0].get_attribute('href'), 'staff-contact-chart.png', full_page=True)
        driver.quit()
    finally:
        server.terminate()
        server.wait(10)


def _driver(data: Path, *, width: int, height: int, profile: str = 'desktop') -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = '/usr/bin/chromium'
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars',
                 f'--user-data-dir={data / ("chromium-" + profile)}', f'--window-size={width},{height}'):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service('/usr/bin/chromedriver'), options=options)


def sign_in(driver: webdriver.Chrome, url: str, username: str, password: str) -> None:
    driver.get(url + '/login')
    time.sleep(1.5)
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(username)
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(password)
    driver.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    time.sleep(2.5)


def shoot(driver: webdriver.Chrome, url: str, name: str, *, full_page: bool = False) -> None:
    driver.get(url)
    time.sleep(2.5)
    driver.execute_script('document.activeElement && document.activeElement.blur()')  # no focus ring in the picture
    size = driver.get_window_size()
    if full_page:
        height = driver.execute_script('return document.documentElement.scrollHeight')
        driver.set_window_size(size['width'], min(height + 100, 3000))
        time.sleep(0.5)
    driver.save_screenshot(str(OUT / name))
    driver.set_window_size(size['width'], size['height'])
    print('wrote', OUT / name)


if __name__ == '__main__':
    main()
