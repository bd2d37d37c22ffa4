"""Issue 17 through the pages (NiceGUI User fixture): the Send dialog's options and defaults, Rescind selected,
'sent by me, not yet read' on the staff home, the contact's acknowledgement button."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from nicegui.testing import User
from sqlmodel import select

from models import AuditEvent, Share
from services import clock, db, sharing
from services.settings import get_settings
from tests import factories, portal_data
from tests.portal import click, seed, sign_in

STAFF_EMAIL = 'nurse@clinic.test'


async def see(user: User, target=None, **kwargs) -> None:
    await user.should_see(target, retries=50, **kwargs)


async def until(condition, timeout: float = 5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := condition()):
        assert asyncio.get_running_loop().time() < deadline, 'condition never held'
        await asyncio.sleep(0.05)
    return value


def _all(model, *where):
    with db.transaction() as session:
        return session.exec(select(model).where(*where)).all()


def _table(user: User, marker: str):
    return next(iter(user.find(marker=marker).elements))


async def _rows(user: User, marker: str, count: int) -> list[dict]:
    """The table's rows once it shows `count` of them (the table itself may still be on its way after a send)."""
    def shown() -> list[dict] | bool:
        try:
            rows = _table(user, marker).rows
        except AssertionError:  # not built yet
            return False
        return len(rows) >= count and rows
    assert await until(shown), f'{marker}: fewer than {count} rows'
    return list(_table(user, marker).rows)


def _world(session, *, shares: int = 0):
    staff = factories.account(session, role='staff', email=STAFF_EMAIL, name='Nurse Joy')
    chart = factories.chart(session, first='Pat', last='Lee')
    document = factories.document(session, chart_row=chart, title='Work status')
    contact = factories.contact(session, first='Casey', last='Adjuster', email='casey@ins.test')
    account = factories.contact_account(session, contact)
    ids = [factories.share(session, contact_row=contact, sender=staff, title=f'Doc {n}').share_id
           for n in range(shares)]
    return {'document': document.id, 'contact': contact.id, 'account': account.id, 'shares': ids}


async def test_the_send_dialog_starts_with_the_admins_defaults_and_sends_the_options(user: User) -> None:
    world = seed(_world)
    seed(portal_data.enable, share_replies_default=False, share_acknowledgement_default=True,
         share_expiry_default_days=5)
    today = sharing.portal_today(get_settings())
    await sign_in(user, STAFF_EMAIL)
    await see(user, marker='staff-home')
    await user.open(f'/staff/document/{world["document"]}')
    await see(user, marker='send-document')
    user.find(marker='send-document').click()
    await see(user, marker='send-options')
    assert _table(user, 'option-replies').value is False
    assert _table(user, 'option-acknowledge').value is True
    assert _table(user, 'option-expires').value == (today + timedelta(days=5)).isoformat()
    user.find(marker='recipient-search').clear().type('casey')
    await see(user, marker='recipient-casey@ins.test')
    user.find(marker='recipient-casey@ins.test').click()
    user.find(marker='option-expires').clear().type((today + timedelta(days=2)).isoformat())
    user.find(marker='send').click()
    [share] = await until(lambda: _all(Share))
    assert (share.replies_allowed, share.acknowledgement_required) == (False, True)
    assert sharing.expiry_date(share.expires_at, get_settings()) == today + timedelta(days=2)
    rows = await _rows(user, 'send-history', 1)
    assert rows[0]['acknowledged'] == 'waiting' and rows[0]['state'].endswith(f'; expires {today + timedelta(days=2)}')


async def test_a_past_expiry_date_is_refused_in_the_dialog(user: User) -> None:
    world = seed(_world)
    await sign_in(user, STAFF_EMAIL)
    await see(user, marker='staff-home')
    await user.open(f'/staff/document/{world["document"]}')
    await see(user, marker='send-document')
    user.find(marker='send-document').click()
    user.find(marker='recipient-search').clear().type('casey')
    await see(user, marker='recipient-casey@ins.test')
    user.find(marker='recipient-casey@ins.test').click()
    user.find(marker='option-expires').clear().type('2001-01-01')
    user.find(marker='send').click()
    await see(user, 'The expiry date has passed')
    assert _all(Share) == []


async def test_rescind_selected_on_the_contact_chart_withdraws_several_with_one_reason(user: User) -> None:
    world = seed(_world, shares=3)
    await sign_in(user, STAFF_EMAIL)
    await see(user, marker='staff-home')
    await user.open(f'/staff/contacts/{world["contact"]}')
    rows = await _rows(user, 'received', 3)
    table = _table(user, 'received')
    table.selected[:] = rows[:2]
    user.find(marker='rescind-selected').click()
    await see(user, marker='rescind-reason')
    user.find(marker='rescind-reason').type('Sent to the wrong adjuster')
    await click(user, 'rescind-confirm')
    await see(user, 'Rescinded 2 shares.')
    rescinded = await until(lambda: [s for s in _all(Share) if s.rescinded_at is not None])
    assert len(rescinded) == 2 and {s.rescind_reason for s in rescinded} == {'Sent to the wrong adjuster'}
    assert len(_all(AuditEvent, AuditEvent.action == 'share_rescinded')) == 2


async def test_the_staff_home_lists_what_i_sent_that_is_still_unread(user: User) -> None:
    world = seed(_world, shares=2)

    def age(session):
        share = session.get(Share, world['shares'][0])
        share.sent_at = clock.now() - timedelta(days=5)
        session.add(share)
    seed(age)
    await sign_in(user, STAFF_EMAIL)
    await see(user, marker='staff-home')
    rows = await _rows(user, 'unread-sent-by-me', 1)
    assert [r['id'] for r in rows] == [world['shares'][0]] and rows[0]['days'] == 5
    user.find(marker='unread-days').clear().type('0')
    await until(lambda: len(_table(user, 'unread-sent-by-me').rows) == 2)


async def test_the_contact_acknowledges_at_the_bottom_of_the_document(user: User) -> None:
    def data(session):
        world = _world(session)
        staff = factories.actor_for(session, session.exec(select(factories.Account)
                                                          .where(factories.Account.email == STAFF_EMAIL)).one())
        [result] = sharing.send_documents(session, document_ids=[world['document']], contact_ids=[world['contact']],
                                          actor=staff, acknowledgement_required=True)
        return result.share_id
    share_id = seed(data)
    await portal_data.sign_in_contact(user, 'casey@ins.test')
    await user.open(f'/message/{share_id}')
    await see(user, marker='acknowledge')
    await click(user, 'acknowledge')
    await see(user, marker='acknowledged')
    share = _all(Share)[0]
    assert share.acknowledged_at is not None
    assert len(_all(AuditEvent, AuditEvent.action == 'document_acknowledged')) == 1
