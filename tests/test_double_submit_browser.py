"""Every button that creates something, double-clicked and hit by a scripted burst of five clicks in Chromium,
creates exactly one of each thing (the action helper ignores clicks while it runs; the idempotency key makes a
repeat that still gets through change nothing). One portal serves the whole module."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from sqlmodel import select

from services import db
from tests.browser import click, wait_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
BURST = 'const b = arguments[0]; for (let i = 0; i < 5; i++) { b.click(); }'


def count(model, *where) -> int:
    return db.run(lambda session: session.exec(select(sa.func.count()).select_from(model).where(*where)).one())


def press(browser, xpath: str, how: str) -> None:
    """Double-click the button, or send it five clicks in one script (as fast as a browser can)."""
    button = wait_for(browser, lambda d: d.find_elements(By.XPATH, xpath))[0]
    browser.execute_script('arguments[0].scrollIntoView({block: "center"})', button)
    time.sleep(0.5)  # tables that fill after the page shows move the button; let them land first
    button = browser.find_elements(By.XPATH, xpath)[0]
    if how == 'double':
        ActionChains(browser).double_click(button).perform()
    else:
        browser.execute_script(BURST, button)


def sign_in(browser, url: str, email: str) -> None:
    browser.delete_all_cookies()
    browser.get(url + '/login')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(email)
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(PASSWORD)
    browser.find_element(By.XPATH, '//button[normalize-space()="Sign in"]').click()
    wait_for(browser, lambda d: '/login' not in d.current_url and '/session/' not in d.current_url)


def type_into(browser, label: str, text: str, tag: str = 'input') -> None:
    field = wait_for(browser, lambda d: d.find_elements(
        By.XPATH, f'//label[.//div[normalize-space()="{label}"]]//{tag}'))[0]
    field.send_keys(text)


@dataclass
class Case:
    """One button: `prepare` seeds and opens the page, returns the count to watch; `after` waits for the result."""

    name: str
    prepare: Callable
    button: str
    after: Callable


CASES: list[Case] = []


def case(name: str, button: str, after: Callable = lambda browser, url: None):
    def register(prepare: Callable) -> Callable:
        CASES.append(Case(name, prepare, button, after))
        return prepare
    return register


@pytest.fixture(params=['double', 'burst'])
def how(request) -> str:
    return request.param


def run_case(shared_portal, browser, how: str, name: str) -> None:
    chosen = next(c for c in CASES if c.name == name)
    try:
        counts = chosen.prepare(shared_portal, browser, how)
    except Exception:
        browser.save_screenshot(f'/tmp/double-submit-prepare-{how}-{name.replace(" ", "-")}.png')
        raise
    watch = (lambda: (counts(),)) if not isinstance(counts(), tuple) else counts
    before = watch()
    once = tuple(n + 1 for n in before)
    press(browser, chosen.button, how)
    try:
        chosen.after(browser, shared_portal.url)
        wait_for(browser, lambda d: watch() >= once)
    except Exception:
        browser.save_screenshot(f'/tmp/double-submit-{how}-{name.replace(" ", "-")}.png')
        raise
    time.sleep(1.5)  # a second submit would have landed by now
    assert watch() == once, f'{name} ({how}): {before} became {watch()}'


# ----------------------------------------------------------------------------- contact

@case('send reply', '//button[contains(., "Send reply")]',
      after=lambda browser, url: wait_for(browser, lambda d: d.current_url.rstrip('/') == url))
def _reply(portal, browser, how):
    from models import Reply
    from tests import portal_data
    person = portal.seed(portal_data.person, email=f'reply-{how}@outside.test', shares=1)
    portal.seed(portal_data.enable, replies_enabled=True)
    sign_in(browser, portal.url, person.email)
    browser.get(f'{portal.url}/message/{person.share_ids[0]}')
    type_into(browser, 'Your reply', 'Signed and returned.', 'textarea')
    return lambda: count(Reply, Reply.share_id == person.share_ids[0])


@case('add an activation code', '//button[contains(., "ADD CODE")]')
def _add_code(portal, browser, how):
    from models import AccountContact
    from services import activation
    from tests import factories, portal_data
    person = portal.seed(portal_data.person, email=f'linker-{how}@outside.test', shares=1)

    def second_invitation(session):
        contact = factories.contact(session, email=f'second-{how}@outside.test')
        return activation.issue_code(session, contact=contact, actor=None).code
    code = portal.seed(second_invitation)
    sign_in(browser, portal.url, person.email)
    browser.get(f'{portal.url}/settings')
    type_into(browser, 'Activation code', code)
    return lambda: count(AccountContact, AccountContact.account_id == person.account_id)


@case('reject registration', '//button[contains(., "Reject")]')
def _reject(portal, browser, how):
    from models import Registration
    from tests.test_registration_review import submit_registration
    _staff(portal, browser, how, 'reject')
    registration_id = portal.seed(submit_registration, email=f'rejected-{how}@outside.test')
    browser.get(f'{portal.url}/staff/registrations?open={registration_id}')
    type_into(browser, 'Reason', 'Already registered under another name.', 'textarea')
    return lambda: count(Registration, Registration.id == registration_id, Registration.status == 'rejected')


# ----------------------------------------------------------------------------- staff

def _staff(portal, browser, how: str, name: str) -> str:
    from tests import factories
    email = f'staff-{name.replace(" ", "-")}-{how}@clinic.test'
    portal.seed(lambda session: factories.account(session, role='staff', email=email))
    sign_in(browser, portal.url, email)
    return email


def _chart_with_document(session, tag: str):
    from tests import factories
    chart = factories.chart(session, first='Pat', last=f'Lee{tag}')
    doc = factories.document(session, chart_row=chart, title=f'Work status {tag}')
    return chart.id, doc.id


@case('save chart', '//button[contains(., "Save chart")]')
def _new_chart(portal, browser, how):
    from models import Chart
    _staff(portal, browser, how, 'chart')
    browser.get(f'{portal.url}/staff')
    click(browser, '//button[contains(., "New chart")]')
    last = f'Double{how.title()}'
    type_into(browser, 'First name', 'Robin')
    type_into(browser, 'Last name', last)
    return lambda: count(Chart, Chart.last_name == last)


@case('save document', '//button[contains(., "Save document")]')
def _new_document(portal, browser, how):
    from models import Document
    _staff(portal, browser, how, 'document')
    chart_id, _ = portal.seed(_chart_with_document, tag=f'doc{how}')
    browser.get(f'{portal.url}/staff/chart/{chart_id}/new-document')
    type_into(browser, 'Title', 'Typed note')
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//label[contains(., "Text: **bold**")]//textarea'))[0] \
        .send_keys('Fit for light duty.')  # the Markdown editor, the default
    return lambda: count(Document, Document.chart_id == chart_id, Document.title == 'Typed note')


@case('send document', '//div[contains(@class, "q-dialog")]//button[contains(., "Send")][not(contains(., "Send document"))]')
def _send(portal, browser, how):
    from models import OutboxEmail, Share
    from tests import factories
    _staff(portal, browser, how, 'send')
    _, doc_id = portal.seed(_chart_with_document, tag=f'send{how}')
    email = f'adjuster-{how}@ins.test'
    portal.seed(lambda session: factories.contact(session, first='Casey', last=f'Send{how}', email=email))
    browser.get(f'{portal.url}/staff/document/{doc_id}')
    click(browser, '//button[contains(., "Send document")]')
    type_into(browser, 'Find a recipient: name, email or organization', email)
    click(browser, f'//div[contains(@class, "q-item")][contains(., "{email}")]')
    wait_for(browser, lambda d: d.find_elements(By.XPATH, f'//div[contains(@class, "q-chip")][contains(., "{email}")]'))
    return lambda: (count(Share, Share.source_document_id == doc_id), count(OutboxEmail, OutboxEmail.to_address == email))


@case('add contact', '//button[contains(., "Add contact")]')
def _add_contact(portal, browser, how):
    from models import Contact
    _staff(portal, browser, how, 'contact')
    _, doc_id = portal.seed(_chart_with_document, tag=f'contact{how}')
    browser.get(f'{portal.url}/staff/document/{doc_id}')
    click(browser, '//button[contains(., "Send document")]')
    click(browser, '//div[contains(@class, "q-expansion-item")]//div[contains(., "New contact")]')
    email = f'new-contact-{how}@ins.test'
    type_into(browser, 'First name', 'Morgan')
    type_into(browser, 'Last name', f'Added{how}')
    type_into(browser, 'Email', email)
    return lambda: count(Contact, Contact.email == email)


@case('rescind', '//div[contains(@class, "q-dialog")]//button[contains(., "Rescind")]')
def _rescind(portal, browser, how):
    from models import AuditEvent
    from tests import factories
    _staff(portal, browser, how, 'rescind')

    def seed(session):
        contact = factories.contact(session, email=f'rescind-{how}@ins.test')
        result = factories.share(session, contact_row=contact, title=f'To withdraw {how}')
        return result.share_id, session.get(__import__('models').Share, result.share_id).source_document_id
    share_id, doc_id = portal.seed(seed)
    browser.get(f'{portal.url}/staff/document/{doc_id}')
    click(browser, '//tbody//div[contains(@class, "q-checkbox")]')
    click(browser, '//button[contains(., "Rescind selected")]')
    type_into(browser, 'Reason', 'Sent to the wrong adjuster.', 'textarea')
    return lambda: count(AuditEvent, AuditEvent.action == 'share_rescinded', AuditEvent.object_id == str(share_id))


@case('send a new code', '//button[contains(., "Send a new code")]')
def _new_code(portal, browser, how):
    from models import ActivationCode
    from tests import factories
    _staff(portal, browser, how, 'code')

    def seed(session):
        contact = factories.contact(session, email=f'code-{how}@ins.test')
        factories.share(session, contact_row=contact, title='Invited')
        return contact.id
    contact_id = portal.seed(seed)
    browser.get(f'{portal.url}/staff/contacts/{contact_id}')
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//button[contains(., "Send a new code")]'))
    return lambda: count(ActivationCode, ActivationCode.contact_id == contact_id)


@case('move reply into chart', '//button[contains(., "Move into chart")]')
def _move(portal, browser, how):
    from models import Document, Reply, Share
    from tests import factories
    _staff(portal, browser, how, 'move')

    def seed(session):
        contact = factories.contact(session, email=f'move-{how}@ins.test')
        account = factories.contact_account(session, contact)
        sent = factories.share(session, contact_row=contact, title=f'Work status {how}')
        share = session.get(Share, sent.share_id)
        reply = Reply(share_id=share.id, account_id=account.id, author_name='Casey', body='Approved.')
        session.add(reply)
        session.flush()
        return reply.id, share.chart_id
    reply_id, chart_id = portal.seed(seed)
    browser.get(f'{portal.url}/staff/reply/{reply_id}')
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//button[contains(., "Move into chart")]'))
    return lambda: count(Document, Document.chart_id == chart_id)


@case('accept registration', '//button[contains(., "Accept")]')
def _accept(portal, browser, how):
    from models import Registration
    from tests.test_registration_review import submit_registration
    _staff(portal, browser, how, 'accept')
    registration_id = portal.seed(submit_registration, email=f'registrar-{how}@outside.test')
    browser.get(f'{portal.url}/staff/registrations?open={registration_id}')
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//button[contains(., "Accept")]'))
    return lambda: count(Registration, Registration.id == registration_id, Registration.status == 'accepted')


# ----------------------------------------------------------------------------- public

@case('activation: create account', '//button[contains(., "CREATE ACCOUNT")]')
def _activate(portal, browser, how):
    from models import Account
    from services import activation
    from tests import factories
    email = f'invited-{how}@outside.test'

    def seed(session):
        contact = factories.contact(session, email=email)
        return activation.issue_code(session, contact=contact, actor=None).code
    code = portal.seed(seed)
    browser.delete_all_cookies()
    browser.get(f'{portal.url}/activate?code={activation.normalize_code(code)}')
    # the link's code is checked by itself: the code step's own NEXT is on screen until the next step replaces it
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//*[normalize-space()="Who is this activation code for?"]'))
    click(browser, '//button[contains(., "NEXT")]')  # "myself"
    type_into(browser, 'Email', email)  # the invited address: no check code needed
    click(browser, '//button[contains(., "NEXT")]')  # the email is the invited one: no check code
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//label[.//div[normalize-space()="Repeat password"]]//input'))
    type_into(browser, 'Password', 'a calm river under nine bridges')
    type_into(browser, 'Repeat password', 'a calm river under nine bridges')
    return lambda: count(Account, Account.email == email)


@case('forgot password', '//button[contains(., "SEND CODE")]')
def _forgot(portal, browser, how):
    from models import OutboxEmail
    from tests import factories
    email = f'forgot-{how}@ins.test'
    portal.seed(lambda session: factories.contact_account(session, factories.contact(session, email=email)))
    browser.delete_all_cookies()
    browser.get(f'{portal.url}/forgot-password')
    type_into(browser, 'Email', email)
    return lambda: count(OutboxEmail, OutboxEmail.to_address == email)


# ----------------------------------------------------------------------------- admin

def _admin(portal, browser, how: str) -> None:
    from tests import factories
    email = f'admin-{how}-{len(CASES)}-{id(browser)}@clinic.test'
    portal.seed(lambda session: factories.account(session, role='admin', email=email))
    sign_in(browser, portal.url, email)


@case('create account', '//button[contains(., "Create account")]')
def _create_account(portal, browser, how):
    from models import Account
    _admin(portal, browser, how)
    browser.get(f'{portal.url}/admin/accounts')
    click(browser, '//div[contains(@class, "q-expansion-item")]//div[contains(., "New staff or admin account")]')
    email = f'new-{how}@clinic.test'
    type_into(browser, 'Email', email)
    type_into(browser, 'Name', 'New Person')
    return lambda: count(Account, Account.email == email)


@case('send test email', '//button[contains(., "Send test email")]')
def _test_email(portal, browser, how):
    from models import AuditEvent
    _admin(portal, browser, how)
    browser.get(f'{portal.url}/admin/email')
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//button[contains(., "Send test email")]'))
    return lambda: count(AuditEvent, AuditEvent.action == 'test_email_sent')


@case('send password reset', '//button[contains(., "Send password reset")]')
def _admin_reset(portal, browser, how):
    from models import AuditEvent
    from tests import factories
    target = f'reset-target-{how}@clinic.test'
    account_id = portal.seed(lambda session: factories.account(session, role='staff', email=target,
                                                                name=f'Target {how}').id)
    _admin(portal, browser, how)
    browser.get(f'{portal.url}/admin/accounts')
    click(browser, f'//td[contains(., "{target}")]')
    wait_for(browser, lambda d: d.find_elements(By.XPATH, '//button[contains(., "Send password reset")]'))
    return lambda: count(AuditEvent, AuditEvent.action == 'account_password_reset_sent',
                         AuditEvent.object_id == str(account_id))


@pytest.mark.parametrize('name', [c.name for c in CASES])
def test_a_button_creates_one_thing(shared_portal, browser, how: str, name: str) -> None:
    run_case(shared_portal, browser, how, name)
