"""The admin settings page's rules: sections, labels, validation with clear sentences, audited saves."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import ValidationError
from sqlmodel import Session

from models.shapes import Actor

from . import audit, logging_setup, validate
from .errors import Forbidden, InvalidInput
from .settings import SECRET_KEYS, FooterLink, PortalSettings, save_settings

SECTIONS: dict[str, tuple[str, ...]] = {
    'general': ('portal_name', 'base_url', 'time_zone', 'help_desk_phone', 'support_email'),
    'features': ('replies_enabled', 'registration_enabled', 'email_is_username', 'terms_required', 'terms_text',
                 'document_types'),
    'branding': ('logo_file_id', 'logo_alt', 'primary_color', 'header_text', 'footer_enabled', 'footer_text',
                 'footer_links'),
    'security': ('activation_code_days', 'session_idle_minutes', 'session_absolute_hours', 'password_min_length',
                 'signin_max_failures', 'upload_max_mb', 'audit_anchor_every_events', 'audit_anchor_every_minutes'),
    'audit': ('audit_anchor_email',),
    'two_step': ('second_factor_staff', 'second_factor_contacts', 'second_factor_grace_days', 'second_factor_totp',
                 'second_factor_passkey', 'second_factor_trust_browser'),
    'notifications': ('review_window_minutes', 'unread_reminder_after_days', 'unread_reminder_every_days',
                      'unread_reminder_max', 'code_expiry_reminder_days', 'staff_digest_minutes'),
    'sharing': ('share_replies_default', 'share_acknowledgement_default', 'share_expiry_default_days',
                'share_expiry_max_days', 'share_expiry_notice_days'),
    'staff_alerts': ('staff_alert_reply_mine', 'staff_alert_reply_any', 'staff_alert_registration',
                     'staff_alert_unread', 'staff_alert_bounced'),
    'smtp': ('smtp_host', 'smtp_port', 'smtp_tls', 'smtp_user', 'smtp_password', 'mail_from'),
}
LABELS: dict[str, str] = {
    'portal_name': 'Portal name', 'base_url': 'Public base URL', 'time_zone': 'Time zone',
    'help_desk_phone': 'Help-desk phone', 'support_email': 'Support email',
    'replies_enabled': 'Replies enabled', 'registration_enabled': 'New registration enabled',
    'email_is_username': 'Email must be the username', 'terms_required': 'Terms of use required',
    'terms_text': 'Terms of use text', 'document_types': 'Document types',
    'logo_file_id': 'Logo', 'logo_alt': 'Logo alt text', 'primary_color': 'Primary color',
    'header_text': 'Header text', 'footer_enabled': 'Footer shown', 'footer_text': 'Footer text',
    'footer_links': 'Footer links',
    'activation_code_days': 'Activation code lifetime (days)', 'session_idle_minutes': 'Session idle timeout (minutes)',
    'session_absolute_hours': 'Session absolute timeout (hours)', 'password_min_length': 'Password minimum length',
    'signin_max_failures': 'Failed sign-ins before lockout', 'upload_max_mb': 'Upload size limit (MB)',
    'audit_anchor_every_events': 'Anchor the audit log every (events)',
    'audit_anchor_every_minutes': 'Anchor the audit log every (minutes)',
    'audit_anchor_email': 'Email the audit log anchor to the admins daily',
    'review_window_minutes': 'Reminder to Review merge window (minutes)',
    'unread_reminder_after_days': 'First unread reminder after (days)',
    'unread_reminder_every_days': 'Further unread reminders every (days)',
    'unread_reminder_max': 'Unread reminders at most', 'code_expiry_reminder_days': 'Code expiry reminder (days before)',
    'staff_digest_minutes': 'Staff digest every (minutes)',
    'share_replies_default': 'New shares allow replies', 'share_acknowledgement_default':
    'New shares require acknowledgement', 'share_expiry_default_days': 'New shares expire after (days, 0 = never)',
    'share_expiry_max_days': 'Longest expiry staff may choose (days, 0 = no limit)',
    'share_expiry_notice_days': 'Tell the contact before a share expires (days before, 0 = no notice)',
    'staff_alert_reply_mine': 'New reply on a document the staff member sent',
    'staff_alert_reply_any': 'New reply on any document', 'staff_alert_registration': 'New registration to review',
    'staff_alert_unread': 'A share they sent is still unread', 'staff_alert_bounced': 'The invitation email bounced',
    'smtp_host': 'SMTP host', 'smtp_port': 'SMTP port', 'smtp_tls': 'SMTP security', 'smtp_user': 'SMTP user',
    'smtp_password': 'SMTP password', 'mail_from': 'Sender address',
    'second_factor_staff': 'Required for staff and administrators', 'second_factor_contacts': 'Contacts',
    'second_factor_grace_days': 'Days to set it up after it becomes required',
    'second_factor_totp': 'Allow authenticator apps (6-digit codes)', 'second_factor_passkey': 'Allow passkeys',
    'second_factor_trust_browser': 'Offer "trust this browser for 30 days"',
}
_COLOR = re.compile(r'^#[0-9a-fA-F]{6}$')


def require_admin(actor: Actor | None) -> Actor:
    """The actor when it is an admin; Forbidden otherwise (the rule lives here, not only in the page)."""
    if actor is None or not actor.is_admin:
        raise Forbidden()
    return actor


def save_section(session: Session, *, section: str, values: dict[str, Any], actor: Actor) -> dict[str, tuple[Any, Any]]:
    """Validate and store one section's values; audit old and new values (secrets masked) in the same transaction.

    Raises InvalidInput with one clear sentence per problem; nothing is stored then.
    """
    require_admin(actor)
    if section not in SECTIONS:
        raise InvalidInput(f'Unknown settings section: {section}.')
    unknown = set(values) - set(SECTIONS[section])
    if unknown:
        raise InvalidInput(f'Not part of the {section} section: {", ".join(sorted(unknown))}.')
    cleaned = clean_values(values)
    diff = save_settings(session, changes=cleaned, account_id=actor.account_id)
    if diff:
        audit.record(session, action='settings_changed', actor=actor, object_type='settings', object_id=section,
                     detail={'section': section, 'changes': {k: {'old': old, 'new': new} for k, (old, new) in diff.items()}})
        logging_setup.configuration_changed(section, diff, actor.account_id)
    return diff


def clean_values(values: dict[str, Any]) -> dict[str, Any]:
    """Trim, convert and check each value; raise InvalidInput listing every problem."""
    cleaned: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in values.items():
        try:
            cleaned[key] = _clean_one(key, value)
        except InvalidInput as error:
            problems.append(str(error))
    if not problems and cleaned.get('terms_required') and not cleaned.get('terms_text', 'x'):
        problems.append('Terms of use text is required when terms of use are required.')
    if not problems and cleaned.get('second_factor_totp') is False and cleaned.get('second_factor_passkey') is False:
        problems.append('Allow at least one kind of second step (authenticator apps or passkeys).')
    if problems:
        raise InvalidInput(' '.join(problems))
    return cleaned


def _clean_one(key: str, value: Any) -> Any:
    label = LABELS.get(key, key)
    value = _coerce(key, label, value)
    special = _SPECIAL.get(key)
    if special is not None:
        value = special(value, label)
    try:
        PortalSettings(**{key: value})
    except ValidationError as error:
        raise InvalidInput(_sentence(key, label, error)) from None
    return value


def _coerce(key: str, label: str, value: Any) -> Any:
    annotation = PortalSettings.model_fields[key].annotation
    if isinstance(value, str) and key not in SECRET_KEYS:
        value = value.strip()
    if annotation is int:
        if value is None or value == '':
            raise InvalidInput(f'{label} is required.')
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f'{label} must be a whole number.') from None
        if number != int(number):
            raise InvalidInput(f'{label} must be a whole number.')
        return int(number)
    if annotation is bool:
        return bool(value)
    return value


def _sentence(key: str, label: str, error: ValidationError) -> str:
    item = error.errors()[0]
    low, high = bounds(key)
    if item['type'] in ('greater_than_equal', 'less_than_equal') and low is not None and high is not None:
        return f'{label} must be between {low} and {high}.'
    if item['type'] == 'string_too_long':
        return f'{label} can have at most {item["ctx"]["max_length"]} characters.'
    if item['type'] == 'string_too_short':
        return f'{label} is required.'
    if item['type'] == 'too_short':
        return f'{label} needs at least one entry.'
    if item['type'] == 'too_long':
        return f'{label} can have at most {item["ctx"]["max_length"]} entries.'
    return f'{label}: {item["msg"].removeprefix("Value error, ")}.'


def bounds(key: str) -> tuple[Any, Any]:
    """The lowest and highest value a numeric setting accepts (None when unbounded)."""
    low = high = None
    for rule in PortalSettings.model_fields[key].metadata:
        low = getattr(rule, 'ge', low)
        high = getattr(rule, 'le', high)
    return low, high


def _time_zone(value: str, label: str) -> str:
    try:
        if len(value) > 64 or value not in _zone_names():  # a name, never a path the zone loader would open
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = value if len(value) <= 64 else value[:60] + '…'
        raise InvalidInput(f'{label} "{shown}" is not a known time zone (for example Europe/Zurich or '
                           'America/New_York).') from None
    return value


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) | {'UTC'}


def _base_url(value: str, label: str) -> str:
    if not value:
        return ''
    parsed = urlparse(value)
    if parsed.scheme not in ('http', 'https') or not parsed.netloc or parsed.query or parsed.fragment or ' ' in value:
        raise InvalidInput(f'{label} must look like https://portal.example.org (no query or fragment).')
    return value.rstrip('/')


def _optional_email(value: str, label: str) -> str:
    return validate.email(value, label=label) if value else ''


def _phone(value: str, label: str) -> str:
    return validate.phone(value, label=label) or ''


def is_color(value: str | None) -> bool:
    """Whether a value is a #rrggbb color (the preview uses it before saving)."""
    return bool(_COLOR.match(value or ''))


