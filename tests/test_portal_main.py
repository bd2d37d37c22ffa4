"""The contact's main screen (`/`) through the User fixture: columns, unread marks, Reply To, Replies, LOGOUT."""
from __future__ import annotations


import pytest
from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from models import Account, UserSession
from services import auth, db, replies
from tests import portal_data
from tests.portal import seed, sign_in


def _table(user: User, marker: str) -> ui.table:
    return next(iter(user.find(marker=marker).elements))


def _reply(person: portal_data.Person, share_id: int, text: str = 'Thanks, received.') -> int:
    with db.transaction() as session:
        actor = auth.account_actor(session, session.get(Account, person.account_id))
    return replies.create_reply(actor=actor, share_id=share_id, text=text)


async def test_the_six_column_titles_in_the_seed_order(user: User) -> None:
    casey = seed(portal_data.person, email='casey@outside.test', shares=1)
    await portal_data.sign_in_contact(user, casey.email)
    labels = [c['label'] for c in _table(user, 'messages').columns]
    assert labels == ['MESSAGE', 'SERV DATE', 'REGARDING', 'BY', 'TYPE', 'DOCUMENTATION']


async def test_unread_marking_clears_after_opening(user: User) -> None:
    casey = seed(portal_data.person, email='casey@outside.test', shares=2)
    await portal_data.sign_in_contact(user, casey.email)
    rows = _table(user, 'messages').rows
    assert [r['unread'] for r in rows] == [True, True]
    await user.open(f'/message/{casey.share_ids[0]}')
    await user.should_see(marker='message-header')
    await user.open('/')
    rows = {r['id']: r for r in _table(user, 'messages').rows}
    assert rows[casey.share_ids[0]]['unread'] is False
    assert rows[casey.share_ids[1]]['unread'] is True


@pytest.mark.parametrize('enabled', [False, True])
async def test_reply_to_arrow_only_when_replies_are_enabled(user: User, enabled: bool) -> None:
    casey = seed(portal_data.person, email='casey@outside.test', shares=1)
    seed(portal_data.enable, replies_enabled=enabled)
    await portal_data.sign_in_contact(user, casey.email)
    assert [r['can_reply'] for r in _table(user, 'messages').rows] == [enabled]


async def test_replies_list_appears_after_a_reply_with_its_count(user: User) -> None:
    casey = seed(portal_data.person, email='casey@outside.test', shares=2)
    seed(portal_data.enable, replies_enabled=True)
    await portal_data.sign_in_contact(user, casey.email)
    await user.should_not_see('Replies')
    _reply(casey, casey.share_ids[1])
    _reply(casey, casey.share_ids[1], 'And one more thing.')
    await user.open('/')
    await user.should_see(marker='replies-title')
    assert [r['id'] for r in _table(user, 'messages').rows] == [casey.share_ids[0]]
    row, = _table(user, 'replies').rows
    assert (row['id'], row['replies']) == (casey.share_ids[1], 2)
    assert row['last_reply']


async def test_home_icon_returns_to_the_list(user: User) -> None:
    casey = seed(portal_data.person, email='casey@outside.test', shares=1)
    await portal_data.sign_in_contact(user, casey.email)
    await user.open(f'/message/{casey.share_ids[0]}')
    await user.should_see(marker='message-header')
    user.find(marker='home').click()
    await user.should_see(marker='messages')


async def test_logout_ends_the_session_and_the_old_token_is_refused(user: User, monkeypatch) -> None:
    tokens: list[str] = []
    original = auth.create_session
    monkeypatch.setattr(auth, 'create_session', lambda *a, **kw: tokens.append(original(*a, **kw)) or tokens[-1])
    casey = seed(portal_data.person, email='casey@outside.test', shares=1)
    await portal_data.sign_in_contact(user, casey.email)
    assert auth.resolve_session(tokens[-1]) is not None
    user.find(marker='logout').click()
    await user.should_see(marker='sign-in')
    assert auth.resolve_session(tokens[-1]) is None
    with db.transaction() as session:
        assert session.exec(select(UserSession)).all() == []
    await user.open('/')
    await user.should_see(marker='sign-in')


async def test_empty_state_says_what_the_portal_is_for(user: User) -> None:
    casey = seed(portal_data.person, email='casey@outside.test')
    await portal_data.sign_in_contact(user, casey.email)
    await user.should_see(marker='empty-state')
    await user.should_see('is where the clinic sends you documents securely', )


async def test_new_registration_only_when_enabled_and_confirm_signs_out(user: User) -> None:
    casey = seed(portal_data.person, email='casey@outside.test', shares=1)
    await portal_data.sign_in_contact(user, casey.email)
    await user.should_not_see(marker='new-registration')
    seed(portal_data.enable, registration_enabled=True)
    await user.open('/')
    user.find(marker='new-registration').click()
    await user.should_see('You will be signed out to register a new person. Continue?')
    user.find(marker='registration-confirm').click()
    await user.should_see(marker='stepper', retries=50)  # the wizard, behind its own token
    assert user.back_history[-1].startswith('/registration/') and user.back_history[-1] != '/registration/start'
    with db.transaction() as session:
        assert session.exec(select(UserSession)).all() == []  # signed out
    await user.open('/')
    await user.should_see(marker='sign-in', retries=50)


async def test_staff_still_go_to_their_start_page(user: User) -> None:
    from tests import factories
    seed(lambda session: factories.account(session, role='staff', email='nurse@clinic.test'))
    await sign_in(user, 'nurse@clinic.test')
    await user.open('/')
    await user.should_see(marker='staff-home')


async def test_opening_the_main_screen_takes_one_thread_hop_and_few_elements(user: User, monkeypatch) -> None:
    """Issue 15: the session check and both lists in one trip off the event loop; no element built in vain."""
    from nicegui import run
    casey = seed(portal_data.person, email='casey@outside.test', shares=3)
    await portal_data.sign_in_contact(user, casey.email)
    hops = []
    io_bound = run.io_bound

    async def counted(*args, **kwargs):
        hops.append(getattr(args[0], '__name__', args[0]))
        return await io_bound(*args, **kwargs)

    monkeypatch.setattr(run, 'io_bound', counted)
    await user.open('/')
    await user.should_see(marker='messages')
    assert hops == ['_read_visit']
    assert len(user.client.elements) <= 32, len(user.client.elements)  # 27 when written (frame included)
