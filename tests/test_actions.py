"""The one action helper, seen as a person and as the database: once per submit, the session re-checked,
errors next to the control, notices that survive navigation."""
from __future__ import annotations

import logging
import pytest
import sqlalchemy as sa
from nicegui.testing import User
from sqlmodel import delete, select

from models import Account, ActionReceipt, Reply, UserSession
from services import db, idempotency, replies
from services.errors import InvalidInput
from tests import factories, portal_data
from tests.admin_portal import landed_on, until
from tests.portal import seed


def _replies() -> int:
    return db.run(lambda session: session.exec(select(sa.func.count()).select_from(Reply)).one())


async def _message(user: User, marker: str):
    """The action message next to a control, once it shows."""
    label = next(el for el in user.current_layout.descendants() if marker in el._markers)
    assert await until(lambda: label.visible and label.text)
    return label


async def _reply_form(user: User):
    seed(portal_data.enable, replies_enabled=True)
    casey = seed(portal_data.person, email='casey@outside.test', shares=1)
    await portal_data.sign_in_contact(user, casey.email)
    await user.open(f'/message/{casey.share_ids[0]}')
    await user.should_see(marker='reply-form', retries=50)
    return casey


async def test_a_double_click_and_a_burst_of_five_store_one_reply(user: User) -> None:
    await _reply_form(user)
    user.find(marker='reply-text').type('Signed and returned.')
    send = user.find(marker='send-reply')
    for _ in range(5):
        send.click()
    assert await landed_on(user, '/')
    assert _replies() == 1


async def test_the_notice_is_shown_on_the_page_the_action_went_to(user: User) -> None:
    await _reply_form(user)
    user.find(marker='reply-text').type('Signed and returned.')
    user.find(marker='send-reply').click()
    assert await landed_on(user, '/')
    await user.should_see('Your reply was sent to the clinic.', retries=50)
    await user.should_see(marker='flash')
    await user.open('/')  # shown once
    await user.should_not_see(marker='flash')


async def test_a_session_that_ended_meanwhile_is_refused(user: User) -> None:
    casey = await _reply_form(user)
    user.find(marker='reply-text').type('Signed and returned.')
    db.run(lambda session: session.exec(delete(UserSession)))  # signed out everywhere, e.g. by an admin
    user.find(marker='send-reply').click()
    assert await landed_on(user, '/login')
    await user.should_see('Your session has ended. Sign in again to continue.', retries=50)
    assert _replies() == 0
    assert user.back_history[-1] == f'/login?next=%2Fmessage%2F{casey.share_ids[0]}'


async def test_a_service_refusal_is_shown_next_to_the_control_and_announced(user: User) -> None:
    await _reply_form(user)
    user.find(marker='send-reply').click()
    label = await _message(user, 'reply-error')
    assert label.text == 'Your reply is required.'
    assert label.props['aria-live'] == 'polite' and label.props['role'] == 'alert'
    assert _replies() == 0


async def test_an_unexpected_failure_shows_an_error_id_that_is_in_the_log(
        user: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    await _reply_form(user)
    user.find(marker='reply-text').type('Signed and returned.')

    def broken(*, actor, share_id, text, attachments=(), idempotency_key=None):
        raise RuntimeError('disk on fire')
    monkeypatch.setattr(replies, 'create_reply', broken)
    user.find(marker='send-reply').click()
    text = (await _message(user, 'reply-error')).text
    assert text.startswith('Something went wrong (error')
    error_id = text.split('(error ')[1].split(')')[0]
    assert any(error_id in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert 'disk on fire' not in text
    caplog.clear()  # the logged error is expected here


# ----------------------------------------------------------------------------- the service side of a repeat

def test_a_reply_submitted_twice_with_one_key_is_stored_once(database: str) -> None:
    casey = db.run(portal_data.person, email='casey@outside.test', shares=1)
    db.run(portal_data.enable, replies_enabled=True)
    actor = db.run(lambda session: factories.actor_for(session, session.get(Account, casey.account_id)))
    first = replies.create_reply(actor=actor, share_id=casey.share_ids[0], text='Once', idempotency_key='k-1')
    again = replies.create_reply(actor=actor, share_id=casey.share_ids[0], text='Once', idempotency_key='k-1')
    assert isinstance(first, int) and again is idempotency.REPLAYED
    assert _replies() == 1


def test_old_receipts_are_forgotten(database: str, clock) -> None:
    db.run(lambda session: idempotency.claim(session, key='old', action='test'))
    clock.advance(days=idempotency.KEEP_DAYS, seconds=1)
    db.run(lambda session: idempotency.claim(session, key='new', action='test'))
    assert db.run(idempotency.forget_old) == 1
    assert db.run(lambda session: [r.key for r in session.exec(select(ActionReceipt)).all()]) == ['new']


def test_a_refused_change_leaves_its_key_free_for_the_corrected_submit(database: str) -> None:
    def refuse(session) -> None:
        raise InvalidInput('Fix the time zone.')
    with pytest.raises(InvalidInput):
        db.run(idempotency.run_once, idempotency_key='k-2', service=refuse)
    assert db.run(idempotency.was_used, key='k-2') is False
    assert db.run(idempotency.run_once, idempotency_key='k-2', service=lambda session: 'saved') == 'saved'
    assert db.run(idempotency.run_once, idempotency_key='k-2', service=lambda session: 'saved') \
        is idempotency.REPLAYED
