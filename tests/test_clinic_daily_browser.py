"""Issue 16 (clinic daily work) in a real browser over real SMTP (aiosmtpd on 127.0.0.1), one portal for the module.

Each test drives one bullet as a person would: staff alerts (one email at once, one digest, no PHI, a link to the
item), contacts (edit the email → a new code at the new address, notes, the contact's replies), the worklist (what a
row shows, keyboard, bulk worked, Move into a chart found by search), documents (two files at once, Markdown preview
sanitized, both print views), chart search, send history (bounced, replaced code) and the time zone. Data that the
bullet is not about is made through the services. The scheduler's jobs are run here, on the shared database, the way
the server's scheduler runs them (a frozen clock makes the digest due).
"""
from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlmodel import select

from models import Account, Document, OutboxEmail, Reply, Share
from services import clock, config, contacts, db, outbox, replies, settings, sharing, staff_alerts
from tests import factories, portal_data
from tests.browser import click, sign_in_as, start_portal, stop_portal, wait_for
from tests.smtp import SmtpServer, find_link, html_body, text_body

pytestmark = pytest.mark.browser
ZONE = 'America/Chicago'
SMTP_KEYS = ('SMP_SMTP_HOST', 'SMP_SMTP_PORT', 'SMP_SMTP_TLS', 'SMP_MAIL_FROM')


# ----------------------------------------------------------------------------- one portal and one SMTP server

@pytest.fixture(scope='module')
def smtp() -> SmtpServer:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope='module')
def daily_portal(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer):
    """The module's portal, sending to `smtp`; alerts off by default (each test chooses its own)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith('SMP_SMTP_')}
    environ.pop('DATABASE_URL', None)
    environ.update(SMP_ARGON2_MEMORY_KIB='256', SMP_ARGON2_TIME_COST='1', SMP_SMTP_HOST='127.0.0.1',
                   SMP_SMTP_PORT=str(smtp.port), SMP_SMTP_TLS='none', SMP_MAIL_FROM='portal@clinic.test')
    server = start_portal(tmp_path_factory.mktemp('clinic-daily'), environ)
    yield server
    stop_portal(server)


@pytest.fixture
def portal(daily_portal, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch):
    """This test process pointed at the portal's database and SMTP server (to seed and to run the jobs)."""
    for key in ('SMP_DATA_DIR', 'DATABASE_URL', 'SMP_BASE_URL', 'SMP_PORT', *SMTP_KEYS):
        monkeypatch.setenv(key, daily_portal.env[key])
    config.reload_config()
    settings.invalidate_cache()
    db.init(daily_portal.env['DATABASE_URL'])
    with db.transaction() as session:
        portal_data.enable(session, replies_enabled=True, review_window_minutes=0, time_zone=ZONE,
                           staff_alert_reply_mine='off', staff_alert_reply_any='off', staff_alert_registration='off',
                           staff_alert_unread='off', staff_alert_bounced='off')
    smtp.reject.clear()
    return daily_portal


# ----------------------------------------------------------------------------- helpers

def _field(browser, label: str, tag: str = 'input'):
    """The input (or textarea) whose label starts with `label`."""
    return wait_for(browser, lambda d: [e for e in d.find_elements(
        By.XPATH, f'//label[.//div[starts-with(normalize-space(), "{label}")]]//{tag}') if e.is_displayed()])[0]


def _see(browser, text: str, timeout: float = 15.0) -> None:
    wait_for(browser, lambda d: text in (d.execute_script('return document.body && document.body.innerText') or ''),
             timeout=timeout)


def _choose(browser, label: str, option: str) -> None:
    """Pick `option` in the q-select labelled `label`."""
    click(browser, f'//label[.//div[starts-with(normalize-space(), "{label}")]]')
    item = f'//div[contains(@class, "q-menu")]//div[contains(@class, "q-item")][normalize-space()="{option}"]'
    click(browser, item)
    wait_for(browser, lambda d: not [e for e in d.find_elements(By.CSS_SELECTOR, '.q-menu') if e.is_displayed()])


def _deliver(smtp: SmtpServer, address: str, count: int) -> list:
    """Run the outbox job here (the server's own tick may be first) until `count` emails reached `address`."""
    outbox.process_outbox()
    return smtp.wait_for(address, count=count, timeout=30)


def _reply(share_id: int, account_id: int, text: str, attachments: tuple = ()) -> int:
    with db.transaction() as session:
        actor = factories.actor_for(session, session.get(Account, account_id))
    return replies.create_reply(actor=actor, share_id=share_id, text=text,
                                attachments=[replies.Attachment(name=n, data=d) for n, d in attachments])


