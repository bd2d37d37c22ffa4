"""The admin settings page: each setting takes effect without a restart, bad values change nothing, all audited."""
from __future__ import annotations

import json

from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User
from sqlmodel import select

from models import AuditEvent
from services import settings as settings_service
from tests import factories
from tests.admin_portal import click, click_and_see, landed_on, see, sign_in_as, until
from tests.portal import portal_header, seed, sign_out

ADMIN = 'boss@clinic.test'
XHTML = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>'


async def open_settings(user: User) -> None:
    await sign_in_as(user, 'admin', ADMIN)
    await user.open('/admin/settings')
    await see(user, marker='admin-settings')


def set_value(user: User, marker: str, value) -> None:
    for element in user.find(marker=marker).elements:
        element.value = value


def audit_events(action: str = 'settings_changed') -> list[AuditEvent]:
    return seed(lambda session: list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                                                  .order_by(AuditEvent.id)).all()))


async def test_feature_switches_take_effect_at_once_and_are_audited(user: User) -> None:
    await open_settings(user)
    assert settings_service.get_settings().replies_enabled is False
    user.find(marker='replies_enabled').click()
    user.find(marker='registration_enabled').click()
    user.find(marker='email_is_username').click()
    await click_and_see(user, 'save-features', 'Saved.')
    current = settings_service.get_settings()
    assert (current.replies_enabled, current.registration_enabled, current.email_is_username) == (True, True, False)
    event = audit_events()[-1]
    changes = json.loads(event.detail_json)['changes']
    assert changes['replies_enabled'] == {'old': False, 'new': True}
    assert changes['registration_enabled'] == {'old': False, 'new': True}
    assert changes['email_is_username'] == {'old': True, 'new': False}
    assert event.actor == ADMIN

    user.find(marker='replies_enabled').click()
    await click(user, 'save-features')  # 'Saved.' is still shown from the first save: wait for the change itself
    assert await until(lambda: settings_service.get_settings().replies_enabled is False)
    await see(user, 'Saved.')


async def test_invalid_security_values_are_refused_and_nothing_changes(user: User) -> None:
    await open_settings(user)
    before = settings_service.get_settings()
    set_value(user, 'session_idle_minutes', 0)
    set_value(user, 'activation_code_days', 365)
    await click(user, 'save-security')
    await see(user, 'Session idle timeout (minutes) must be between 1 and 1440.')
    await see(user, 'Activation code lifetime (days) must be between 1 and 90.')
    settings_service.invalidate_cache()
    after = settings_service.get_settings()
    assert after.session_idle_minutes == before.session_idle_minutes == 15
    assert after.activation_code_days == before.activation_code_days == 30
    assert audit_events() == []

    set_value(user, 'session_idle_minutes', 20)
    set_value(user, 'activation_code_days', 45)
    set_value(user, 'password_min_length', 7)
    await click(user, 'save-security')
    await see(user, 'Password minimum length must be between 8 and 128.')
    set_value(user, 'password_min_length', 14)
    await click_and_see(user, 'save-security', 'Saved.')
    now = settings_service.get_settings()
    assert (now.session_idle_minutes, now.activation_code_days, now.password_min_length) == (20, 45, 14)


async def test_general_section_validates_time_zone_and_email(user: User) -> None:
    await open_settings(user)
    set_value(user, 'time_zone', 'Mars/Olympus')
    set_value(user, 'support_email', 'not-an-email')
    await click(user, 'save-general')
    await see(user, 'is not a known time zone')
    await see(user, 'Support email is not a valid email address.')
    assert settings_service.get_settings().time_zone == 'UTC'
    set_value(user, 'time_zone', 'Europe/Zurich')
    set_value(user, 'support_email', 'help@clinic.test')
    set_value(user, 'portal_name', 'Valley Clinic Portal')
    await click_and_see(user, 'save-general', 'Saved.')
    await user.open('/admin')
    await see(user, 'Valley Clinic Portal')


async def test_new_logo_appears_in_the_header_and_is_served_safely(user: User) -> None:
    await open_settings(user)
    upload = user.find(marker='logo-upload').elements.pop()
    await upload.handle_uploads([SmallFileUpload('logo.png', 'image/png', factories.MINIMAL_PNG)])
    await see(user, 'Logo saved.')
    file_id = settings_service.get_settings().logo_file_id
    assert file_id
    await user.open('/admin')
    header = portal_header(user)  # (the header draws the image from these in the browser: an img with this alt)
    assert header.props['logo_url'] == f'/branding/logo?v={file_id}' and header.props['logo_alt'] == 'Clinic logo'
    response = await user.http_client.get('/branding/logo')
    assert response.status_code == 200
    assert response.content == factories.MINIMAL_PNG
    assert response.headers['content-type'] == 'image/png'
    assert 'nosniff' in response.headers['x-content-type-options']
    assert response.headers['cache-control'] == 'public, max-age=300'
    event = audit_events()[-1]
    assert json.loads(event.detail_json)['changes']['logo_file_id'] == {'old': None, 'new': file_id}

    await user.open('/admin/settings')
    await click_and_see(user, 'remove-logo', 'Logo removed.')
    assert settings_service.get_settings().logo_file_id is None
    await user.open('/admin')
    assert 'logo_url' not in portal_header(user).props  # no logo: the header draws its default icon


