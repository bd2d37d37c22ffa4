"""The admin sees a paused outbox on the admin pages and can retry every failed email at once."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import OutboxEmail
from services import db, outbox
from tests import factories
from tests.portal import seed, sign_in
from tests.test_outbox_refusals import relay  # noqa: F401 (fixture)

WAIT = 50


async def test_a_paused_outbox_shows_a_banner_and_failed_emails_are_retried_at_once(
        user: User, relay) -> None:  # noqa: F811
    seed(lambda session: factories.account(session, role='admin', email='boss@clinic.test'))

    def queue(session):
        for n in range(2):
            outbox.enqueue(session, kind='test_email', to=f'gone{n}@outside.test', context={'sent_at': 'now'})
    seed(queue)
    relay.reject.update({'gone0@outside.test', 'gone1@outside.test'})
    assert outbox.process_outbox() == {'failed': 2}
    relay.refuse_all = '550 5.7.1 Relaying denied'
    seed(lambda session: outbox.enqueue(session, kind='test_email', to='later@outside.test',
                                        context={'sent_at': 'now'}))
    assert outbox.process_outbox() == {'pending': 1}

    await sign_in(user, 'boss@clinic.test')
    await user.should_see(marker='admin-home', retries=WAIT)
    await user.should_see(marker='outbox-paused', retries=WAIT)
    await user.should_see('Email delivery is paused since', retries=WAIT)
    await user.open('/admin/outbox')
    await user.should_see(marker='outbox-paused', retries=WAIT)
    user.find(marker='retry-all').click()
    await user.should_see('2 failed emails queued again.', retries=WAIT)
    with db.transaction() as session:
        assert sorted(session.exec(select(OutboxEmail.status)).all()) == ['pending'] * 3
