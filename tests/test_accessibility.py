"""WCAG 2.2 AA: axe-core over every page state a person can reach, at 1280 px and 360 px, in headless Chromium.

The page list comes from the route registry (pages.portal.ROUTES): a page route without a state listed here fails
`test_every_page_route_has_its_states`, so a new page cannot be forgotten. Each state is checked once per width and
printed with its violation count (run with -s, or read the captured output of a failure).

axe runs through `axe-selenium-python`'s `Axe`; the package's bundled engine is old (3.1.1, without the WCAG 2.1/2.2
rules), so it is given the current axe-core kept in tests/vendor/axe-core (MPL-2.0, version in its first line).
"""
from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from sqlmodel import select

from models import Account, Passkey, Registration, Reply, Share, TotpFactor
from pages import register_all
from pages.portal import ROUTES
from services import registration, secretbox, settings
from tests import factories
from tests.browser import click, wait_for

pytestmark = pytest.mark.browser

AXE_SCRIPT = Path(__file__).resolve().parent / 'vendor' / 'axe-core' / 'axe.min.js'
TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']
WIDTHS = (1280, 360)
REFLOW_WIDTH = 320
GOOD = {
    'person': {'first_name': 'Robin', 'last_name': 'Quill', 'date_of_birth': '1990-04-02', 'sex': 'Female'},
    'contact_details': {'phone': '+1 555 123 4567', 'email': 'robin@example.test', 'address': '1 Main St'},
    'employment': {'employer': 'Acme', 'employee_id': 'E-77'},
    'registration': {'reason': 'Pre-employment exam'},
    'submitter': {'submitter_name': 'Casey Case', 'submitter_phone': '555 987 6543'},
}
EMAIL = {'contact': 'casey@outside.test', 'staff': 'nurse@clinic.test', 'admin': 'boss@clinic.test'}


@dataclass(frozen=True)
class State:
    """One page state: the route it belongs to, who looks, the address, and how to get there once loaded."""

    route: str
    name: str
    role: str  # 'signed-out' | 'contact' | 'staff' | 'admin'
    url: Callable[[dict], str]
    reach: Callable[..., None] | None = None  # (driver, ids) after the page loaded


def _press(text: str) -> Callable[..., None]:
    def reach(driver, ids) -> None:
        click(driver, f'//button[contains(normalize-space(), "{text}")][not(@disabled)]')
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[role=dialog], [role=alert]:not([style*="none"])'))
    return reach


def _sign_in_fails(driver, ids) -> None:
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys('nobody@outside.test')
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys('wrong password 123')
    click(driver, '//button[normalize-space()="Sign in"]')
    wait_for(driver, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, '[role=alert]') if e.is_displayed()])


def _bad_code(driver, ids) -> None:
    field = wait_for(driver, lambda d: d.find_elements(By.XPATH, '//label[.//*[normalize-space()="Activation code"]]//input'))
    field[0].send_keys('not-a-real-code')
    click(driver, '//button[normalize-space()="NEXT"]')
    wait_for(driver, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, '[role=alert]') if e.is_displayed()])


def _step_label(driver) -> str:
    labels = driver.find_elements(By.XPATH, '//main//div[starts-with(normalize-space(), "Step ")]')
    return labels[0].text if labels else ''


def _walk_steps(driver, ids):
    """Each step of a filled-in wizard in turn (it opens at the review; Back to step 1): each step is a state."""
    wait_for(driver, lambda d: _step_label(d))
    yield _step_label(driver)
    for _ in range(8):
        buttons = [b for b in driver.find_elements(By.XPATH, '//button[normalize-space()="Back"]') if b.is_displayed()]
        if not buttons:
            return
        before = _step_label(driver)
        driver.execute_script('arguments[0].scrollIntoView({block: "center"}); arguments[0].click()', buttons[0])
        wait_for(driver, lambda d, b=before: _step_label(d) not in ('', b))
        yield _step_label(driver)


def _step_one_errors(driver, ids) -> None:
    click(driver, '//button[contains(normalize-space(), "Next")][not(@disabled)]')
    wait_for(driver, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, '[role=alert]') if e.is_displayed()])


def _empty_reply(driver, ids) -> None:
    click(driver, '//button[contains(normalize-space(), "Send reply")]')
    wait_for(driver, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, '[role=alert]') if e.is_displayed()])


def _open_menu(driver, ids) -> None:
    click(driver, '//header//button[contains(normalize-space(), "Menu")]')
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '.q-menu'))