# each visible table row: its cells' texts and its links' texts
ROWS = '''
return [...document.querySelectorAll('.q-table tbody tr')].filter(r => r.offsetParent !== null)
  .map(r => [[...r.querySelectorAll('td')].map(td => td.innerText.trim()),
             [...r.querySelectorAll('a')].map(a => a.innerText).join(' | ')]);
'''
PRINT_MEDIA = {'media': 'print'}
HIDDEN_WHEN_PRINTED = '''
return [...document.querySelectorAll('header, footer, .smp-no-print')]
  .every(e => getComputedStyle(e).display === 'none');
'''


def _printed_without_navigation(browser) -> bool:
    """In print media the header, footer and the page's own buttons are not on the paper."""
    browser.execute_cdp_cmd('Emulation.setEmulatedMedia', PRINT_MEDIA)
    try:
        return browser.execute_script(HIDDEN_WHEN_PRINTED)
    finally:
        browser.execute_cdp_cmd('Emulation.setEmulatedMedia', {'media': ''})


# ----------------------------------------------------------------------------- (a) staff alerts

PHI = ('Zebediah', 'Quixote', 'HIV panel', 'positive result', 'Casey', 'Replier', 'second note', 'third note')


def _no_phi(message) -> None:
    everything = f'{message["Subject"]}\n{text_body(message)}\n{html_body(message)}'
    for word in PHI:
        assert word not in everything, word


def _alerts_world(session) -> dict:
    nurse = factories.account(session, role='staff', email='alerts@clinic.test', name='Nurse Alert')
    contact = factories.contact(session, email='casey.replier@outside.test', first='Casey', last='Replier')
    factories.contact_account(session, contact)
    chart = factories.chart(session, first='Zebediah', last='Quixote')
    result = factories.share(session, contact_row=contact, sender=nurse, chart_row=chart, title='HIV panel')
    return {'share': result.share_id}


def _contact_replies(browser, url: str, share_id: int, text: str) -> None:
    browser.get(f'{url}/message/{share_id}')
    _field(browser, 'Your reply', 'textarea').send_keys(text)
    click(browser, '//button[.//span[normalize-space()="Send reply"]]')
    _see(browser, 'Your reply was sent to the clinic.')


def test_a_reply_alerts_staff_once_at_once_then_in_one_digest(portal, smtp, browser) -> None:
    url = portal.url
    ids = portal.seed(_alerts_world)
    # staff choose "Email at once" for replies to what they sent
    sign_in_as(browser, url, 'alerts@clinic.test')
    browser.get(url + '/staff/settings')
    _choose(browser, 'New reply on a document I sent', 'Email at once')
    click(browser, '//button[.//span[normalize-space()="Save alert choices"]]')
    _see(browser, 'Alert choices saved.')

    sign_in_as(browser, url, 'casey.replier@outside.test')
    _contact_replies(browser, url, ids['share'], 'The HIV panel shows a positive result.')
    reply_id = db.run(lambda session: session.exec(select(Reply.id).where(Reply.share_id == ids['share'])).one())
    staff_alerts.send_staff_alerts()  # the scheduler's job (the server's own tick may have run it already)
    [alert] = _deliver(smtp, 'alerts@clinic.test', 1)
    staff_alerts.send_staff_alerts()
    outbox.process_outbox()
    assert len(smtp.to('alerts@clinic.test')) == 1  # exactly one email for the reply
    assert alert['Subject'] == 'New reply on a document you sent'
    _no_phi(alert)
    link = find_link(alert, f'/staff/reply/{reply_id}')
    sign_in_as(browser, url, 'alerts@clinic.test')
    browser.get(link)  # the link opens the reply
    _see(browser, 'The HIV panel shows a positive result.')

    # digest mode: two replies, one digest once it is due
    browser.get(url + '/staff/settings')
    _choose(browser, 'New reply on a document I sent', 'In the digest')
    minutes = _field(browser, 'Digest every (minutes)')
    minutes.send_keys(Keys.CONTROL, 'a')
    minutes.send_keys('5')
    click(browser, '//button[.//span[normalize-space()="Save alert choices"]]')
    _see(browser, 'Alert choices saved.')
    sign_in_as(browser, url, 'casey.replier@outside.test')
    _contact_replies(browser, url, ids['share'], 'A second note.')
    _contact_replies(browser, url, ids['share'], 'A third note.')
    staff_alerts.send_staff_alerts()  # not due yet
    outbox.process_outbox()
    assert len(smtp.to('alerts@clinic.test')) == 1
    clock.set_clock(clock.FrozenClock(clock.now() + timedelta(minutes=6)))
    try:
        assert staff_alerts.send_staff_alerts() == 1
        [_, digest] = _deliver(smtp, 'alerts@clinic.test', 2)
        assert staff_alerts.send_staff_alerts() == 0
        outbox.process_outbox()
    finally:
        clock.set_clock(None)
    assert len(smtp.to('alerts@clinic.test')) == 2  # one email, then one digest for the two replies
    assert '2 new replies on documents you sent' in text_body(digest)
    assert find_link(digest, '/staff')
    _no_phi(digest)