# WCAG 2.2 AA: the primary colour is text on white (links, flat buttons) and the background of white button text
MIN_CONTRAST = 4.5
PAGE_BACKGROUNDS = ('#ffffff', '#fafafa')  # cards and the page


def contrast_ratio(first: str, second: str) -> float:
    """The WCAG contrast ratio (1..21) of two #rrggbb colors."""
    def luminance(color: str) -> float:
        channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def color_contrast_problem(value: str) -> str | None:
    """Why a primary color would make text unreadable (contrast below 4.5:1 on the page), or None when it is fine."""
    ratio = min(contrast_ratio(value, background) for background in PAGE_BACKGROUNDS)
    if ratio >= MIN_CONTRAST:
        return None
    return (f'{value.lower()} is too light: links and button text in it have a contrast of {ratio:.1f}:1 on the '
            f'page, and WCAG 2.2 AA needs at least {MIN_CONTRAST}:1. Choose a darker color.')


def _color(value: str, label: str) -> str:
    if not is_color(value):
        raise InvalidInput(f'{label} must be a color like #1f5f8b.')
    problem = color_contrast_problem(value)
    if problem:
        raise InvalidInput(f'{label}: {problem}')
    return value.lower()


def _document_types(value: Any, label: str) -> list[str]:
    items = value.splitlines() if isinstance(value, str) else list(value or [])
    items = [str(v).strip() for v in items if str(v).strip()]
    if not items:
        raise InvalidInput(f'{label} needs at least one entry.')
    return items


