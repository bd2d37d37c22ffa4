"""`/staff/settings` (User fixture): staff choose their alerts (stored, audited), see the time zone, and the staff
home counts what waits and links there."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import AuditEvent, Registration, StaffAlertPref
from services import db
from tests import factories
from tests.portal import click, seed, sign_in

STAFF_EMAIL = 'nurse@clinic.test'


def _world(session):
    factories.account(session, role='staff', email=STAFF_EMAIL, name='Nurse Joy')
    session.add(Registration(reference='R-HOME1', answers_json='{}'))


async def test_staff_choose_their_alerts_and_the_home_counts_what_waits(user: User) -> None:
    seed(_world)
    await sign_in(user, STAFF_EMAIL)
    await user.open('/staff')
    await user.should_see('1 registration to review', retries=50)
    await user.should_see('0 unworked replies')
    await user.open('/staff/settings')
    await user.should_see('Email alerts', retries=50)
    await user.should_see('shown in UTC')
    user.find(marker='alert-reply_any').elements.pop().value = 'digest'
    user.find(marker='alert-digest-minutes').elements.pop().value = 15
    await click(user, 'save-alerts')
    await user.should_see('Alert choices saved.', retries=50)

    def stored(session):
        pref = session.exec(select(StaffAlertPref)).one()
        audited = session.exec(select(AuditEvent).where(AuditEvent.action == 'staff_alerts_changed')).all()
        return pref.reply_any, pref.digest_minutes, pref.reply_mine, len(audited)
    assert db.run(stored) == ('digest', 15, 'immediate', 1)
    user.find(marker='alert-digest-minutes').elements.pop().value = 2  # below the least allowed
    await click(user, 'save-alerts')
    await user.should_see('Digest every (minutes) must be a whole number from 5 to 10080.', retries=50)
    assert db.run(stored) == ('digest', 15, 'immediate', 1)


def _reply_at_three_utc(session):
    from datetime import UTC, datetime

    from models import Reply
    from services import settings
    nurse = factories.account(session, role='staff', email=STAFF_EMAIL, name='Nurse Joy')
    contact = factories.contact(session)
    reader = factories.contact_account(session, contact)
    result = factories.share(session, contact_row=contact, sender=nurse)
    session.add(Reply(share_id=result.share_id, account_id=reader.id, author_name='C', body='ok',
                      created_at=datetime(2026, 11, 2, 15, 0, tzinfo=UTC)))
    settings.save_settings(session, changes={'time_zone': 'America/New_York'}, account_id=None)


async def test_staff_pages_show_times_in_the_portal_time_zone(user: User) -> None:
    from services import settings
    seed(_reply_at_three_utc)
    settings.invalidate_cache()
    await sign_in(user, STAFF_EMAIL)
    await user.open('/staff/worklist')
    await user.should_see('SMP worklist', retries=50)
    rows = next(iter(user.find(marker='worklist').elements)).rows
    assert [r['replied_at'] for r in rows] == ['2026-11-02 10:00']  # 15:00 UTC is 10:00 in New York
