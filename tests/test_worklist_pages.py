"""The SMP worklist (User fixture): several replies marked worked at once; Move into any chart found by search."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import AuditEvent, Document, Reply
from services import db
from tests import factories
from tests.portal import click, seed
from tests.test_clinic_pages import _reply_data, _signed_in, rows_when, see


def _other_chart(session) -> int:
    return factories.chart(session, first='Robin', last='Elsewhere', external_id='EMP-4242').id


async def test_select_several_and_mark_them_worked(user: User) -> None:
    await _signed_in(user)
    first, _, _ = seed(_reply_data)
    second, _, _ = seed(_reply_data)
    await user.open('/staff/worklist')
    rows = await rows_when(user, 'worklist', lambda rows: len(rows) == 2)
    table = next(iter(user.find(marker='worklist').elements))
    table.selected[:] = rows
    await click(user, 'mark-selected')
    await see(user, 'Marked 2 replies worked.')
    worked = db.run(lambda session: session.exec(select(Reply.id).where(Reply.worked_at.is_not(None))).all())
    assert sorted(worked) == sorted([first, second])
    assert len(db.run(lambda session: session.exec(select(AuditEvent).where(
        AuditEvent.action == 'reply_worked')).all())) == 2
    await click(user, 'mark-selected')  # nothing selected now
    await see(user, 'Select the replies to mark worked first.')


async def test_move_into_another_chart_found_by_search(user: User) -> None:
    await _signed_in(user)
    reply_id, source_chart, _ = seed(_reply_data)
    target = seed(_other_chart)
    await user.open(f'/staff/reply/{reply_id}')
    await see(user, marker='move-other')
    user.find(marker='move-other').click()
    user.find(marker='move-search').type('emp4242')
    await see(user, marker=f'move-to-{target}')
    user.find(marker=f'move-to-{target}').click()
    await see(user, marker='moved-document')
    moved = db.run(lambda session: session.exec(select(Document.chart_id).where(
        Document.title == 'Reply to: Work status')).all())
    assert moved == [target] and target != source_chart


async def test_select_several_and_assign_them(user: User) -> None:
    await _signed_in(user)
    seed(_reply_data)
    seed(_reply_data)
    await user.open('/staff/worklist')
    rows = await rows_when(user, 'worklist', lambda rows: len(rows) == 2)
    next(iter(user.find(marker='worklist').elements)).selected[:] = rows
    choice = next(iter(user.find(marker='assign-selected-to').elements))
    choice.value = next(k for k, v in choice.options.items() if v == 'Nurse Joy')
    await click(user, 'assign-selected')
    await see(user, 'Assigned 2 replies.')
    assigned = db.run(lambda session: session.exec(select(Reply.assigned_to_account_id)).all())
    assert len(assigned) == 2 and None not in assigned and len(set(assigned)) == 1
    await rows_when(user, 'worklist', lambda rows: [r['assigned_to'] for r in rows] == ['Nurse Joy', 'Nurse Joy'])
