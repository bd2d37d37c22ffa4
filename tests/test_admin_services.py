"""Admin services on SQLite and PostgreSQL: settings saves, accounts, audit queries, logo checks, the chain check."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from models import Account, AuditEvent, OutboxEmail, Throttle, UserSession, VerificationCode
from services import (accounts_admin, audit, audit_query, auth, branding, contact_accounts, db, settings,
                      settings_admin, throttle)
from services.errors import Forbidden, InvalidInput, UploadRejected
from tests import factories

ROOT = Path(__file__).resolve().parent.parent


def admin_actor(session, email: str = 'boss@clinic.test'):
    return factories.actor_for(session, factories.account(session, role='admin', email=email))


def settings_events(session) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == 'settings_changed')).all())


# ----------------------------------------------------------------------------- settings

def test_save_section_stores_and_audits_old_and_new_values(session) -> None:
    boss = admin_actor(session)
    diff = settings_admin.save_section(session, section='security', actor=boss,
                                       values={'session_idle_minutes': 30.0, 'activation_code_days': 30})
    session.commit()
    assert diff == {'session_idle_minutes': (15, 30)}
    assert settings.get_settings().session_idle_minutes == 30
    (event,) = settings_events(session)
    assert json.loads(event.detail_json) == {'section': 'security',
                                             'changes': {'session_idle_minutes': {'old': 15, 'new': 30}}}
    assert event.account_id == boss.account_id


@pytest.mark.parametrize(('values', 'message'), [
    ({'session_idle_minutes': 0}, 'Session idle timeout (minutes) must be between 1 and 1440.'),
    ({'activation_code_days': 365}, 'Activation code lifetime (days) must be between 1 and 90.'),
    ({'password_min_length': 6}, 'Password minimum length must be between 8 and 128.'),
    ({'upload_max_mb': 2.5}, 'Upload size limit (MB) must be a whole number.'),
    ({'session_absolute_hours': None}, 'Session absolute timeout (hours) is required.'),
])
def test_invalid_security_values_change_nothing(session, values, message) -> None:
    boss = admin_actor(session)
    with pytest.raises(InvalidInput, match=message.replace('(', r'\(').replace(')', r'\)')):
        settings_admin.save_section(session, section='security', actor=boss,
                                    values={'signin_max_failures': 9, **values})
    session.rollback()
    settings.invalidate_cache()
    assert settings.get_settings().signin_max_failures == 5
    assert settings_events(session) == []


@pytest.mark.parametrize(('values', 'fragment'), [
    ({'time_zone': 'Nowhere/Land'}, 'not a known time zone'),
    ({'base_url': 'javascript:alert(1)'}, 'Public base URL must look like'),
    ({'support_email': 'nope'}, 'Support email is not a valid email address.'),
    ({'help_desk_phone': 'call us'}, 'Help-desk phone is not a valid phone number.'),
    ({'portal_name': '  '}, 'Portal name is required.'),
])
def test_invalid_general_values_are_refused(session, values, fragment) -> None:
    boss = admin_actor(session)
    with pytest.raises(InvalidInput, match=fragment):
        settings_admin.save_section(session, section='general', actor=boss, values=values)


def test_terms_required_needs_a_text(session) -> None:
    boss = admin_actor(session)
    with pytest.raises(InvalidInput, match='Terms of use text is required'):
        settings_admin.save_section(session, section='features', actor=boss,
                                    values={'terms_required': True, 'terms_text': ''})
    settings_admin.save_section(session, section='features', actor=boss,
                                values={'terms_required': True, 'terms_text': 'Be kind.',
                                        'document_types': 'Lab Result\n\nWork Status Report\n'})
    session.commit()
    assert settings.get_settings().document_types == ['Lab Result', 'Work Status Report']


def test_smtp_password_never_reaches_the_audit_log(session) -> None:
    boss = admin_actor(session)
    settings_admin.save_section(session, section='smtp', actor=boss,
                                values={'smtp_host': 'mail.clinic.test', 'smtp_password': 'S3cret-Mail-Pass'})
    settings_admin.save_section(session, section='smtp', actor=boss, values={'smtp_password': 'An0ther-Pass'})
    session.commit()
    assert settings.get_settings().smtp_password == 'An0ther-Pass'
    rows = session.exec(select(AuditEvent.detail_json)).all()
    assert not any('S3cret' in r or 'An0ther' in r for r in rows)
    changes = [json.loads(r.detail_json)['changes'] for r in settings_events(session)]
    assert changes[0]['smtp_password'] == {'old': '********', 'new': '********'}
    assert changes[0]['smtp_host'] == {'old': '', 'new': 'mail.clinic.test'}
    stored = session.exec(sa.text("SELECT value_json FROM setting WHERE key = 'smtp_password'")).one()[0]
    assert 'S3cret' not in stored and 'An0ther' not in stored


def test_only_admins_change_settings(session) -> None:
    staff = factories.actor_for(session, factories.account(session, role='staff'))
    with pytest.raises(Forbidden):
        settings_admin.save_section(session, section='features', actor=staff, values={'replies_enabled': True})


# ----------------------------------------------------------------------------- logo

def test_logo_checks() -> None:
    assert branding.check_logo(factories.MINIMAL_PNG, 'a.png') == (factories.MINIMAL_PNG, 'image/png')
    with pytest.raises(UploadRejected, match='is not a PNG, JPEG or SVG image'):
        branding.check_logo(b'<!doctype html><html></html>', 'logo.png')
    with pytest.raises(UploadRejected, match='larger than'):
        branding.check_logo(factories.MINIMAL_PNG + b'0' * branding.LOGO_MAX_BYTES, 'big.png')
    with pytest.raises(UploadRejected, match='empty'):
        branding.check_logo(b'', 'e.png')
    bomb = b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>'
    with pytest.raises(UploadRejected, match='shown safely'):
        branding.check_logo(bomb, 'bomb.svg')


def test_svg_is_stripped_of_active_content() -> None:
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
           b'<style>@import url(https://evil.test/a.css);</style>'
           b'<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'
           b'<a xlink:href="javascript:alert(1)"><rect width="1" height="1"/></a>'
           b'<image href="https://evil.test/pixel.png"/>'
           b'<use xlink:href="https://evil.test/s.svg#x"/><use href="#keep"/>'
           b'<path id="keep" d="M0 0L1 1" style="fill:url(https://evil.test/)" onmouseover="x()"/></svg>')
    clean, mime = branding.check_logo(svg, 'logo.svg')
    assert mime == 'image/svg+xml'
    text = clean.decode().lower()
    for bad in ('evil.test', 'javascript', 'style>', 'foreignobject', 'onmouseover', '<a ', '<image'):
        assert bad not in text
    assert 'href="#keep"' in text and 'd="m0 0l1 1"' in text


# ----------------------------------------------------------------------------- accounts

def test_create_staff_account_sends_a_reset_code(session) -> None:
    boss = admin_actor(session)
    row = accounts_admin.create_staff_account(session, actor=boss, email='New.Nurse@Clinic.test',
                                              display_name='New Nurse', role='staff')
    session.commit()
    assert row.username == 'new.nurse@clinic.test' and row.role == 'staff'
    email = session.exec(select(OutboxEmail).where(OutboxEmail.to_address == 'new.nurse@clinic.test')).one()
    assert email.kind == 'password_reset'
    code = factories.code_in(email, 'reset_code')
    stored = session.exec(select(VerificationCode).where(VerificationCode.account_id == row.id)).one()
    assert stored.purpose == 'password_reset' and code not in stored.code_hash
    assert auth.sign_in(username='new.nurse@clinic.test', password='', ip_address=None) is None
    # the person sets a password through the forgot-password flow with the emailed code
    contact_accounts.reset_password(email='new.nurse@clinic.test', code=code, password=factories.PASSWORD,
                                    confirm=factories.PASSWORD, ip_address=None)
    assert auth.sign_in(username='new.nurse@clinic.test', password=factories.PASSWORD, ip_address=None) is not None
    with pytest.raises(InvalidInput, match='taken'):
        accounts_admin.create_staff_account(session, actor=boss, email='new.nurse@clinic.test',
                                            display_name='Again', role='staff')


def test_disabling_ends_all_sessions_and_is_audited(session) -> None:
    boss = admin_actor(session)
    nurse = factories.account(session, role='staff')
    auth.create_session(session, account_id=nurse.id, ip_address=None)
    token = auth.create_session(session, account_id=nurse.id, ip_address=None)
    session.commit()
    accounts_admin.set_active(session, actor=boss, account_id=nurse.id, active=False)
    session.commit()
    assert session.exec(select(UserSession).where(UserSession.account_id == nurse.id)).all() == []
    assert auth.resolve_session(token) is None
    event = session.exec(select(AuditEvent).where(AuditEvent.action == 'account_disabled')).one()
    assert event.object_id == str(nurse.id) and json.loads(event.detail_json)['sessions_ended'] == 2
    accounts_admin.set_active(session, actor=boss, account_id=nurse.id, active=True)
    session.commit()
    assert session.get(Account, nurse.id).is_active


def test_the_last_admin_cannot_be_disabled_or_demoted(session) -> None:
    boss = admin_actor(session)
    with pytest.raises(InvalidInput, match='last active administrator'):
        accounts_admin.set_active(session, actor=boss, account_id=boss.account_id, active=False)
    with pytest.raises(InvalidInput, match='last active administrator'):
        accounts_admin.change_role(session, actor=boss, account_id=boss.account_id, role='staff')
    second = factories.account(session, role='staff')
    accounts_admin.change_role(session, actor=boss, account_id=second.id, role='admin')
    accounts_admin.change_role(session, actor=boss, account_id=boss.account_id, role='staff')
    session.commit()
    assert session.get(Account, boss.account_id).role == 'staff'
    with pytest.raises(InvalidInput, match='last active administrator'):
        accounts_admin.set_active(session, actor=boss, account_id=second.id, active=False)


def test_contact_accounts_unlock_and_end_sessions(session) -> None:
    boss = admin_actor(session)
    contact = factories.contact(session, email='doc@outside.test')
    account = factories.contact_account(session, contact)
    for _ in range(5):
        throttle.register_failure(session, 'sign_in', account.username, max_failures=5, lock_seconds=60)
    auth.create_session(session, account_id=account.id, ip_address=None)
    session.commit()
    rows, total = accounts_admin.list_accounts(session, actor=boss, kind='contact', search='acme')
    assert total == 1 and rows[0].id == account.id
    assert accounts_admin.list_accounts(session, actor=boss, kind='staff', search='doc@')[1] == 0
    info = accounts_admin.account_detail(session, actor=boss, account_id=account.id)
    assert info.locked_until is not None and info.open_sessions == 1
    assert [c.email for c in info.contacts] == ['doc@outside.test']
    accounts_admin.unlock(session, actor=boss, account_id=account.id)
    assert accounts_admin.end_sessions(session, actor=boss, account_id=account.id) == 1
    session.commit()
    assert session.exec(select(Throttle)).all() == []
    with pytest.raises(InvalidInput, match='Contact accounts cannot'):
        accounts_admin.change_role(session, actor=boss, account_id=account.id, role='admin')
    actions = set(session.exec(select(AuditEvent.action)).all())
    assert {'account_unlocked', 'account_sessions_ended'} <= actions


# ----------------------------------------------------------------------------- audit log

def seed_log(session, clock):
    """A small log over three days: two staff members, two charts, one contact."""
    boss = admin_actor(session)
    ann = factories.actor_for(session, factories.account(session, role='staff', email='ann@clinic.test'))
    bob = factories.actor_for(session, factories.account(session, role='staff', email='bob@clinic.test'))
    for day in range(3):
        audit.record(session, action='document_viewed', actor=ann, chart_id=1, object_type='document', object_id=day)
        audit.record(session, action='document_viewed', actor=bob, chart_id=2, contact_id=7)
        audit.record(session, action='share_created', actor=bob, chart_id=1, contact_id=7)
        clock.advance(days=1)
    session.commit()
    return boss


def test_filters_page_and_export_exactly_the_matching_rows(session, clock) -> None:
    start = clock()
    boss = seed_log(session, clock)
    everything = session.exec(select(AuditEvent)).all()
    cases = [
        (audit_query.AuditFilter(account='bob@clinic.test'), lambda e: e.actor == 'bob@clinic.test'),
        (audit_query.AuditFilter(action='document_viewed', chart_id=1),
         lambda e: e.action == 'document_viewed' and e.chart_id == 1),
        (audit_query.AuditFilter(contact_id=7, since=(start + timedelta(days=1)).date()),
         lambda e: e.contact_id == 7 and e.at.date() >= (start + timedelta(days=1)).date()),
        (audit_query.AuditFilter(until=start.date()), lambda e: e.at.date() <= start.date()),
    ]
    for filters, predicate in cases:
        expected = sorted((e.id for e in everything if predicate(e)), reverse=True)
        first, total = audit_query.list_events(session, actor=boss, filters=filters, offset=0, limit=2)
        rest, _ = audit_query.list_events(session, actor=boss, filters=filters, offset=2, limit=100)
        assert total == len(expected) and [r.id for r in first + rest] == expected, filters
        data = audit_query.export_csv(session, actor=boss, filters=filters)
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        assert sorted(int(r['id']) for r in rows) == sorted(expected)
    assert 'audit_exported' in audit_query.actions(session, actor=boss)


def test_access_reports(session, clock) -> None:
    boss = seed_log(session, clock)
    lines = audit_query.chart_access_report(session, actor=boss, chart_id=1)
    assert [(l.actor, l.action, l.count) for l in lines] == [('ann@clinic.test', 'document_viewed', 3),
                                                              ('bob@clinic.test', 'share_created', 3)]
    lines = audit_query.account_activity_report(session, actor=boss, account='bob@clinic.test')
    assert [(l.action, l.count, l.charts) for l in lines] == [('document_viewed', 3, [2]), ('share_created', 3, [1])]


def test_audit_queries_are_for_admins_only(session) -> None:
    staff = factories.actor_for(session, factories.account(session, role='staff'))
    with pytest.raises(Forbidden):
        audit_query.list_events(session, actor=staff, filters=audit_query.AuditFilter())
    with pytest.raises(Forbidden):
        audit_query.export_csv(session, actor=staff, filters=audit_query.AuditFilter())


def test_csv_neutralizes_formulas(session) -> None:
    boss = admin_actor(session)
    audit.record(session, action='sign_in_failed', actor=factories.Actor(username='=HYPERLINK("x")'))
    data = audit_query.export_csv(session, actor=boss, filters=audit_query.AuditFilter(action='sign_in_failed'))
    assert "'=HYPERLINK" in data.decode()


def test_filter_form_refuses_bad_values() -> None:
    with pytest.raises(InvalidInput, match='From must be a date'):
        audit_query.AuditFilter.from_form(since='yesterday')
    with pytest.raises(InvalidInput, match='Chart id must be a number'):
        audit_query.AuditFilter.from_form(chart_id='12a')


def test_check_audit_command_finds_a_tampered_row(database) -> None:
    with db.transaction() as session:
        boss = admin_actor(session)
        for n in range(3):
            audit.record(session, action='document_viewed', actor=boss, chart_id=n)
    env = {k: v for k, v in os.environ.items() if k != 'NICEGUI_USER_SIMULATION'}
    ok = subprocess.run([sys.executable, 'main.py', 'check-audit'], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    with db.transaction() as session:
        target = session.exec(select(AuditEvent.id).where(AuditEvent.chart_id == 1)).one()
        session.execute(sa.text("UPDATE audit_event SET actor = 'someone.else@clinic.test' WHERE id = :id"),
                        {'id': target})
    bad = subprocess.run([sys.executable, 'main.py', 'check-audit'], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f'audit event {target}:' in bad.stdout


def test_security_settings_apply_without_a_restart(session, clock) -> None:
    boss = admin_actor(session)
    nurse = factories.account(session, role='staff')
    token = auth.create_session(session, account_id=nurse.id, ip_address=None)
    contact = factories.contact(session)
    session.commit()
    clock.advance(minutes=10)
    assert auth.resolve_session(token) is not None  # default idle timeout: 15 minutes
    settings_admin.save_section(session, section='security', actor=boss,
                                values={'session_idle_minutes': 5, 'activation_code_days': 7})
    session.commit()
    clock.advance(minutes=6)
    assert auth.resolve_session(token) is None  # the new 5 minutes apply to the next request
    from services import activation
    issued = activation.issue_code(session, contact=contact, actor=boss)
    assert issued.expires_at == clock() + timedelta(days=7)


def test_new_registration_opens_and_closes_with_the_setting(session) -> None:
    from services import registration
    from services.errors import NotAvailable
    boss = admin_actor(session)
    contact = factories.contact(session)
    doc = factories.actor_for(session, factories.contact_account(session, contact))
    session.commit()
    with pytest.raises(NotAvailable):
        registration.start(session, actor=doc)
    settings_admin.save_section(session, section='features', actor=boss, values={'registration_enabled': True})
    session.commit()
    assert registration.start(session, actor=doc)
    settings_admin.save_section(session, section='features', actor=boss, values={'registration_enabled': False})
    session.commit()
    with pytest.raises(NotAvailable):
        registration.start(session, actor=doc)