# ----------------------------------------------------------------------------- (b) contacts

def _contacts_world(session) -> dict:
    nurse = factories.account(session, role='staff', email='contacts@clinic.test', name='Nurse Contacts')
    mistyped = factories.contact(session, email='mary.old@outside.test', first='Mary Ann', last='Smith')
    factories.share(session, contact_row=mistyped, sender=nurse, title='Work status')  # an invitation with a code
    writer = factories.contact(session, email='rory.writer@outside.test', first='Rory', last='Writer')
    account = factories.contact_account(session, writer)
    shared = factories.share(session, contact_row=writer, sender=nurse, title='Fitness report')
    return {'mistyped': mistyped.id, 'writer': writer.id, 'account': account.id, 'share': shared.share_id}


def test_staff_edit_a_contact_keep_notes_and_see_its_replies(portal, smtp, browser) -> None:
    url = portal.url
    ids = portal.seed(_contacts_world)
    _reply(ids['share'], ids['account'], 'Rory agrees with the plan and will call on Monday.')
    sign_in_as(browser, url, 'contacts@clinic.test')
    browser.get(f'{url}/staff/contacts/{ids["mistyped"]}')
    click(browser, '//button[.//span[normalize-space()="Edit contact"]]')
    email = _field(browser, 'Email')
    email.send_keys(Keys.CONTROL, 'a')
    email.send_keys('mary.new@outside.test')
    click(browser, '//button[.//span[normalize-space()="Save contact"]]')
    _see(browser, 'Send a new code to mary.new@outside.test?')
    click(browser, '//button[.//span[normalize-space()="Send a new code to the new address"]]')
    _see(browser, 'A new code was sent to mary.new@outside.test.')
    [invitation] = _deliver(smtp, 'mary.new@outside.test', 1)
    assert find_link(invitation, '/activate')

    click(browser, '//div[contains(@class, "q-expansion-item")]//div[normalize-space()="Clinic notes (staff only)"]')
    notes = _field(browser, 'Notes about this contact', 'textarea')
    notes.send_keys('Prefers phone calls before 10.')
    click(browser, '//button[.//span[normalize-space()="Save notes"]]')
    _see(browser, 'Notes saved.')
    browser.get(f'{url}/staff/contacts/{ids["mistyped"]}')  # kept: the notes open with the chart
    wait_for(browser, lambda d: _field(d, 'Notes about this contact', 'textarea').get_attribute('value')
             == 'Prefers phone calls before 10.')
    _see(browser, 'mary.new@outside.test')

    browser.get(f'{url}/staff/contacts/{ids["writer"]}')
    _see(browser, 'Replies from this contact')
    # replied, to document, reply, attachments, status
    assert _cells(browser, 'Rory agrees with the plan')[1:] == [
        'Fitness report', 'Rory agrees with the plan and will call on Monday.', '0', 'unworked']
    href = browser.execute_script('return [...document.querySelectorAll("a")]'
                                  '.find(a => a.innerText.startsWith("Rory agrees")).getAttribute("href")')
    assert re.fullmatch(r'/staff/reply/\d+', href)


# ----------------------------------------------------------------------------- (c) worklist

LONG = 'Wanda reports that the knee is better. ' + 'She walks without pain most days now. ' * 5 + 'TAIL'


def _worklist_world(session) -> dict:
    nurse = factories.account(session, role='staff', email='worklist@clinic.test', name='Nurse Worklist')
    contact = factories.contact(session, email='wanda@outside.test', first='Wanda', last='Writer')
    account = factories.contact_account(session, contact)
    chart = factories.chart(session, first='Robin', last='Worklister')
    target = factories.chart(session, first='Terry', last='Movetarget', external_id='MOVE-77')
    shared = factories.share(session, contact_row=contact, sender=nurse, chart_row=chart, title='Knee follow-up')
    return {'account': account.id, 'share': shared.share_id, 'target': target.id}