def _password_only(name: str, press: str | None = None) -> Callable[..., None]:
    """Sign in with the password alone as `name`@clinic.test: the second step (or its set-up) opens."""
    def reach(driver, ids) -> None:
        driver.delete_all_cookies()
        driver.get(driver.current_url.split('/login')[0] + '/login')
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
        driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(f'{name}@clinic.test')
        driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
        click(driver, '//button[normalize-space()="Sign in"]')
        wait_for(driver, lambda d: '/login/second-step' in d.current_url and d.find_elements(By.CSS_SELECTOR, 'main h1'))
        if press:
            click(driver, f'//button[normalize-space()="{press}"]')
            wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, 'img[src^="data:image/svg+xml"]'))
    return reach


STATES = [
    State('/login', 'sign-in', 'signed-out', lambda i: '/login'),
    State('/login', 'sign-in failed', 'signed-out', lambda i: '/login', _sign_in_fails),
    State('/forgot-password', 'forgot password', 'signed-out', lambda i: '/forgot-password'),
    State('/activate', 'activation code', 'signed-out', lambda i: '/activate'),
    State('/activate', 'activation code refused', 'signed-out', lambda i: '/activate', _bad_code),
    State('/setup', 'setup without a token', 'signed-out', lambda i: '/setup'),
    State('/registration/{token}', 'wizard link gone', 'signed-out', lambda i: '/registration/not-a-token'),
    State('/registration/{token}', 'wizard step 1', 'signed-out', lambda i: f'/registration/{i["fresh_token"]}'),
    State('/registration/{token}', 'wizard step 1 errors', 'signed-out', lambda i: f'/registration/{i["fresh_token"]}',
          _step_one_errors),
    State('/registration/{token}', 'wizard', 'signed-out', lambda i: f'/registration/{i["full_token"]}',
          _walk_steps),
    State('/', 'messages', 'contact', lambda i: '/'),
    State('/', 'messages: new registration dialog', 'contact', lambda i: '/', _press('NEW REGISTRATION')),
    State('/message/{share_id}', 'document viewer with reply form', 'contact', lambda i: f'/message/{i["share_id"]}'),
    State('/message/{share_id}', 'empty reply refused', 'contact', lambda i: f'/message/{i["share_id"]}', _empty_reply),
    State('/message/{share_id}/print', 'print view', 'contact', lambda i: f'/message/{i["share_id"]}/print'),
    State('/settings', 'settings', 'contact', lambda i: '/settings'),
    State('/passkeys', 'passkeys', 'contact', lambda i: '/passkeys'),
    State('/passkeys', 'passkeys: remove dialog', 'contact', lambda i: '/passkeys', _press('Remove')),
    State('/terms', 'terms of use', 'contact', lambda i: '/terms'),
    State('/registration/start', 'registration start', 'contact', lambda i: '/registration/start'),
    State('/staff', 'clinic workspace', 'staff', lambda i: '/staff'),
    State('/staff', 'clinic workspace: menu open', 'staff', lambda i: '/staff', _open_menu),
    State('/staff/chart/{chart_id}', 'chart', 'staff', lambda i: f'/staff/chart/{i["chart_id"]}'),
    State('/staff/chart/{chart_id}', 'chart: edit dialog', 'staff', lambda i: f'/staff/chart/{i["chart_id"]}',
          _press('Edit chart')),
    State('/staff/chart/{chart_id}/new-document', 'new document', 'staff',
          lambda i: f'/staff/chart/{i["chart_id"]}/new-document'),
    State('/staff/document/{document_id}', 'document', 'staff', lambda i: f'/staff/document/{i["document_id"]}'),
    State('/staff/document/{document_id}', 'document: send dialog', 'staff',
          lambda i: f'/staff/document/{i["document_id"]}', _press('Send')),
    State('/staff/chart/{chart_id}/access-report', 'chart access report', 'staff',
          lambda i: f'/staff/chart/{i["chart_id"]}/access-report'),
    State('/staff/document/{document_id}/access-report', 'document access report', 'staff',
          lambda i: f'/staff/document/{i["document_id"]}/access-report'),
    State('/staff/contacts', 'contacts', 'staff', lambda i: '/staff/contacts'),
    State('/staff/contacts/{contact_id}', 'contact chart', 'staff', lambda i: f'/staff/contacts/{i["contact_id"]}'),
    State('/staff/worklist', 'SMP worklist', 'staff', lambda i: '/staff/worklist'),
    State('/staff/reply/{reply_id}', 'reply', 'staff', lambda i: f'/staff/reply/{i["reply_id"]}'),
    State('/staff/registrations', 'registrations', 'staff', lambda i: '/staff/registrations'),
    State('/staff/settings', 'my settings', 'staff', lambda i: '/staff/settings'),
    State('/staff/document/{document_id}/print', 'print view', 'staff',
          lambda i: f'/staff/document/{i["document_id"]}/print'),
    State('/admin', 'administration', 'admin', lambda i: '/admin'),
    State('/admin/settings', 'settings', 'admin', lambda i: '/admin/settings'),
    State('/admin/accounts', 'accounts', 'admin', lambda i: '/admin/accounts'),
    State('/admin/audit', 'audit log', 'admin', lambda i: '/admin/audit'),
    State('/admin/outbox', 'outbox', 'admin', lambda i: '/admin/outbox'),
    State('/admin/email', 'email delivery', 'admin', lambda i: '/admin/email'),
    State('/admin/templates', 'email templates', 'admin', lambda i: '/admin/templates'),
    State('/admin/questionnaire', 'questionnaire', 'admin', lambda i: '/admin/questionnaire'),
    State('/admin/api', 'API clients and webhooks', 'admin', lambda i: '/admin/api'),
    # two-step sign-in: the password of a person with an authenticator app, of one who must set one up first
    State('/login/second-step', 'second step', 'signed-out', lambda i: '/login', _password_only('twostep')),
    State('/login/second-step/setup', 'set up two-step sign-in', 'signed-out', lambda i: '/login',
          _password_only('mustenrol', press='Set up an authenticator app')),
]


