"""Passkeys in Chromium with its virtual authenticator (WebDriver): enrol on /passkeys, sign out, sign in with the
passkey alone from /login, rename and remove it; a credential the portal does not know, a forged one for another
person's passkey, and a replayed assertion are all refused.

WebAuthn needs a secure context and a relying-party id that is a domain: the portal runs with
SMP_BASE_URL=http://localhost:PORT (listening on 127.0.0.1 only) and the browser opens it at that address.
"""
from __future__ import annotations

import os
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from selenium.common.exceptions import (
    ElementNotInteractableException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.virtual_authenticator import (
    Credential,
    Protocol,
    Transport,
    VirtualAuthenticatorOptions,
)
from sqlmodel import select

from models import Account, AuditEvent, Passkey
from services import config, db
from tests import factories
from tests.browser import click, start_portal, stop_portal, wait_for

pytestmark = pytest.mark.browser

# records what the page posts to /passkeys/verify (in sessionStorage: it outlives the navigation after a sign-in)
RECORD_VERIFY = """
const plain = window.fetch;
window.fetch = (url, options) => {
  if (url === '/passkeys/verify') sessionStorage.setItem('lastVerify', options.body);
  return plain(url, options);
};
"""
# the authenticator answers with the recorded assertion (same signature, same counter) to whatever it is asked
REPLAY_RECORDED = """
const recorded = JSON.parse(sessionStorage.getItem('lastVerify')).credential;
const buf = (t) => Uint8Array.from(atob(t.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((t.length + 3) % 4)),
                                   (c) => c.charCodeAt(0)).buffer;
navigator.credentials.get = async () => ({
  id: recorded.id, rawId: buf(recorded.rawId), type: 'public-key', authenticatorAttachment: 'platform',
  getClientExtensionResults: () => ({}),
  response: {clientDataJSON: buf(recorded.response.clientDataJSON),
             authenticatorData: buf(recorded.response.authenticatorData),
             signature: buf(recorded.response.signature),
             userHandle: recorded.response.userHandle ? buf(recorded.response.userHandle) : null},
});
"""


@pytest.fixture(scope='module')
def passkey_portal(tmp_path_factory: pytest.TempPathFactory):
    """One portal for the module, known to itself (and to the browser) as http://localhost:PORT."""
    data_dir = tmp_path_factory.mktemp('passkey-portal')
    environ = {k: v for k, v in os.environ.items() if not k.startswith('SMP_SMTP_')}
    environ.update(SMP_ARGON2_MEMORY_KIB='256', SMP_ARGON2_TIME_COST='1')
    environ.pop('DATABASE_URL', None)
    server = start_portal(data_dir, environ, host_name='localhost')
    yield server
    stop_portal(server)


@pytest.fixture
def portal(passkey_portal, monkeypatch: pytest.MonkeyPatch):
    for key in ('SMP_DATA_DIR', 'DATABASE_URL', 'SMP_BASE_URL', 'SMP_PORT'):
        monkeypatch.setenv(key, passkey_portal.env[key])
    config.reload_config()
    db.init(passkey_portal.env['DATABASE_URL'])
    return passkey_portal


@pytest.fixture
def authenticator(browser):
    """A platform authenticator with resident keys that verifies its user (a phone's or laptop's)."""
    browser.add_virtual_authenticator(VirtualAuthenticatorOptions(
        protocol=Protocol.CTAP2, transport=Transport.INTERNAL, has_resident_key=True, has_user_verification=True,
        is_user_verified=True))
    return browser


def _person(email: str, role: str = 'contact') -> int:
    return db.run(lambda session: factories.account(session, role=role, email=email).id)


def _visible(driver, text: str) -> bool:
    return any(e.is_displayed() for e in driver.find_elements(By.XPATH, f'//*[contains(text(), {text!r})]'))


def _sign_in(driver, url: str, email: str) -> None:
    driver.delete_all_cookies()
    driver.get(url + '/login')
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(email)
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    click(driver, '//button[normalize-space()="Sign in"]')
    wait_for(driver, lambda d: '/login' not in d.current_url and d.find_elements(By.CSS_SELECTOR, 'main h1'))


def _enrol(driver, url: str, name: str) -> None:
    driver.get(url + '/passkeys')
    field = wait_for(driver, lambda d: d.find_elements(By.XPATH, '//label[.//*[normalize-space()="Passkey name"]]//input'))
    field[0].send_keys(name)
    click(driver, '//button[contains(normalize-space(), "Add a passkey")]')
    wait_for(driver, lambda d: _visible(d, f'Passkey "{name}" added.'))


def _click_in_dialog(driver, text: str) -> None:
    """Click a dialog's button once its opening animation lets it take clicks."""
    def attempt(d) -> bool:
        try:
            d.find_element(By.XPATH, f'//*[@role="dialog"]//button[contains(normalize-space(), "{text}")]').click()
            return True
        except (ElementNotInteractableException, StaleElementReferenceException, NoSuchElementException):
            return False
    wait_for(driver, attempt)


def _passkey_sign_in(driver, url: str) -> None:
    driver.get(url + '/login')
    click(driver, '//button[contains(normalize-space(), "Sign in with a passkey")][not(@disabled)]')


def _sign_ins(email: str) -> list[str]:
    return db.run(lambda session: [e.detail_json for e in session.exec(
        select(AuditEvent).where(AuditEvent.action == 'sign_in', AuditEvent.actor == email)).all()])


def test_enrol_sign_out_sign_in_with_the_passkey_rename_and_remove_it(portal, authenticator) -> None:
    driver, url = authenticator, portal.url
    account_id = _person('casey@outside.test')
    _sign_in(driver, url, 'casey@outside.test')
    _enrol(driver, url, 'Work laptop')
    wait_for(driver, lambda d: _visible(d, 'Last used never'))
    stored = db.run(lambda session: session.exec(select(Passkey).where(Passkey.account_id == account_id)).one())
    assert stored.name == 'Work laptop' and stored.transports == 'internal'
    assert len(driver.get_credentials()) == 1 and driver.get_credentials()[0].is_resident_credential

    click(driver, '//button[contains(normalize-space(), "Sign out")]')
    wait_for(driver, lambda d: '/login' in d.current_url)
    _passkey_sign_in(driver, url)  # no username: the browser offers the passkey it holds
    wait_for(driver, lambda d: d.current_url.rstrip('/') == url and d.find_elements(By.CSS_SELECTOR, 'main h1'))
    assert ['{"method": "passkey"}'] == [d for d in _sign_ins('casey@outside.test') if 'passkey' in d]
    with db.transaction() as session:
        assert session.get(Account, account_id).last_sign_in_at is not None

    driver.get(url + '/passkeys')
    wait_for(driver, lambda d: d.find_elements(By.XPATH, '//*[normalize-space()="Work laptop"]'))
    assert not _visible(driver, 'Last used never')
    rename = driver.find_element(By.XPATH, '//label[.//*[normalize-space()="New name"]]//input')
    rename.send_keys(Keys.CONTROL, 'a')
    rename.send_keys('Home desktop')
    click(driver, '//button[@aria-label="Rename Work laptop"]')
    wait_for(driver, lambda d: _visible(d, 'Passkey renamed.') and d.find_elements(
        By.XPATH, '//*[normalize-space()="Home desktop"]'))
    click(driver, '//button[@aria-label="Remove Home desktop"]')
    _click_in_dialog(driver, 'Remove passkey')
    wait_for(driver, lambda d: _visible(d, 'Passkey "Home desktop" removed.') and _visible(d, 'You have no passkeys yet.'))
    assert db.run(lambda session: session.exec(select(Passkey)).all()) == []

    # the browser still holds the passkey, the portal no longer knows it: refused, and audited
    click(driver, '//button[contains(normalize-space(), "Sign out")]')
    wait_for(driver, lambda d: '/login' in d.current_url)
    _passkey_sign_in(driver, url)
    wait_for(driver, lambda d: _visible(d, 'The passkey was not accepted'))
    assert '/login' in driver.current_url
    failed = db.run(lambda session: session.exec(select(AuditEvent).where(AuditEvent.action == 'passkey_failed')).all())
    assert [f.detail_json for f in failed] == ['{"reason": "unknown credential", "stage": "passwordless"}']


def test_a_forged_credential_for_another_persons_passkey_is_refused(portal, authenticator) -> None:
    driver, url = authenticator, portal.url
    _person('pat@outside.test')
    _sign_in(driver, url, 'pat@outside.test')
    _enrol(driver, url, 'Pat phone')
    real = driver.get_credentials()[0]
    driver.remove_all_credentials()
    # someone who learned Pat's credential id (it is no secret) holds a key of their own under that id
    forged_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    driver.add_credential(Credential.create_resident_credential(
        real._id, 'localhost', real._user_handle, forged_key, 10))  # a count ahead: the signature decides
    driver.delete_all_cookies()
    _passkey_sign_in(driver, url)
    wait_for(driver, lambda d: _visible(d, 'The passkey was not accepted'))
    assert '/login' in driver.current_url
    assert [d for d in _sign_ins('pat@outside.test') if 'passkey' in d] == []
    failed = db.run(lambda session: session.exec(select(AuditEvent).where(
        AuditEvent.action == 'passkey_failed', AuditEvent.actor == 'pat@outside.test')).all())
    assert len(failed) == 1 and 'signature' in failed[0].detail_json.lower()


def test_a_replayed_assertion_is_refused(portal, authenticator) -> None:
    driver, url = authenticator, portal.url
    _person('robin@outside.test')
    _sign_in(driver, url, 'robin@outside.test')
    _enrol(driver, url, 'Robin laptop')
    driver.delete_all_cookies()
    driver.get(url + '/login')
    driver.execute_script(RECORD_VERIFY)
    click(driver, '//button[contains(normalize-space(), "Sign in with a passkey")][not(@disabled)]')
    wait_for(driver, lambda d: '/login' not in d.current_url and d.find_elements(By.CSS_SELECTOR, 'main h1'))
    assert len([d for d in _sign_ins('robin@outside.test') if 'passkey' in d]) == 1

    # the same signed answer, posted again by the script for a fresh challenge: refused, nobody signed in
    driver.delete_all_cookies()
    driver.get(url + '/login')
    assert driver.execute_script("return !!sessionStorage.getItem('lastVerify')")
    driver.execute_script(REPLAY_RECORDED)
    click(driver, '//button[contains(normalize-space(), "Sign in with a passkey")][not(@disabled)]')
    wait_for(driver, lambda d: _visible(d, 'The passkey was not accepted'))
    # and straight to the endpoint, for the ceremony it was made for: that challenge was answered
    status = driver.execute_async_script("""
const done = arguments[arguments.length - 1];
fetch('/passkeys/verify', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-SMP-Passkey': '1'},
                           body: sessionStorage.getItem('lastVerify')}).then((r) => r.json()).then(done);
""")
    assert status == {'ok': False, 'code': 'expired'}
    assert '/login' in driver.current_url
    assert len([d for d in _sign_ins('robin@outside.test') if 'passkey' in d]) == 1


def test_a_password_sign_in_asks_for_the_passkey_as_second_step_and_the_last_one_stays_while_required(
        portal, authenticator) -> None:
    driver, url = authenticator, portal.url
    account_id = _person('quinn@clinic.test', role='staff')
    _sign_in(driver, url, 'quinn@clinic.test')  # staff in their grace period: no second step yet
    _enrol(driver, url, 'Desk key')

    driver.delete_all_cookies()
    driver.get(url + '/login')
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys('quinn@clinic.test')
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    click(driver, '//button[normalize-space()="Sign in"]')
    wait_for(driver, lambda d: '/login/second-step' in d.current_url)
    driver.get(url + '/staff')  # the password alone opens nothing else
    wait_for(driver, lambda d: '/login/second-step' in d.current_url)
    click(driver, '//button[contains(normalize-space(), "Use a passkey")][not(@disabled)]')
    wait_for(driver, lambda d: '/login' not in d.current_url and d.find_elements(By.CSS_SELECTOR, 'main h1'))
    passed = db.run(lambda session: [e.detail_json for e in session.exec(select(AuditEvent).where(
        AuditEvent.action == 'second_step_passed', AuditEvent.actor == 'quinn@clinic.test')).all()])
    assert passed == ['{"method": "passkey"}']

    # staff must keep a second step: the only passkey cannot be removed
    driver.get(url + '/passkeys')
    click(driver, '//button[@aria-label="Remove Desk key"]')
    _click_in_dialog(driver, 'Remove passkey')
    wait_for(driver, lambda d: _visible(d, 'The clinic requires a second step at sign-in'))
    assert db.run(lambda session: len(session.exec(select(Passkey).where(Passkey.account_id == account_id)).all())) == 1


def test_a_person_who_must_enrol_can_add_a_passkey_on_the_set_up_page(portal, authenticator) -> None:
    driver, url = authenticator, portal.url

    def forced(session) -> int:
        account = factories.account(session, role='staff', email='sam@clinic.test')
        account.second_factor_forced = True  # "Require two-step at next sign-in"
        return account.id
    account_id = db.run(forced)
    driver.delete_all_cookies()
    driver.get(url + '/login')
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys('sam@clinic.test')
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=current-password]').send_keys(factories.PASSWORD)
    click(driver, '//button[normalize-space()="Sign in"]')
    wait_for(driver, lambda d: '/login/second-step/setup' in d.current_url)
    click(driver, '//button[contains(normalize-space(), "Add a passkey")][not(@disabled)]')
    wait_for(driver, lambda d: _visible(d, 'Two-step sign-in is on.'))
    shown = re.findall(r'\b[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}\b', driver.find_element(By.TAG_NAME, 'main').text)
    assert len(set(shown)) == 10  # the first recovery codes, shown once
    click(driver, '//button[normalize-space()="Continue"]')
    wait_for(driver, lambda d: '/login' not in d.current_url and d.find_elements(By.CSS_SELECTOR, 'main h1'))
    assert '/staff' in driver.current_url
    with db.transaction() as session:
        assert [p.name for p in session.exec(select(Passkey).where(Passkey.account_id == account_id)).all()] == \
            ['My passkey']
    passed = db.run(lambda session: [e.detail_json for e in session.exec(select(AuditEvent).where(
        AuditEvent.action == 'second_step_passed', AuditEvent.actor == 'sam@clinic.test')).all()])
    assert passed == ['{"method": "passkey"}']
