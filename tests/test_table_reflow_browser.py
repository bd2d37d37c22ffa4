"""A real browser at phone widths (320 px, 400 % zoom of 1280 px, and 360 px): every staff and admin table shows
only its key columns (pages/tables.py `col(..., key=True)`), nothing scrolls sideways (neither the page nor a table),
and the key columns' text of each table's first row is on screen.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from sqlmodel import select

from models import Account, Reply, Share
from services import api_clients, clock, contacts, db, outbox, registration, settings, webhooks
from tests import factories
from tests.browser import wait_for

pytestmark = pytest.mark.browser
WIDTHS = (320, 360)
ADMIN = 'reflow-admin@clinic.test'
# long words that do not break by themselves: a table must still fit
LONG_EMAIL = 'a.really-long-address-for-a-phone-screen@occupational-health.example'
# every visible table: the headers shown, whether it or the page scrolls sideways, and its first row's shown cells
TABLES = '''
const width = window.innerWidth;
const shown = (e) => e.offsetParent !== null && getComputedStyle(e).display !== 'none';
const tables = [...document.querySelectorAll('main .q-table__container')].filter(shown);
return {page: document.documentElement.scrollWidth, width: width, tables: tables.map((t) => {
  const middle = t.querySelector('.q-table__middle');
  const row = t.querySelector('tbody tr');
  const cells = row ? [...row.children].filter(shown) : [];
  return {
    headers: [...t.querySelectorAll('thead th')].filter(shown)
      .filter((th) => !th.classList.contains('q-table--col-auto-width')).map((th) => th.innerText.trim()),
    sideways: middle ? middle.scrollWidth - middle.clientWidth : 0,
    right: Math.round(t.getBoundingClientRect().right),
    cells: cells.filter((c) => !c.classList.contains('q-table--col-auto-width')).map((c) => {
      const box = c.getBoundingClientRect();
      return {text: c.innerText.trim(), left: Math.round(box.left), right: Math.round(box.right),
              controls: c.querySelectorAll('a[href], button').length};
    }),
    checkbox: cells.some((c) => c.querySelector('[role=checkbox][aria-label]')),
  };
})};
'''
EMPTY = {('audit log', 1), ('API clients and webhooks', 2)}  # (page, table): no rows (no report run, no delivery)
ANSWERS = {  # a submitted registration (the staff queue shows it)
    'person': {'first_name': 'Robin', 'last_name': 'Quill', 'date_of_birth': '1990-04-02', 'sex': 'Female'},
    'contact_details': {'phone': '+1 555 123 4567', 'email': 'robin@example.test', 'address': '1 Main St'},
    'employment': {'employer': 'Acme', 'employee_id': 'E-77'},
    'registration': {'reason': 'Pre-employment exam'},
    'submitter': {'submitter_name': 'Casey Case', 'submitter_phone': '555 987 6543'},
}
PAGES = {  # page → the key headers of each visible table, top to bottom
    'charts': ('/staff', [['Name', 'Status'], ['Document', 'Days waiting']]),
    'chart documents': ('/staff/chart/{chart}', [['Type', 'Title']]),
    'document and send history': ('/staff/document/{document}', [['Recipient', 'State', '']]),
    'chart access report': ('/staff/chart/{chart}/access-report', [['When', 'Who', 'What']]),
    'document access report': ('/staff/document/{document}/access-report', [['When', 'Who', 'What']]),
    'contacts': ('/staff/contacts', [['Name', 'Portal account']]),
    'contact chart': ('/staff/contacts/{contact}', [['Subject', 'State', ''], ['Reply', 'Status'],
                                                    ['Expires', 'State'], ['Subject', 'Status']]),
    'worklist': ('/staff/worklist', [['Contact', 'Reply', 'Status']]),
    'registrations': ('/staff/registrations', [['Name', 'Status']]),
    'admin accounts': ('/admin/accounts', [['Name', 'Status']]),
    'audit log': ('/admin/audit', [['When (UTC)', 'Account', 'Action'], ['Account', 'Action', 'Times']]),
    'outbox': ('/admin/outbox', [['Kind', 'Status']]),
    'API clients and webhooks': ('/admin/api', [['Name', 'State'], ['URL', 'Active'], ['Event', 'Status']]),
}


def _seed(session) -> dict[str, int]:
    admin = factories.account(session, role='admin', email=ADMIN, name='Reflow Admin')
    actor = factories.actor_for(session, admin)
    chart = factories.chart(session, first='Bartholomew-Alexander', last='Vandenberghe-Montgomery')
    contact = factories.contact(session, first='Maximiliana', last='Featherstonehaugh', email=LONG_EMAIL)
    reader = factories.contact_account(session, contact)
    result = factories.share(session, contact_row=contact, sender=admin, chart_row=chart,
                             title='Fitness-for-duty evaluation after musculoskeletal injury')
    share = session.get(Share, result.share_id)
    share.sent_at = clock.now() - timedelta(days=10)  # "sent by me, not yet read after 3 days" lists it
    session.add(share)
    session.add(Reply(share_id=share.id, account_id=reader.id, author_name='Maximiliana Featherstonehaugh',
                      body='Acknowledged: the restrictions-and-accommodations letter reached our department.'))
    outbox.enqueue(session, kind='reminder_to_review', to=contact.email,
                   context={'document_count': 1, 'sign_in_url': 'http://x/login'}, contact_id=contact.id)
    contacts.send_new_code(session, actor=actor, contact_id=contact.id)
    settings.set_value(session, 'registration_enabled', True)
    settings.invalidate_cache()
    token = registration.start(session, actor=factories.actor_for(session, reader))
    for key, answers in ANSWERS.items():
        registration.save_section(session, token=token, section_key=key, answers=answers)
    registration.submit(session, token=token)
    api_clients.create_client(session, actor=actor, name='Electronic-health-record-integration',
                              scopes=['charts:write'])
    webhooks.create_webhook(session, actor=actor, url='https://93.184.215.14/hooks/secure-message-portal',  # a public address: no DNS here
                            events=['reply.received'])
    session.flush()
    return {'chart': chart.id, 'contact': contact.id, 'document': share.source_document_id}


def _sign_in(browser, url: str) -> None:
    browser.delete_all_cookies()
    browser.get(url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(ADMIN)
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: '/login' not in d.current_url and '/session/' not in d.current_url)


def _filled(seen: dict, name: str, count: int) -> bool:
    tables = seen['tables']
    return len(tables) >= count and all(t['cells'] or (name, i) in EMPTY for i, t in enumerate(tables))


def _problems(name: str, where: str, seen: dict, expect: list[list[str]]) -> list[str]:
    width = seen['width']
    problems = [f'{where}: the page is {seen["page"]} px wide'] if seen['page'] > width else []
    headers = [table['headers'] for table in seen['tables']]
    if headers != expect:
        return problems + [f'{where}: key headers {headers}, expected {expect}']
    for index, table in enumerate(seen['tables']):
        this = f'{where} table {index} {table["headers"]}'
        if table['sideways'] > 0 or table['right'] > width:
            problems.append(f'{this} scrolls sideways by {table["sideways"]} px (right edge {table["right"]})')
        if (name, index) in EMPTY:
            continue
        if not table['cells']:
            problems.append(f'{this}: no first row')
            continue
        if len(table['cells']) != len(table['headers']):
            problems.append(f'{this}: {len(table["cells"])} cells shown under {len(table["headers"])} headers')
        for header, cell in zip(table['headers'], table['cells'], strict=False):
            if not (cell['text'] or cell['controls']) and header:
                problems.append(f'{this}: {header!r} of the first row is empty')
            if cell['left'] < 0 or cell['right'] > width:
                problems.append(f'{this}: {header!r} of the first row ({cell["text"]!r}) is off screen '
                                f'({cell["left"]}..{cell["right"]} of {width} px)')
    return problems


def test_tables_show_their_key_columns_without_sideways_scrolling_on_a_phone(shared_portal, browser) -> None:
    with db.transaction() as session:
        seeded = _seed(session)
    _sign_in(browser, shared_portal.url)
    problems = []
    for width in WIDTHS:
        browser.set_window_size(width, 780)
        for name, (path, expect) in PAGES.items():
            browser.get(shared_portal.url + path.format(**seeded))
            # the page's tables have their rows (a send history or an API list fills in after the page connects)
            count = len(expect)
            try:
                wait_for(browser, lambda d, n=name, c=count: _filled(d.execute_script(TABLES), n, c), timeout=10)
            except TimeoutException:
                pass  # reported below with what the page shows
            seen = browser.execute_script(TABLES)
            print(f'reflow {width} px {name:28} tables {[t["headers"] for t in seen["tables"]]} page {seen["page"]} px')
            problems += _problems(name, f'{name} at {width} px', seen, expect)
    assert not problems, '\n'.join(problems)


ACTIVE_ROW = "const a = document.activeElement; return !!(a && a.tagName === 'TR' && a.closest('main'));"


def _tab_to_a_row(browser) -> None:
    for _ in range(40):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.execute_script(ACTIVE_ROW):
            return
    raise AssertionError('Tab never reached a table row')


def test_rows_that_open_on_a_click_open_by_keyboard_too(shared_portal, browser) -> None:
    """The registrations queue and the accounts list have no link in their rows: Tab reaches a row, Enter opens it."""
    with db.transaction() as session:
        if not session.exec(select(Account).where(Account.email == ADMIN)).first():
            _seed(session)
    _sign_in(browser, shared_portal.url)
    browser.set_window_size(360, 780)
    browser.get(shared_portal.url + '/staff/registrations')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'main tbody tr[tabindex="0"]'))
    _tab_to_a_row(browser)
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//main//h2[starts-with(normalize-space(), "Registration ")]'))
    browser.get(shared_portal.url + '/admin/accounts')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'main tbody tr[tabindex="0"]'))
    _tab_to_a_row(browser)
    ActionChains(browser).send_keys(Keys.SPACE).perform()
    wait_for(browser, lambda d: [b for b in d.find_elements(By.XPATH, '//button[normalize-space()="End all sessions"]')
                                 if b.is_displayed()])
