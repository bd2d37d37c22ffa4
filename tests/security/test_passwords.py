"""Issue 12 item 4: weak passwords are refused (NIST SP 800-63B) wherever a password is set, with the reason."""
from __future__ import annotations

import ast
import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from models import Account, OutboxEmail
from services import activation, auth, contact_accounts, db, passwords, settings
from services.contact_accounts import NewAccount
from services.errors import InvalidInput
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
GOOD = 'violet harbour kettle 93'
WEAK = {  # password -> what the person is told
    'password123456': passwords.DECORATED,
    'aaaaaaaaaaaa': passwords.COMMON,
    'aaaaaaaaaaaaaaab': passwords.PATTERN,
    'Summer2024!!!!': passwords.DECORATED,
    'p@ssw0rd2024!': passwords.DECORATED,
    'abcdefghijklmn': passwords.PATTERN,
    'zyxwvutsrqponm': passwords.PATTERN,
    '1234567890123': passwords.COMMON,
    'qwertyuiopasdf': passwords.COMMON,
    'mnbvcxzlkjhgfd': passwords.PATTERN,
    'blue42blue42blue42': passwords.PATTERN,
    'iloveyou1234': passwords.COMMON,
}


def _problem(password: str, *, username: str = 'dr.jones@outside.test', portal: str = 'Secure Message Portal',
             min_length: int = 12) -> str | None:
    return passwords.password_problem(password, password, username=username, email=username, portal_name=portal,
                                      min_length=min_length)


def test_the_blocklist_is_a_large_compressed_public_list() -> None:
    path = ROOT / 'assets' / 'common-passwords.txt.gz'
    with gzip.open(path, 'rt', encoding='utf-8') as f:
        header = [line for line in f.read().splitlines() if line.startswith('#')]
    assert any('SecLists' in line for line in header) and any('CC BY-SA 3.0' in line for line in header)
    common = passwords.common_passwords()
    assert len(common) >= 100_000
    assert sum(len(p) >= 12 for p in common) >= 40_000  # usable at the default minimum length, not ~230
    assert {'password', 'password1234', 'aaaaaaaaaaaa', 'qwertyuiop123'} <= common
    assert not (ROOT / 'assets' / 'common-passwords.txt').exists()


@pytest.mark.parametrize(('password', 'reason'), WEAK.items())
def test_weak_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    assert _problem(password) == reason


@pytest.mark.parametrize('password', [GOOD, 'a long enough passphrase 42', 'correct horse battery staple',
                                      'x7!Kq9#mPz2$', 'Tr0ub4dor&3xyz', 'the quick brown fox'])
def test_good_passwords_pass(password: str) -> None:
    assert _problem(password) is None


def test_context_words_are_refused() -> None:
    assert _problem('jones kettle violet', username='dr.jones@outside.test') == passwords.USERNAME_IN
    assert _problem('kettle outside violet', username='dr.jones@outside.test') == passwords.USERNAME_IN
    assert _problem('DrJones kettle 2024x', username='dr.jones@outside.test') == passwords.USERNAME_IN
    assert _problem('my riverside clinic pw', portal='Riverside Clinic') == passwords.PORTAL_IN
    assert _problem('kettle SecureMessagePortal') == passwords.PORTAL_IN


def test_the_minimum_length_comes_from_the_settings() -> None:
    assert _problem('kettle lamp 7x', min_length=16) == 'The password must have at least 16 characters.'
    assert _problem('kettle lamp 7x', min_length=12) is None
    assert _problem('x' * 129) == 'The password can have at most 128 characters.'
    assert _problem('violet\x00harbour kettle') == passwords.BAD_CHARACTER


def test_one_function_sets_every_password() -> None:
    """Nothing but services/passwords.py hashes a password: every setter goes through accept_new_password."""
    callers = []
    for path in [ROOT / 'main.py', *sorted((ROOT / 'services').glob('*.py')), *sorted((ROOT / 'pages').rglob('*.py'))]:
        if path.name == 'passwords.py':
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ('hash_password', 'hasher'):
                callers.append(f'{path.relative_to(ROOT)}:{node.lineno}')
    assert callers == []


# ----------------------------------------------------------------------------- every place a password is set