def _cells(browser, words: str) -> list[str]:
    """The cells of the table row whose link holds `words` (read in one go: the table may render again)."""
    return wait_for(browser, lambda d: [cells for cells, links in d.execute_script(ROWS) if words in links])[0]


def test_worklist_rows_keyboard_bulk_worked_and_move_anywhere(portal, browser) -> None:
    url = portal.url
    ids = portal.seed(_worklist_world)
    first = _reply(ids['share'], ids['account'], LONG, (('x-ray.pdf', factories.MINIMAL_PDF),))
    second = _reply(ids['share'], ids['account'], 'Wanda asks for a copy of the plan.')
    sign_in_as(browser, url, 'worklist@clinic.test')
    browser.get(url + '/staff/worklist')
    # (selection box), replied, contact, chart, document, reply, attachments, assigned to, status
    _, _, contact, chart, document, excerpt, attachments, _, status = _cells(browser, 'Wanda reports that the knee')
    assert (contact, chart, attachments, status) == ('Wanda Writer', 'Worklister, Robin', '1', 'unworked')
    assert document.startswith('Knee follow-up')
    assert LONG.startswith(excerpt.rstrip('…')) and len(excerpt.rstrip('…')) == 120 and 'TAIL' not in excerpt
    assert _cells(browser, 'Wanda asks for a copy')[5:7] == ['Wanda asks for a copy of the plan.', '0']

    # open the reply by keyboard: Tab until its link has the focus, then Enter
    href = f'/staff/reply/{first}'
    browser.execute_script('document.activeElement.blur()')
    for _ in range(80):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if (browser.execute_script('return document.activeElement.getAttribute("href")') or '') == href:
            break
    else:
        pytest.fail('Tab never reached the reply')
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait_for(browser, lambda d: d.current_url.endswith(href))
    _see(browser, 'She walks without pain most days now.')
    _see(browser, 'x-ray.pdf')

    # select two, mark them worked
    browser.get(url + '/staff/worklist')
    for words in ('Wanda reports that the knee', 'Wanda asks for a copy'):
        click(browser, f'//tr[.//a[contains(., "{words}")]]//div[@role="checkbox"]')
    click(browser, '//button[.//span[normalize-space()="Mark selected worked"]]')
    _see(browser, 'Marked 2 replies worked.')
    worked = db.run(lambda session: [session.get(Reply, r).worked_at is not None for r in (first, second)])
    assert worked == [True, True]

    # Move into a chart found by search (not the chart the document came from)
    browser.get(f'{url}/staff/reply/{second}')
    click(browser, '//button[.//span[contains(normalize-space(), "Move into another chart")]]')
    _field(browser, 'Find a chart').send_keys('move77')
    click(browser, '//div[contains(@class, "q-dialog")]//div[contains(., "Movetarget, Terry")]'
                   '//button[.//span[normalize-space()="Move here"]]')
    _see(browser, 'Moved into Movetarget, Terry as document')
    moved = db.run(lambda session: session.exec(select(Document.chart_id).where(Document.chart_id == ids['target']))
                   .all())
    assert moved == [ids['target']]


# ----------------------------------------------------------------------------- (d) documents

def _documents_world(session) -> dict:
    nurse = factories.account(session, role='staff', email='documents@clinic.test', name='Nurse Documents')
    contact = factories.contact(session, email='dana@outside.test', first='Dana', last='Printer')
    account = factories.contact_account(session, contact)
    other = factories.contact(session, email='someone.else@outside.test')
    chart = factories.chart(session, first='Avery', last='Uploader')
    # stored as it came (the factory skips the sanitizer on the way in): the print views clean it again
    shared = factories.share(session, contact_row=contact, sender=nurse, chart_row=chart, title='Lifting plan',
                             body_html='<p>No lifting over <b>10 kg</b>.</p><img src=x onerror="window.hacked=3">')
    foreign = factories.share(session, contact_row=other, sender=nurse, chart_row=chart, title='Not for Dana')
    return {'chart': chart.id, 'account': account.id, 'share': shared.share_id, 'foreign': foreign.share_id,
            'document': session.get(Share, shared.share_id).source_document_id}