def test_every_page_route_has_its_states() -> None:
    """A page added to the registry without an accessibility state here fails."""
    register_all()
    pages = {path for path, route in ROUTES.items() if route.kind == 'page'}
    covered = {state.route for state in STATES}
    assert pages - covered == set(), 'list the page states of these routes in STATES'
    assert covered - pages == set(), 'these routes are no longer registered'


def _seed(session) -> dict:
    settings.set_value(session, 'registration_enabled', True)
    settings.set_value(session, 'replies_enabled', True)
    settings.set_value(session, 'terms_text', 'Use this portal for work matters only.')
    settings.invalidate_cache()
    staff = factories.account(session, role='staff', email=EMAIL['staff'], name='Nurse Joy')
    factories.account(session, role='admin', email=EMAIL['admin'], name='Boss Admin')
    two_step = factories.account(session, role='staff', email='twostep@clinic.test', name='Two Step')
    session.add(TotpFactor(account_id=two_step.id, secret_sealed=secretbox.encrypt('JBSWY3DPEHPK3PXP'),
                           confirmed=True))
    factories.account(session, role='staff', email='mustenrol@clinic.test', name='Must Enrol').second_factor_forced = True
    contact = factories.contact(session, email=EMAIL['contact'], first='Casey', last='Adjuster')
    account = factories.contact_account(session, contact)
    chart = factories.chart(session, first='Pat', last='Lee')
    body = '<h2>Restrictions</h2><ul><li>No lifting over 10 kg</li><li>No ladders</li></ul><ol><li>Review</li></ol>'
    shared = factories.share(session, contact_row=contact, sender=staff, chart_row=chart, body_html=body)
    factories.share(session, contact_row=contact, sender=staff, chart_row=chart, title='Return to work')
    share = session.get(Share, shared.share_id)
    reply = Reply(share_id=share.id, account_id=account.id, author_name='Casey Adjuster', body='Thank you.')
    session.add(reply)
    share.reply_count += 1
    share.last_reply_at = reply.created_at
    session.add(share)
    session.flush()
    actor = factories.actor_for(session, account)
    fresh = registration.start(session, actor=actor)
    full = registration.start(session, actor=actor)
    submitted = registration.start(session, actor=actor)
    for key, answers in GOOD.items():
        registration.save_section(session, token=full, section_key=key, answers=answers)
        registration.save_section(session, token=submitted, section_key=key, answers=answers)
    registration.submit(session, token=submitted)
    assert session.exec(select(Registration.id)).first() is not None
    return {'share_id': share.id, 'chart_id': chart.id, 'document_id': share.source_document_id, 'contact_id': contact.id, 'reply_id': reply.id, 'fresh_token': fresh,
            'full_token': full}


def _sign_in(driver, url: str, role: str) -> None:
    from services import db
    if role == 'contact':
        db.run(_passkey_for_the_contact, add=False)
    driver.delete_all_cookies()
    driver.get(url + '/login')
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(EMAIL[role])
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    click(driver, '//button[normalize-space()="Sign in"]')
    wait_for(driver, lambda d: '/login' not in d.current_url and d.find_elements(By.CSS_SELECTOR, 'main h1'))
    if role == 'contact':  # a passkey for the /passkeys states, once signed in (it would ask for a second step)
        db.run(_passkey_for_the_contact, add=True)


def _passkey_for_the_contact(session, add: bool) -> None:
    account = session.exec(select(Account).where(Account.email == EMAIL['contact'])).one()
    session.exec(sa.delete(Passkey).where(Passkey.account_id == account.id))
    if add:
        session.add(Passkey(account_id=account.id, credential_id='Y3JlZA', public_key=b'k', user_handle='aA',
                            name='Work laptop'))


