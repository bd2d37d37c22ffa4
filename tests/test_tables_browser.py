"""A real browser: every staff and admin table shows its rows and the true row count from its first picture.

Each page is loaded 10 times; every time, each visible table's pager must read "1-N of TOTAL" for the N rows it
shows (never "1-0 of 0" under visible rows), "No data available" must never show, and once per page the next
page must be reachable.
"""
from __future__ import annotations

import re

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By

from models import Registration, Reply
from services import db, outbox
from tests import factories
from tests.browser import wait_for

pytestmark = pytest.mark.browser
LOADS = 10
ADMIN = 'tables-admin@clinic.test'
# the arguments[0]-th visible table: its pager's text, its body rows, whether Quasar's empty message shows
TABLES = '''
const tables = [...document.querySelectorAll('.q-table__container')].filter(e => e.offsetParent !== null);
return tables.map(t => {
  const bottom = t.querySelector('.q-table__bottom');
  const label = bottom ? bottom.innerText.replace(/\\s+/g, ' ').trim() : '';
  const pager = label.match(/\\d+-\\d+ of \\d+/);
  return {pager: pager ? pager[0] : label, rows: t.querySelectorAll('tbody tr').length,
          empty: !!t.querySelector('.q-table__bottom--nodata')};
});
'''
NEXT_PAGE = '''
const t = [...document.querySelectorAll('.q-table__container')].filter(e => e.offsetParent !== null)[0];
[...t.querySelectorAll('.q-table__bottom button')].find(b => b.innerText.includes('chevron_right')).click();
'''


def _seed(session) -> dict[str, int]:
    admin = factories.account(session, role='admin', email=ADMIN, name='Table Admin')
    for _ in range(26):
        factories.account(session, role='staff')
    for n in range(27):
        factories.chart(session, first=f'Paged{n:02d}', last='Lister')
    chart = factories.chart(session, first='Many', last='Documents')
    contact = factories.contact(session, first='Many', last='Received')
    reader = factories.contact_account(session, contact)
    for n in range(26):
        factories.contact(session, first=f'Listed{n:02d}')
    for n in range(27):
        result = factories.share(session, contact_row=contact, sender=admin, chart_row=chart, title=f'Report {n:02d}')
        session.add(Reply(share_id=result.share_id, account_id=reader.id, author_name='Many Received',
                          body=f'Reply number {n}'))
        outbox.enqueue(session, kind='reminder_to_review', to=contact.email, context={'document_count': 1, 'sign_in_url': 'http://x/login'},
                       contact_id=contact.id)
        session.add(Registration(reference=f'R-PAGED{n:02d}', answers_json='{"first_name": "Reg", "last_name": "X"}'))
    session.flush()
    return {'chart': chart.id, 'contact': contact.id}


def _sign_in(browser, url: str) -> None:
    browser.delete_all_cookies()
    browser.get(url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(ADMIN)
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: '/login' not in d.current_url and '/session/' not in d.current_url)


def _check(browser, where: str, load: int, expect: list[int | None]) -> list[str]:
    """Problems with the visible tables; `expect` holds each table's total (None: more than one page)."""
    problems = []
    tables = browser.execute_script(TABLES)
    if len(tables) != len(expect):
        return [f'{where} load {load}: {len(tables)} tables shown, {len(expect)} expected']
    for index, (table, total) in enumerate(zip(tables, expect, strict=True)):
        rows, pager = table['rows'], table['pager']
        if 'No data available' in pager or table['empty'] != (total == 0):
            problems.append(f'{where} load {load} table {index}: {pager!r} under {rows} rows')
            continue
        if total == 0:
            continue
        shown = re.fullmatch(r'1-(\d+) of (\d+)', pager)
        if shown is None or int(shown[1]) != rows or (int(shown[2]) != total if total is not None
                                                      else int(shown[2]) <= rows):
            problems.append(f'{where} load {load} table {index}: pager {pager!r} under {rows} rows '
                            f'(expected a total of {total or "more than one page"})')
    return problems


PAGES = {  # page → the totals of its visible tables, top to bottom
    'charts': ('/staff', [28, 0]),  # and "sent by me, not yet read": nothing is that old
    'chart documents': ('/staff/chart/{chart}', [27]),
    'contacts': ('/staff/contacts', [27]),
    'contact chart': ('/staff/contacts/{contact}', [27, 27, None]),  # received documents, replies, emails
    'worklist': ('/staff/worklist', [27]),
    'registrations': ('/staff/registrations', [27]),
    'admin accounts': ('/admin/accounts', [27]),
    'audit log': ('/admin/audit', [None, 0]),  # and the access reports' table, empty until one is run
    'outbox': ('/admin/outbox', [None]),
}


def test_each_table_shows_its_count_on_every_load(shared_portal, browser) -> None:
    with db.transaction() as session:
        seeded = _seed(session)
    _sign_in(browser, shared_portal.url)
    problems = []
    for name, (path, expect) in PAGES.items():
        url = shared_portal.url + path.format(**seeded)
        for load in range(1, LOADS + 1):
            browser.get(url)  # returns once the page's websocket is connected
            problems += _check(browser, name, load, expect)
        # the page settles (Quasar's mount-time pagination echo reaches the server and any answer comes back)
        browser.execute_async_script('const done = arguments[arguments.length - 1]; setTimeout(done, 300);')
        problems += _check(browser, f'{name} (settled)', LOADS, expect)
        # the next page of the first table can be reached
        first = browser.execute_script(TABLES)[0]
        browser.execute_script(NEXT_PAGE)
        try:
            wait_for(browser, lambda d: d.execute_script(TABLES)[0]['pager'].startswith(f'{first["rows"] + 1}-'),
                     timeout=5)
        except TimeoutException:
            problems.append(f'{name}: page 2 did not open ({browser.execute_script(TABLES)[0]["pager"]!r})')
    assert not problems, '\n'.join(problems)
