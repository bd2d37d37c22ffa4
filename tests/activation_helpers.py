"""Helpers for the activation page tests: invite a contact, walk the first screens."""
from __future__ import annotations

from nicegui.testing import User

from services import activation
from tests import factories
from tests.portal import seed

PASSWORD = 'violet harbour kettle 93'


def invite(email: str = 'dr.jones@outside.test') -> tuple[int, str]:
    def make(session):
        contact = factories.contact(session, email=email)
        return contact.id, activation.issue_code(session, contact=contact, actor=None).code
    return seed(make)


async def open_with_code(user: User, code: str) -> None:
    await user.open(f'/activate?code={activation.normalize_code(code)}')
    await user.should_see(marker='who-next', retries=50)


async def fill_password(user: User, password: str = PASSWORD, confirm: str | None = None) -> None:
    await user.should_see(marker='create-account', retries=50)
    user.find(marker='password').type(password)
    user.find(marker='confirm').type(password if confirm is None else confirm)
    user.find(marker='create-account').click()