def test_cli_create_user_refuses_weak_passwords(portal_env: Path) -> None:
    for weak in ('password123456', 'aaaaaaaaaaaa'):
        result = subprocess.run([sys.executable, str(ROOT / 'main.py'), 'create-user', '--role', 'admin', '--email',
                                 'boss@clinic.test'], input=weak + '\n', capture_output=True, text=True,
                                env=dict(os.environ), cwd=ROOT, timeout=120)
        assert result.returncode == 2 and WEAK[weak] in result.stderr


@pytest.mark.parametrize('weak', ['password123456', 'aaaaaaaaaaaa'])
def test_setup_refuses_weak_passwords(database, weak: str) -> None:
    token = db.run(auth.issue_setup_token)
    with pytest.raises(InvalidInput, match='Choose another'):
        auth.complete_setup(token=token, email='boss@clinic.test', password=weak, confirm=weak, ip_address=None)
    assert db.run(lambda session: session.exec(select(Account)).all()) == []


@pytest.mark.parametrize('weak', ['password123456', 'aaaaaaaaaaaa', 'jones harbour kettle'])
def test_activation_refuses_weak_passwords(database, weak: str) -> None:
    def invite(session):
        contact = factories.contact(session, email='dr.jones@outside.test')
        return activation.issue_code(session, contact=contact, actor=None).code
    code = db.run(invite)
    with pytest.raises(InvalidInput, match='Choose another|must not contain'):
        contact_accounts.create_account(code=code, new=NewAccount(email='dr.jones@outside.test', password=weak,
                                                                  confirm=weak), ip_address=None)
    assert db.run(lambda session: session.exec(select(Account)).all()) == []


def test_change_and_reset_refuse_weak_passwords(database) -> None:
    def make(session):
        contact = factories.contact(session, email='dr.jones@outside.test')
        return factories.actor_for(session, factories.contact_account(session, contact))
    actor = db.run(make)
    for weak in ('password123456', 'aaaaaaaaaaaa'):
        with pytest.raises(InvalidInput, match='Choose another'):
            contact_accounts.change_password(actor=actor, current=factories.PASSWORD, new=weak, confirm=weak)
    contact_accounts.request_password_reset(email='dr.jones@outside.test', ip_address=None)
    email = db.run(lambda session: session.exec(select(OutboxEmail).where(OutboxEmail.kind == 'password_reset')).one())
    code = factories.code_in(email, 'reset_code')
    for weak in ('password123456', 'aaaaaaaaaaaa'):
        with pytest.raises(InvalidInput, match='Choose another'):
            contact_accounts.reset_password(email='dr.jones@outside.test', code=code, password=weak, confirm=weak,
                                            ip_address=None)
    # the old password still works, the reset code is still usable for a good password
    assert auth.sign_in(username='dr.jones@outside.test', password=factories.PASSWORD, ip_address=None)
    contact_accounts.reset_password(email='dr.jones@outside.test', code=code, password=GOOD, confirm=GOOD,
                                    ip_address=None)
    assert auth.sign_in(username='dr.jones@outside.test', password=GOOD, ip_address=None)


def test_an_admin_created_account_sets_its_password_under_the_same_rule(database) -> None:
    from services import accounts_admin

    def make(session):
        boss = factories.actor_for(session, factories.account(session, role='admin'))
        accounts_admin.create_staff_account(session, actor=boss, email='new.nurse@clinic.test', display_name='N',
                                            role='staff')
    db.run(make)
    email = db.run(lambda session: session.exec(select(OutboxEmail)).one())
    code = factories.code_in(email, 'reset_code')
    with pytest.raises(InvalidInput, match='Choose another'):
        contact_accounts.reset_password(email='new.nurse@clinic.test', code=code, password='password123456',
                                        confirm='password123456', ip_address=None)


def test_a_longer_minimum_applies_at_once(database) -> None:
    db.run(settings.save_settings, changes={'password_min_length': 30}, account_id=None)
    token = db.run(auth.issue_setup_token)
    with pytest.raises(InvalidInput, match='at least 30 characters'):
        auth.complete_setup(token=token, email='boss@clinic.test', password=GOOD, confirm=GOOD, ip_address=None)