def _footer_links(value: Any, label: str) -> list[dict[str, str]]:
    if isinstance(value, str):
        return parse_footer_links(value)
    return parse_footer_links(footer_links_text([FooterLink.model_validate(v) if isinstance(v, dict) else v
                                                 for v in value or []]))


def parse_footer_links(text: str) -> list[dict[str, str]]:
    """Footer links from lines of "Label | https://address"; InvalidInput names the bad line."""
    links = []
    for number, line in enumerate((text or '').splitlines(), start=1):
        if not line.strip():
            continue
        label, sep, url = line.partition('|')
        try:
            if not sep:
                raise ValueError
            link = FooterLink(label=label.strip(), url=url.strip())
        except (ValueError, ValidationError):
            raise InvalidInput(f'Footer link line {number}: write "Label | https://address" '
                               '(addresses start with https://, http://, mailto: or /).') from None
        links.append(link.model_dump())
    return links


def footer_links_text(links: list[Any]) -> str:
    """The footer links as the editable "Label | URL" lines."""
    return '\n'.join(f'{link.label} | {link.url}' for link in links)


_SPECIAL = {
    'time_zone': _time_zone, 'base_url': _base_url, 'support_email': _optional_email, 'mail_from': _optional_email,
    'help_desk_phone': _phone, 'primary_color': _color, 'document_types': _document_types,
    'footer_links': _footer_links,
}
