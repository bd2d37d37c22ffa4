"""Email kinds, their documented variables, and rendering (shipped defaults or the admin's versions).

Variables every template gets: portal_name, portal_url, help_desk_phone, support_email.
No variable ever carries PHI: no chart names, document titles, reply text or registration answers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment
from sqlmodel import Session

from models import EmailTemplate

from .errors import InvalidInput
from .settings import get_settings

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / 'assets' / 'email'
COMMON_VARIABLES = {
    'portal_name': 'the portal name from the settings',
    'portal_url': 'the public address of the portal',
    'help_desk_phone': 'the help-desk phone from the settings (may be empty)',
    'support_email': 'the support email from the settings (may be empty)',
}


@dataclass(frozen=True)
class EmailKind:
    """One kind of email and the variables its template may use (besides the common ones)."""

    key: str
    title: str
    variables: dict[str, str]
    sample: dict[str, Any]


KINDS: dict[str, EmailKind] = {k.key: k for k in [
    EmailKind('invitation', 'Invitation (activation code)',
              {'activation_code': 'the code, grouped for reading', 'activate_url': 'link that fills in the code',
               'link_existing_url': 'link to sign in and add the code to an existing account',
               'expires_on': 'the date the code expires'},
              {'activation_code': 'K7QF-M2XD-9RTW-4HPA', 'activate_url': 'https://portal.example/activate?code=K7QFM2XD9RTW4HPA',
               'link_existing_url': 'https://portal.example/activate?code=K7QFM2XD9RTW4HPA&existing=1', 'expires_on': '26 Dec 2026'}),
    EmailKind('email_verification', 'Email verification code',
              {'verification_code': 'six digits', 'minutes_valid': 'how long the code works'},
              {'verification_code': '482913', 'minutes_valid': 10}),
    EmailKind('account_confirmation', 'Account confirmation',
              {'username': 'the new account\'s username', 'sign_in_url': 'the sign-in page'},
              {'username': 'dr.jones@example.org', 'sign_in_url': 'https://portal.example/login'}),
    EmailKind('reminder_to_review', 'Reminder to Review',
              {'document_count': 'how many new documents this email announces', 'sign_in_url': 'the sign-in page'},
              {'document_count': 3, 'sign_in_url': 'https://portal.example/login'}),
    EmailKind('unread_reminder', 'Unread reminder',
              {'document_count': 'how many documents are still unread', 'days_waiting': 'days since the oldest was shared',
               'sign_in_url': 'the sign-in page'},
              {'document_count': 1, 'days_waiting': 3, 'sign_in_url': 'https://portal.example/login'}),
    EmailKind('code_expiring', 'Activation code expiring soon',
              {'expires_on': 'the date the code expires', 'activate_url': 'the activation page'},
              {'expires_on': '26 Dec 2026', 'activate_url': 'https://portal.example/activate'}),
    EmailKind('share_expiring', 'Shared documents expiring soon',
              {'document_count': 'how many documents expire soon', 'expires_on': 'the last day they can be read',
               'sign_in_url': 'the sign-in page'},
              {'document_count': 1, 'expires_on': '26 Dec 2026', 'sign_in_url': 'https://portal.example/login'}),
    EmailKind('password_reset', 'Password reset code',
              {'reset_code': 'six digits', 'minutes_valid': 'how long the code works', 'reset_url': 'the reset page'},
              {'reset_code': '731044', 'minutes_valid': 10, 'reset_url': 'https://portal.example/forgot-password'}),
    EmailKind('password_changed', 'Password changed notice',
              {'changed_at': 'date and time of the change', 'sign_in_url': 'the sign-in page'},
              {'changed_at': '26 Nov 2026 14:02 UTC', 'sign_in_url': 'https://portal.example/login'}),
    EmailKind('second_factor_reset', 'Two-step sign-in reset notice',
              {'reset_at': 'date and time of the reset', 'sign_in_url': 'the sign-in page'},
              {'reset_at': '26 Nov 2026 14:02 UTC', 'sign_in_url': 'https://portal.example/login'}),
    EmailKind('staff_new_replies', 'Staff: new replies',
              {'reply_count': 'new replies since the last digest', 'worklist_url': 'the SMP worklist'},
              {'reply_count': 4, 'worklist_url': 'https://portal.example/staff/worklist'}),
    EmailKind('staff_new_registrations', 'Staff: new registrations',
              {'registration_count': 'new registrations since the last digest', 'review_url': 'the review queue'},
              {'registration_count': 2, 'review_url': 'https://portal.example/staff/registrations'}),
    EmailKind('staff_alert', 'Staff: alert (one item)',
              {'alert_title': 'the subject: what happened, no names', 'alert_text': 'one sentence, no names',
               'item_url': 'the item in the clinic workspace', 'settings_url': 'the staff alert choices'},
              {'alert_title': 'New reply on a document you sent', 'alert_text': 'A contact replied to a document you '
               'sent (reply 42).', 'item_url': 'https://portal.example/staff/reply/42',
               'settings_url': 'https://portal.example/staff/settings'}),
    EmailKind('staff_digest', 'Staff: alert digest',
              {'item_count': 'how many items the digest counts', 'summary': 'one line per kind of item (counts only)',
               'home_url': 'the clinic workspace', 'settings_url': 'the staff alert choices'},
              {'item_count': 5, 'summary': ['3 new replies on documents you sent', '2 new registrations to review'],
               'home_url': 'https://portal.example/staff', 'settings_url': 'https://portal.example/staff/settings'}),
    EmailKind('registration_received', 'Registration received',
              {'reference': 'the registration\'s reference number'}, {'reference': 'R-7K2M9Q'}),
    EmailKind('registration_processed', 'Registration processed',
              {'reference': 'the registration\'s reference number', 'sign_in_url': 'the sign-in page'},
              {'reference': 'R-7K2M9Q', 'sign_in_url': 'https://portal.example/login'}),
    EmailKind('audit_anchor', 'Admin: daily audit log anchor',
              {'anchor_seq': 'sequence number of the newest audit event', 'anchor_hash': 'its keyed chain hash',
               'anchor_at': 'when it was recorded (UTC)', 'check_command': 'the command that checks the log against it'},
              {'anchor_seq': 1840, 'anchor_hash': '3f1c9a' + '0' * 58, 'anchor_at': '2026-11-26 07:59:58 UTC',
               'check_command': 'python main.py check-audit --expect 1840:3f1c9a' + '0' * 58}),
    EmailKind('outbox_paused', 'Admin: email delivery paused',
              {'paused_since': 'when the mail server started refusing every email (UTC)',
               'pause_reason': 'what the mail server answered'},
              {'paused_since': '2026-11-26 07:59 UTC',
               'pause_reason': 'The mail server refuses to relay the portal\'s emails: 550 5.7.1 Relaying denied'}),
    EmailKind('test_email', 'Test email', {'sent_at': 'when the test was sent'}, {'sent_at': '26 Nov 2026 14:02 UTC'}),
]}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class TemplateSource:
    subject: str
    html: str
    text: str
    customized: bool


def default_source(kind: str) -> TemplateSource:
    """The template shipped in assets/email/<kind>/."""
    folder = TEMPLATE_DIR / _kind(kind).key
    return TemplateSource((folder / 'subject.txt').read_text().strip(), (folder / 'body.html').read_text(),
                          (folder / 'body.txt').read_text(), customized=False)


def current_source(session: Session, kind: str) -> TemplateSource:
    """The admin's version when there is one, else the shipped default."""
    row = session.get(EmailTemplate, _kind(kind).key)
    if row is None:
        return default_source(kind)
    return TemplateSource(row.subject, row.body_html, row.body_text, customized=True)