def _axe(driver) -> list[dict]:
    from axe_selenium_python import Axe
    axe = Axe(driver, script_url=str(AXE_SCRIPT))
    if not driver.execute_script('return !!window.axe'):
        axe.inject()
    options = json.dumps({'runOnly': {'type': 'tag', 'values': TAGS}, 'resultTypes': ['violations']})
    return axe.run(options=options)['violations']


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f'  {v["id"]} ({v["impact"]}): {v["help"]}')
        for node in v['nodes'][:4]:
            lines.append(f'    {node["target"]}: {node["html"][:160]}')
    return '\n'.join(lines)


# how much of the window the header and footer keep covering while the page scrolls (position fixed)
_FIXED_HEIGHT = """
return [...document.querySelectorAll('.q-header, .q-footer')].filter((e) => getComputedStyle(e).position === 'fixed')
  .reduce((sum, e) => sum + e.offsetHeight, 0);
"""
_TOO_WIDE = """
return [...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1
  && ![...e.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 4).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
"""

# visible tables that scroll sideways inside the page (a phone shows only their key columns: pages/tables.py)
_TABLES_SIDEWAYS = """
return [...document.querySelectorAll('main .q-table__middle')].filter((e) => e.offsetParent !== null
  && e.scrollWidth > e.clientWidth + 1).map((e) => [...e.querySelectorAll('thead th')]
  .filter((th) => th.offsetParent !== null).map((th) => th.innerText.trim()).join('|'));
"""


def _settle(driver) -> None:
    """Wait for the page's own work (tables paging in, notifications) before axe looks."""
    wait_for(driver, lambda d: d.execute_script(
        'return document.readyState === "complete" && !document.querySelector(".q-table__progress, .q-inner-loading")'))
    driver.execute_script('return new Promise(r => setTimeout(r, 150))')


@pytest.mark.parametrize('role', ['signed-out', 'contact', 'staff', 'admin'])
def test_no_axe_violations(role, accessibility_portal, browser) -> None:
    url, ids = accessibility_portal
    if role != 'signed-out':
        _sign_in(browser, url, role)
    failures = []
    for state in [s for s in STATES if s.role == role]:
        browser.set_window_size(WIDTHS[0], 900)
        browser.get(url + state.url(ids))
        reached = iter([state.name])
        try:
            if inspect.isgeneratorfunction(state.reach):
                reached = (f'{state.name}: {step}' for step in state.reach(browser, ids))
            elif state.reach is not None:
                state.reach(browser, ids)
            for name in reached:
                for width in WIDTHS:
                    browser.set_window_size(width, 900 if width > 600 else 780)
                    _settle(browser)
                    violations = _axe(browser)
                    print(f'axe {role:10} {width:4} px  {state.route:45} {name:45} violations: {len(violations)}')
                    if violations:
                        failures.append(f'{state.route} [{name}] at {width} px:\n{_describe(violations)}')
                browser.set_window_size(REFLOW_WIDTH, 780)  # 400 % zoom of 1280 px: no sideways scrolling
                _settle(browser)
                wide = browser.execute_script('return document.documentElement.scrollWidth')
                print(f'reflow {role:7} {REFLOW_WIDTH:4} px  {state.route:45} {name:45} page width: {wide}')
                covered = browser.execute_script(_FIXED_HEIGHT)
                if covered > 0.25 * 780:
                    failures.append(f'{state.route} [{name}]: fixed header/footer cover {covered} px of 780 at '
                                    f'{REFLOW_WIDTH} px')
                sideways = browser.execute_script(_TABLES_SIDEWAYS)
                if sideways:
                    failures.append(f'{state.route} [{name}]: tables scroll sideways at {REFLOW_WIDTH} px: {sideways}')
                if wide > REFLOW_WIDTH:
                    failures.append(f'{state.route} [{name}] scrolls sideways at {REFLOW_WIDTH} px ({wide} px wide): '
                                    f'{browser.execute_script(_TOO_WIDE)}')
                browser.set_window_size(WIDTHS[0], 900)
        except Exception as error:  # noqa: BLE001 (the state could not be reached: say which, go on)
            failures.append(f'{state.route} [{state.name}]: not reached ({type(error).__name__}: {error})')
    assert not failures, '\n'.join(failures)


@pytest.fixture(scope='module')
def accessibility_portal(module_portal, monkeypatch_module):
    """The module's one portal with its people and records."""
    from services import config, db
    for key in ('SMP_DATA_DIR', 'DATABASE_URL', 'SMP_BASE_URL', 'SMP_PORT'):
        monkeypatch_module.setenv(key, module_portal.env[key])
    config.reload_config()
    db.init(module_portal.env['DATABASE_URL'])
    ids = module_portal.seed(_seed)
    return module_portal.url, ids


@pytest.fixture(scope='module')
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