def test_documents_upload_markdown_and_print_views(portal, browser, tmp_path: Path) -> None:
    url = portal.url
    ids = portal.seed(_documents_world)
    _reply(ids['share'], ids['account'], 'Dana confirms the lifting limit.')
    sign_in_as(browser, url, 'documents@clinic.test')

    # two files at once: two documents
    (tmp_path / 'a.pdf').write_bytes(factories.MINIMAL_PDF)
    (tmp_path / 'b.png').write_bytes(factories.MINIMAL_PNG)
    browser.get(f'{url}/staff/chart/{ids["chart"]}/new-document')
    _field(browser, 'Title').send_keys('Scans')
    click(browser, '//div[@role="radio"][.//div[normalize-space()="PDF or image file"]]')
    upload = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[type=file]'))[0]
    upload.send_keys(f'{tmp_path / "a.pdf"}\n{tmp_path / "b.png"}')
    _see(browser, 'Chosen: a.pdf, b.png (2 documents)')
    click(browser, '//button[.//span[normalize-space()="Save document"]]')
    _see(browser, '2 documents saved.')
    titles = db.run(lambda session: sorted(session.exec(select(Document.title).where(
        Document.chart_id == ids['chart'], Document.title.startswith('Scans'))).all()))
    assert titles == ['Scans (a.pdf)', 'Scans (b.png)']

    # Markdown with a preview; what a script tries never runs or shows
    browser.get(f'{url}/staff/chart/{ids["chart"]}/new-document')
    _field(browser, 'Title').send_keys('Plan')
    text = _field(browser, 'Text: **bold**', 'textarea')
    text.send_keys('# Rest plan\n\nRest **two days**.\n\n<script>window.hacked=1</script>'
                   '<img src=x onerror="window.hacked=2">')
    # the document has an h1: under the page's own h1 its headings move one level down
    preview = '//div[contains(@class, "border")][.//h2[normalize-space()="Rest plan"]]'
    wait_for(browser, lambda d: d.find_elements(By.XPATH, preview + '//strong[normalize-space()="two days"]'))
    assert not browser.find_elements(By.XPATH, preview + '//script | ' + preview + '//img')  # shown as text at most
    assert browser.execute_script('return window.hacked') is None
    click(browser, '//button[.//span[normalize-space()="Save document"]]')
    _see(browser, 'Document saved.')
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//div[contains(@class, "portal-doc")]//strong'))
    assert not browser.find_elements(By.CSS_SELECTOR, '.portal-doc script, .portal-doc img[onerror]')
    assert browser.execute_script('return window.hacked') is None

    # the staff print view: the document and its replies, nothing but them on paper
    browser.get(f'{url}/staff/document/{ids["document"]}')
    href = wait_for(browser, lambda d: d.find_elements(By.LINK_TEXT, 'Print view (document and replies)'))[0] \
        .get_attribute('href')
    browser.get(href)
    _see(browser, 'Lifting plan')
    _see(browser, 'No lifting over 10 kg.')
    _see(browser, 'Replies (1)')
    _see(browser, 'Dana confirms the lifting limit.')
    assert not browser.find_elements(By.CSS_SELECTOR, '.portal-doc img[onerror]')
    assert _printed_without_navigation(browser)

    # the contact's print view, from the viewer; another person's message is not available
    sign_in_as(browser, url, 'dana@outside.test')
    browser.get(f'{url}/message/{ids["share"]}')
    href = wait_for(browser, lambda d: d.find_elements(By.LINK_TEXT, 'Print view (document and replies)'))[0] \
        .get_attribute('href')
    assert href.endswith(f'/message/{ids["share"]}/print')
    browser.get(href)
    _see(browser, 'Dana confirms the lifting limit.')
    _see(browser, 'No lifting over 10 kg.')
    _see(browser, 'Replies (1)')
    assert browser.find_element(By.CSS_SELECTOR, 'main h1').text == 'Lifting plan'
    assert not browser.find_elements(By.CSS_SELECTOR, '.portal-doc img[onerror]')
    assert browser.execute_script('return window.hacked') is None
    assert _printed_without_navigation(browser)
    browser.get(f'{url}/message/{ids["foreign"]}/print')
    _see(browser, 'This message is not available.')
    assert 'Not for Dana' not in browser.page_source


# ----------------------------------------------------------------------------- (e) chart search