async def test_the_logo_alt_text_reaches_preview_and_header_as_text(user: User) -> None:
    alt = 'Valley "Clinic" logo\' onerror=alert(1) x="'
    await open_settings(user)
    upload = user.find(marker='logo-upload').elements.pop()
    await upload.handle_uploads([SmallFileUpload('logo.png', 'image/png', factories.MINIMAL_PNG)])
    await see(user, 'Logo saved.')
    set_value(user, 'logo_alt', alt)
    assert await until(lambda: user.find(marker='preview-logo').elements.pop().props.get('alt') == alt)
    await click_and_see(user, 'save-branding', 'Saved.')
    assert settings_service.get_settings().logo_alt == alt
    await user.open('/admin')
    header = portal_header(user)
    assert header.props['logo_alt'] == alt and 'onerror' not in header.props


async def test_svg_logo_is_sanitized_and_served_with_a_strict_policy(user: User) -> None:
    await open_settings(user)
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script>'
           b'<rect width="10" height="10" fill="url(https://evil.test/x)" onclick="x()"/>'
           b'<circle r="4" fill="#123456"/></svg>')
    upload = user.find(marker='logo-upload').elements.pop()
    await upload.handle_uploads([SmallFileUpload('logo.svg', 'image/svg+xml', svg)])
    await see(user, 'Logo saved.')
    response = await user.http_client.get('/branding/logo')
    assert response.headers['content-type'] == 'image/svg+xml'
    assert "default-src 'none'" in response.headers['content-security-policy']
    body = response.content.lower()
    for bad in (b'script', b'onload', b'onclick', b'evil.test'):
        assert bad not in body
    assert b'circle' in body


async def test_a_logo_that_is_really_html_is_refused_and_nothing_changes(user: User) -> None:
    await open_settings(user)
    upload = user.find(marker='logo-upload').elements.pop()
    await upload.handle_uploads([SmallFileUpload('logo.png', 'image/png', b'<html><script>alert(1)</script></html>')])
    await see(user, '"logo.png" is not a PNG, JPEG or SVG image.')
    await upload.handle_uploads([SmallFileUpload('logo.svg', 'image/svg+xml', XHTML)])
    await see(user, '"logo.svg" is not a PNG, JPEG or SVG image that can be shown safely.')
    assert settings_service.get_settings().logo_file_id is None
    assert (await user.http_client.get('/branding/logo')).status_code == 404
    assert audit_events() == []


async def test_branding_texts_reach_the_frame_and_bad_links_are_refused(user: User) -> None:
    await open_settings(user)
    set_value(user, 'header_text', 'Occupational Health')
    set_value(user, 'footer_text', 'Valley Clinic, Main Street 1')
    set_value(user, 'footer_links', 'Privacy | javascript:alert(1)')
    await click(user, 'save-branding')
    await see(user, 'Footer link line 1')
    assert settings_service.get_settings().header_text == ''
    set_value(user, 'footer_links', 'Privacy | https://clinic.test/privacy')
    set_value(user, 'primary_color', '#aa3300')
    await click_and_see(user, 'save-branding', 'Saved.')
    await see(user, marker='preview-header-text')
    await user.open('/admin')
    await see(user, 'Occupational Health')
    await see(user, 'Valley Clinic, Main Street 1')
    await see(user, 'Privacy')
    page = await user.http_client.get('/login')  # every page is rendered with the portal's colours
    assert '"primary":"#aa3300"' in page.text and '"secondary":"#1d6f67"' in page.text


async def test_settings_page_is_for_admins_only(user: User) -> None:
    await sign_in_as(user, 'staff', 'nurse@clinic.test')
    await user.open('/admin/settings')
    await see(user, marker='staff-home')
    await user.should_not_see(marker='admin-settings')


async def test_the_smtp_password_never_reaches_the_audit_log(user: User) -> None:
    """Through the SMTP page linked from the Email section, end to end."""
    await open_settings(user)
    await see(user, marker='smtp-link')
    await user.open('/admin/email')
    await see(user, marker='email-page')
    user.find(marker='host').clear().type('mail.clinic.test')
    user.find(marker='mail-from').clear().type('portal@clinic.test')
    user.find(marker='password').type('Very-Secret-Mail-Pass-7')
    await click(user, 'save')
    assert await until(lambda: settings_service.get_settings().smtp_password == 'Very-Secret-Mail-Pass-7')
    settings_service.invalidate_cache()
    events = seed(lambda session: session.exec(select(AuditEvent)).all())
    assert any(e.action == 'settings_changed' and 'mail.clinic.test' in e.detail_json for e in events)
    for event in events:
        assert 'Very-Secret' not in event.detail_json and 'Very-Secret' not in event.actor


async def test_email_as_username_off_lets_a_new_contact_choose_a_username(user: User) -> None:
    from tests.activation_helpers import invite, open_with_code
    await open_settings(user)
    user.find(marker='email_is_username').click()
    await click_and_see(user, 'save-features', 'Saved.')
    sign_out(user)
    assert await landed_on(user, '/login')
    _, code = invite()
    await open_with_code(user, code)
    user.find(marker='who-next').click()
    await see(user, marker='email-next')
    user.find(marker='email').type('dr.jones@outside.test')
    user.find(marker='email-next').click()
    await see(user, marker='create-account')
    username = user.find(marker='username').elements.pop()
    assert username.value == '' and 'readonly' not in username.props
