"""Staff alerts through a real SMTP server: a reply on a document a staff member sent reaches them as exactly one
email at once (immediate mode) or exactly one digest when the digest is due (digest mode); neither names a
patient, a contact or what was written. Choices are per account, with the admin's defaults; bad choices change
nothing."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import OutboxEmail, Registration, Reply, Share, StaffAlertPref
from services import db, outbox, settings, staff_alerts
from services.errors import InvalidInput
from tests import factories
from tests.smtp import find_link, html_body, text_body

PHI = ('Zebediah', 'Quixote', 'HIV panel', 'positive result', 'Casey', 'Acme')


def _world(session) -> dict:
    nurse = factories.account(session, role='staff', email='nurse@clinic.test')
    quiet = factories.account(session, role='staff', email='quiet@clinic.test')  # sent nothing; defaults
    contact = factories.contact(session, first='Casey', organization='Acme Insurance')
    reader = factories.contact_account(session, contact)
    chart = factories.chart(session, first='Zebediah', last='Quixote')
    result = factories.share(session, contact_row=contact, sender=nurse, chart_row=chart, title='HIV panel')
    return {'nurse': factories.actor_for(session, nurse), 'quiet': quiet.id, 'reader': reader.id,
            'share': result.share_id}


def _reply(world: dict) -> int:
    with db.transaction() as session:
        row = Reply(share_id=world['share'], account_id=world['reader'], author_name='Casey Contact',
                    body='The HIV panel shows a positive result.')
        session.add(row)
        session.flush()
        return row.id


def _no_phi(message) -> None:
    everything = f'{message["Subject"]}\n{text_body(message)}\n{html_body(message)}'
    for word in PHI:
        assert word not in everything, word


def _start(clock) -> dict:
    with db.transaction() as session:
        world = _world(session)
    outbox.process_outbox()  # the share's Reminder to Review goes to the contact
    assert staff_alerts.send_staff_alerts() == 0  # alerts start now for every staff account
    clock.advance(seconds=1)
    return world


def test_immediate_mode_one_email_per_reply_without_phi(database, clock, smtp_server) -> None:
    world = _start(clock)
    reply_id = _reply(world)
    assert staff_alerts.send_staff_alerts() == 1
    assert staff_alerts.send_staff_alerts() == 0  # told once
    outbox.process_outbox()
    [message] = smtp_server.wait_for('nurse@clinic.test', count=1)
    assert message['Subject'] == 'New reply on a document you sent'
    assert find_link(message, f'/staff/reply/{reply_id}')
    _no_phi(message)
    assert smtp_server.to('quiet@clinic.test') == []  # "any document" is off by default
    clock.advance(hours=3)
    assert staff_alerts.send_staff_alerts() == 0
    assert len(smtp_server.to('nurse@clinic.test')) == 1


def test_digest_mode_one_digest_when_due_without_phi(database, clock, smtp_server) -> None:
    world = _start(clock)
    with db.transaction() as session:
        staff_alerts.save_choices(session, actor=world['nurse'], modes={'reply_mine': 'digest'}, unread_days=3,
                                  digest_minutes=30)
    _reply(world)
    _reply(world)
    assert staff_alerts.send_staff_alerts() == 0  # the digest is not due yet
    clock.advance(minutes=31)
    assert staff_alerts.send_staff_alerts() == 1
    clock.advance(minutes=31)
    assert staff_alerts.send_staff_alerts() == 0  # nothing new since
    outbox.process_outbox()
    [message] = smtp_server.wait_for('nurse@clinic.test', count=1)
    assert message['Subject'].startswith('2 new items')
    assert '2 new replies on documents you sent' in text_body(message)
    assert find_link(message, '/staff/settings')
    _no_phi(message)


def test_registrations_unread_and_bounced_shares_follow_the_choices(database, clock, smtp_server) -> None:
    world = _start(clock)
    with db.transaction() as session:
        staff_alerts.save_choices(session, actor=world['nurse'], modes={
            'registration': 'immediate', 'unread': 'immediate', 'bounced': 'immediate', 'reply_mine': 'off'},
            unread_days=2, digest_minutes=60)
        session.add(Registration(reference='R-ALERT1', answers_json='{"first_name": "Zebediah"}'))
        share = session.get(Share, world['share'])
        email = session.get(OutboxEmail, share.notice_email_id)
        email.status = 'failed'  # the outbox gave up on the email that announced the share
        session.add(email)
    _reply(world)  # reply alerts are off for the nurse
    assert staff_alerts.send_staff_alerts() == 2  # the registration, the bounce
    clock.advance(days=2, seconds=1)
    # the share is still unread after 2 days; the other staff member's digest (registrations by default) is due
    assert staff_alerts.send_staff_alerts() == 2
    outbox.process_outbox()
    [digest] = smtp_server.wait_for('quiet@clinic.test', count=1)
    assert '1 new registration to review' in text_body(digest)
    _no_phi(digest)
    subjects = sorted(m['Subject'] for m in smtp_server.wait_for('nurse@clinic.test', count=3))
    assert subjects == ['A share you sent is still unread', 'An invitation email bounced',
                        'New registration to review']
    for message in smtp_server.to('nurse@clinic.test'):
        _no_phi(message)


def test_choices_default_to_the_admins_and_bad_choices_change_nothing(database, clock) -> None:
    with db.transaction() as session:
        nurse = factories.actor_for(session, factories.account(session, role='staff'))
    with db.transaction() as session:
        settings.save_settings(session, changes={'staff_alert_reply_any': 'digest'}, account_id=None)
    settings.invalidate_cache()
    with db.transaction() as session:
        choices = staff_alerts.get_choices(session, actor=nurse)
    assert choices.modes['reply_any'] == 'digest' and choices.modes['reply_mine'] == 'immediate'
    for modes, days, minutes in (({'reply_any': 'loud'}, 3, 60), ({'nope': 'off'}, 3, 60),
                                 ({'reply_any': 'off'}, 0, 60), ({'reply_any': 'off'}, 3, 'soon')):
        with pytest.raises(InvalidInput), db.transaction() as session:
            staff_alerts.save_choices(session, actor=nurse, modes=modes, unread_days=days, digest_minutes=minutes)
    with db.transaction() as session:
        assert session.exec(select(StaffAlertPref)).all() == []