def test_chart_search_finds_the_forms_the_list_shows(portal, browser) -> None:
    url = portal.url
    portal.seed(lambda session: (factories.account(session, role='staff', email='search@clinic.test'),
                                 factories.chart(session, first='Pat', last='Lee', external_id='EMP-1001')))
    sign_in_as(browser, url, 'search@clinic.test')
    for query in ('Lee, Pat', 'emp1001'):
        browser.get(url + '/staff')
        field = _field(browser, 'Search charts')
        field.send_keys(query)

        # the charts table (the first): exactly the one chart, as the list shows it
        wait_for(browser, lambda d: [cells[:3] for cells, _ in d.execute_script(ROWS) if cells[0] != ''] ==
                 [['Lee, Pat', '1980-05-17', 'EMP-1001']])


# ----------------------------------------------------------------------------- (f) send history

def _history_world(session) -> dict:
    nurse = factories.account(session, role='staff', email='history@clinic.test', name='Nurse History')
    chart = factories.chart(session, first='Quinn', last='Historian')
    document = factories.document(session, chart_row=chart, author=nurse, title='Sent twice')
    gone = factories.contact(session, email='gone@outside.test', first='Gale', last='Gone')
    replaced = factories.contact(session, email='replaced@outside.test', first='Remy', last='Replaced')
    actor = factories.actor_for(session, nurse)
    sharing.share_document(session, document_id=document.id, contact_id=gone.id, actor=actor)
    old = sharing.share_document(session, document_id=document.id, contact_id=replaced.id, actor=actor)
    later = factories.document(session, chart_row=chart, author=nurse, title='Sent later')
    sharing.share_document(session, document_id=later.id, contact_id=replaced.id, actor=actor)
    contacts.send_new_code(session, actor=actor, contact_id=replaced.id)  # on the later share: the first code goes
    return {'document': document.id, 'old_code': old.activation_code}


def test_send_history_shows_bounced_and_replaced_codes(portal, smtp, browser) -> None:
    url = portal.url
    smtp.reject.add('gone@outside.test')
    ids = portal.seed(_history_world)
    _deliver(smtp, 'replaced@outside.test', 2)  # Remy's invitations went out; Gale's bounced

    def bounced(session) -> bool:
        return session.exec(select(OutboxEmail.status).where(OutboxEmail.to_address == 'gone@outside.test')).all() \
            == ['failed']
    for _ in range(50):  # 550 is final: the outbox marks it failed at once (this process or the server's tick)
        if db.run(bounced):
            break
        outbox.process_outbox()
        time.sleep(0.2)
    assert db.run(bounced)
    sign_in_as(browser, url, 'history@clinic.test')
    browser.get(f'{url}/staff/document/{ids["document"]}')
    gone = _row_text_any(browser, 'gone@outside.test')
    assert 'bounced email: the invitation did not arrive' in gone and 'invitation: bounced: 550' in gone
    replaced = _row_text_any(browser, 'replaced@outside.test')
    assert 'replaced by a newer code' in replaced

    # the old code tells the contact that a newer one was sent
    browser.delete_all_cookies()
    browser.get(url + '/activate')
    _field(browser, 'Activation code').send_keys(ids['old_code'])
    click(browser, '//button[normalize-space()="NEXT"]')
    _see(browser, 'A newer activation code was sent to you')


def _row_text_any(browser, words: str) -> str:
    return wait_for(browser, lambda d: [' '.join(cells) for cells, _ in d.execute_script(ROWS)
                                        if words in ' '.join(cells)])[0]


# ----------------------------------------------------------------------------- (g) time zone

def test_staff_pages_show_the_admins_time_zone(portal, browser) -> None:
    url = portal.url
    replied = datetime(2026, 1, 15, 18, 30, tzinfo=UTC)  # 12:30 in Chicago (UTC-6 in January)

    def world(session) -> int:
        nurse = factories.account(session, role='staff', email='zone@clinic.test')
        contact = factories.contact(session, email='zoe@outside.test', first='Zoe', last='Zone')
        account = factories.contact_account(session, contact)
        shared = factories.share(session, contact_row=contact, sender=nurse, title='Zone check')
        reply = Reply(share_id=shared.share_id, account_id=account.id, author_name='Zoe Zone', body='On time.',
                      created_at=replied)
        session.add(reply)
        session.flush()
        return reply.id
    reply_id = portal.seed(world)
    sign_in_as(browser, url, 'zone@clinic.test')
    browser.get(f'{url}/staff/reply/{reply_id}')
    _see(browser, '2026-01-15 12:30')
    assert '2026-01-15 18:30' not in browser.execute_script('return document.body.innerText')
    browser.get(url + '/staff/settings')
    _see(browser, f'shown in {ZONE}')
