"""A document with many replies: the viewer shows the newest 20 and pages older ones on request."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from nicegui.testing import User

from models import Reply, Share
from services import clock, db, messages
from tests import portal_data
from tests.portal import seed


def _with_replies(session, *, email: str, count: int) -> portal_data.Person:
    """A contact with one share that has `count` replies, one minute apart (body 'Reply 1' is the oldest)."""
    who = portal_data.person(session, email=email, shares=1)
    share_id = who.share_ids[0]
    start = clock.now() - timedelta(days=1)
    session.execute(sa.insert(Reply), [{'share_id': share_id, 'account_id': who.account_id, 'author_name': 'Casey',
                                        'body': f'Reply {n + 1}', 'created_at': start + timedelta(minutes=n)}
                                       for n in range(count)])
    session.execute(sa.update(Share).where(Share.id == share_id).values(reply_count=count,
                                                                         last_reply_at=start))
    return who


def _bodies(page) -> list[str]:
    return [r.body for r in page.replies]


def test_replies_come_newest_first_twenty_at_a_time(database) -> None:
    casey = db.run(_with_replies, email='casey@outside.test', count=45)
    actor = db.run(lambda session: portal_data_actor(session, casey.account_id))
    first = db.run(messages.list_replies, actor=actor, share_id=casey.share_ids[0])
    assert _bodies(first) == [f'Reply {n}' for n in range(45, 25, -1)] and first.total == 45
    second = db.run(messages.list_replies, actor=actor, share_id=casey.share_ids[0], before=first.older)
    third = db.run(messages.list_replies, actor=actor, share_id=casey.share_ids[0], before=second.older)
    assert _bodies(second) == [f'Reply {n}' for n in range(25, 5, -1)]
    assert _bodies(third) == [f'Reply {n}' for n in range(5, 0, -1)] and third.older is None
    view = messages.open_message(actor=actor, share_id=casey.share_ids[0])
    assert [r.body for r in view.replies] == _bodies(first) and view.reply_total == 45 and view.older_replies


def portal_data_actor(session, account_id: int):
    from models import Account
    from services import auth
    return auth.account_actor(session, session.get(Account, account_id))


async def test_the_viewer_shows_older_replies_on_request(user: User) -> None:
    casey = seed(_with_replies, email='casey@outside.test', count=25)
    await portal_data.sign_in_contact(user, casey.email)
    await user.open(f'/message/{casey.share_ids[0]}')
    await user.should_see('Replies (25)', retries=50)
    assert _shown(user) == [f'Reply {n}' for n in range(25, 5, -1)]  # newest first
    user.find(marker='older-replies').click()
    for _ in range(100):  # the older page arrives after a read off the event loop
        if len(_shown(user)) == 25:
            break
        await asyncio.sleep(0.05)
    assert _shown(user) == [f'Reply {n}' for n in range(25, 0, -1)]  # the older ones below
    await user.should_not_see(marker='older-replies')


def _shown(user: User) -> list[str]:
    """The reply texts on the viewer, top to bottom (each page of replies is one ReplyCards element)."""
    pages = sorted(user.find(marker='reply-cards').elements, key=lambda cards: cards.id)  # in the order added
    return [reply['body'] for cards in pages for reply in cards.replies]