def common_context(session: Session | None = None) -> dict[str, Any]:
    """The variables every template gets."""
    settings = get_settings(session)
    return {'portal_name': settings.portal_name, 'portal_url': settings.public_url,
            'help_desk_phone': settings.help_desk_phone, 'support_email': settings.support_email}


def render(session: Session, kind: str, context: dict[str, Any]) -> RenderedEmail:
    """Render the current template of a kind with the common variables plus `context`."""
    return render_source(current_source(session, kind), common_context(session) | context)


def render_source(source: TemplateSource, context: dict[str, Any]) -> RenderedEmail:
    """Render a template source (HTML autoescaped, text and subject not)."""
    try:
        subject = _text_env.from_string(source.subject).render(context)
        html = _html_env.from_string(source.html).render(context)
        text = _text_env.from_string(source.text).render(context)
    except jinja2.TemplateError as error:
        raise InvalidInput(f'The template cannot be rendered: {error}') from None
    return RenderedEmail(' '.join(subject.split())[:300], html, text)


def check_source(kind: str, source: TemplateSource) -> None:
    """Refuse a template with a syntax error or a variable the kind does not provide."""
    allowed = set(COMMON_VARIABLES) | set(_kind(kind).variables)
    for label, body, env in (('Subject', source.subject, _text_env), ('HTML', source.html, _html_env),
                             ('Text', source.text, _text_env)):
        if not body.strip():
            raise InvalidInput(f'{label} must not be empty.')
        try:
            parsed = env.parse(body)
        except jinja2.TemplateSyntaxError as error:
            raise InvalidInput(f'{label}: syntax error on line {error.lineno}: {error.message}') from None
        unknown = meta.find_undeclared_variables(parsed) - allowed
        if unknown:
            raise InvalidInput(f'{label}: unknown variable {", ".join(sorted(unknown))}. '
                               f'Available: {", ".join(sorted(allowed))}.')


def _kind(kind: str) -> EmailKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise InvalidInput(f'Unknown email kind: {kind}') from None


_loader = jinja2.FileSystemLoader(str(TEMPLATE_DIR))
# Sandboxed: admins edit templates, and a template must not reach Python internals.
_html_env = SandboxedEnvironment(loader=_loader, autoescape=True, undefined=jinja2.StrictUndefined)
_text_env = SandboxedEnvironment(loader=_loader, autoescape=False, undefined=jinja2.StrictUndefined)
