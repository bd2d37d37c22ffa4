"""The admin's email tools: template editing with a live preview, SMTP settings, test emails, outbox actions.

Every change is audited in the same transaction; secrets never leave this module unmasked.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from models import EmailTemplate, OutboxEmail
from models.shapes import Actor

from . import audit, clock, db, idempotency, logging_setup, mailer, outbox, validate
from .config import get_config
from .email_templates import (COMMON_VARIABLES, KINDS, RenderedEmail, TemplateSource, check_source, common_context,
                              current_source, default_source, render_source)
from .errors import InvalidInput
from .settings import get_settings, save_settings
from .settings_admin import require_admin

SMTP_FIELDS = ('smtp_host', 'smtp_port', 'smtp_tls', 'smtp_user', 'smtp_password', 'mail_from')
# which environment variable overrides which stored SMTP value (services.config reads SMP_*)
SMTP_ENV = {'smtp_host': 'SMP_SMTP_HOST', 'smtp_port': 'SMP_SMTP_PORT', 'smtp_tls': 'SMP_SMTP_TLS',
            'smtp_user': 'SMP_SMTP_USER', 'smtp_password': 'SMP_SMTP_PASSWORD', 'mail_from': 'SMP_MAIL_FROM'}
TLS_CHOICES = {'starttls': 'STARTTLS (port 587)', 'tls': 'TLS (port 465)', 'none': 'None (local relay only)'}


# ----------------------------------------------------------------------------- templates

@dataclass(frozen=True)
class TemplateView:
    """One kind's current template and the variables it may use (name -> meaning)."""

    kind: str
    title: str
    variables: dict[str, str]
    subject: str
    html: str
    text: str
    customized: bool


def template_kinds() -> dict[str, str]:
    """Every email kind: key -> title."""
    return {key: kind.title for key, kind in KINDS.items()}


def template_view(session: Session, *, actor: Actor, kind: str) -> TemplateView:
    """The current template of a kind (the admin's version or the shipped default); for admins."""
    require_admin(actor)
    source = current_source(session, kind)
    info = KINDS[kind]
    return TemplateView(kind=kind, title=info.title, variables=info.variables | COMMON_VARIABLES,
                        subject=source.subject, html=source.html, text=source.text, customized=source.customized)


def preview(session: Session, *, actor: Actor, kind: str, subject: str, html: str, text: str) -> RenderedEmail:
    """Check an edited template and render it with the kind's sample values (raises InvalidInput); for admins."""
    require_admin(actor)
    _check_kind(kind)
    source = TemplateSource(subject, html, text, customized=True)
    check_source(kind, source)
    return render_source(source, sample_context(session, kind))


@dataclass(frozen=True)
class LivePreview:
    """An editor's preview: the rendered email, or the problem that keeps the edited template from rendering."""

    email: RenderedEmail | None
    problem: str = ''


def live_preview(session: Session, *, actor: Actor, kind: str, subject: str, html: str, text: str) -> LivePreview:
    """`preview` while the admin types: a template that does not render yet is an answer here, not an error."""
    try:
        return LivePreview(preview(session, actor=actor, kind=kind, subject=subject, html=html, text=text))
    except InvalidInput as problem:
        return LivePreview(None, str(problem))


def sample_context(session: Session | None, kind: str) -> dict[str, Any]:
    """The common variables plus the kind's documented sample values."""
    return common_context(session) | KINDS[kind].sample


def save_template(session: Session, *, kind: str, subject: str, html: str, text: str, actor: Actor) -> None:
    """Store the admin's version of a template; a syntax error or unknown variable stores nothing."""
    preview(session, actor=actor, kind=kind, subject=subject, html=html, text=text)  # raises before any write
    row = session.get(EmailTemplate, kind) or EmailTemplate(kind=kind, subject='', body_html='', body_text='')
    row.subject, row.body_html, row.body_text = subject.strip(), html, text
    row.updated_at, row.updated_by_account_id = clock.now(), actor.account_id
    session.add(row)
    audit.record(session, action='email_template_changed', actor=actor, object_type='email_template', object_id=kind)


def reset_template(session: Session, *, kind: str, actor: Actor) -> TemplateView:
    """Go back to the shipped default of a kind."""
    require_admin(actor)
    _check_kind(kind)
    default_source(kind)  # unknown kinds raise InvalidInput
    row = session.get(EmailTemplate, kind)
    if row is not None:
        session.delete(row)
        session.flush()
        audit.record(session, action='email_template_reset', actor=actor, object_type='email_template', object_id=kind)
    return template_view(session, actor=actor, kind=kind)


# ----------------------------------------------------------------------------- test emails

@dataclass(frozen=True)
class TestResult:
    """What the mail server answered to a test email (or why it could not be sent)."""

    ok: bool
    answer: str


def send_test_email(*, to: str, actor: Actor, kind: str = 'test_email', edited: tuple[str, str, str] | None = None,
                    idempotency_key: str | None = None) -> TestResult | idempotency.Replayed:
    """Send one email now (blocking: pages run this off the event loop) and return the server's answer.

    `edited` = (subject, html, text) tests a template being edited before it is saved; it is checked first.
    Template kinds other than the test email are filled with their sample values. The same submit sent twice
    (same `idempotency_key`) sends one email and returns REPLAYED the second time.
    """
    require_admin(actor)
    _check_kind(kind)
    address = validate.email(to, label='Test address')
    with db.transaction() as session:
        if idempotency_key and not idempotency.claim(session, key=idempotency_key, action='test_email_sent',
                                                     actor=actor):
            return idempotency.REPLAYED
        settings = get_settings(session)
        context = sample_context(session, kind) | {'sent_at': clock.now().strftime('%d %b %Y %H:%M UTC')}
        if edited is not None:
            rendered = preview(session, actor=actor, kind=kind, subject=edited[0], html=edited[1], text=edited[2])
        else:
            rendered = render_source(current_source(session, kind), context)
        cfg = mailer.smtp_config(settings)
        message_id = f'<{secrets.token_hex(16)}@{mailer.message_domain(settings)}>'
    subject = rendered.subject if kind == 'test_email' else f'[Test] {rendered.subject}'
    if cfg is None:
        result = TestResult(False, 'No mail server is configured: set the SMTP host first.')
    else:
        try:
            result = TestResult(True, mailer.send(cfg, message_id=message_id, to=address, subject=subject,
                                                  html=rendered.html, text=rendered.text))
        except (mailer.TransientMailError, mailer.PermanentMailError) as error:
            result = TestResult(False, str(error))
    with db.transaction() as session:
        audit.record(session, action='test_email_sent', actor=actor, object_type='email_template', object_id=kind,
                     detail={'to': address, 'ok': result.ok, 'answer': result.answer[:300]})
    return result


# ----------------------------------------------------------------------------- SMTP settings

@dataclass(frozen=True)
class SmtpView:
    """The stored SMTP values (password only as set / not set) and the environment's overrides."""

    host: str
    port: int
    tls: str
    user: str
    password_set: bool
    mail_from: str
    overridden: dict[str, str]  # setting -> environment variable that wins over it
    effective: str  # one line: where mail goes now


def smtp_view(session: Session, *, actor: Actor) -> SmtpView:
    """What the SMTP settings page shows; for admins."""
    require_admin(actor)
    settings = get_settings(session)
    env = get_config()
    overridden = {key: var for key, var in SMTP_ENV.items() if getattr(env, key) not in (None, '')}
    cfg = mailer.smtp_config(settings)
    effective = ('No mail server: emails stay in the outbox.' if cfg is None else
                 f'{cfg.host}:{cfg.port} ({TLS_CHOICES.get(cfg.tls, cfg.tls)}), from {cfg.mail_from}'
                 + (f', signing in as {cfg.user}' if cfg.user else ''))
    return SmtpView(host=settings.smtp_host, port=settings.smtp_port, tls=settings.smtp_tls, user=settings.smtp_user,
                    password_set=bool(settings.smtp_password), mail_from=settings.mail_from, overridden=overridden,
                    effective=effective)


def save_smtp(session: Session, *, host: str, port: Any, tls: str, user: str, mail_from: str,
              password: str | None, clear_password: bool = False, actor: Actor) -> dict[str, tuple[Any, Any]]:
    """Validate and store the SMTP settings; an empty password keeps the stored one.

    Returns the changes (secrets masked); bad input raises InvalidInput and stores nothing.
    """
    require_admin(actor)
    changes: dict[str, Any] = {
        'smtp_host': _host(host), 'smtp_port': _port(port), 'smtp_tls': tls, 'smtp_user': (user or '').strip(),
        'mail_from': validate.email(mail_from, label='From address') if (mail_from or '').strip() else '',
    }
    if tls not in TLS_CHOICES:
        raise InvalidInput('Choose STARTTLS, TLS or none.')
    if clear_password:
        changes['smtp_password'] = ''
    elif password:
        changes['smtp_password'] = password
    diff = save_settings(session, changes=changes, account_id=actor.account_id)
    if diff:
        audit.record(session, action='settings_changed', actor=actor, object_type='settings', object_id='smtp',
                     detail={key: {'old': old, 'new': new} for key, (old, new) in diff.items()})
        logging_setup.configuration_changed('smtp', diff, actor.account_id)
    return diff


def _check_kind(kind: str) -> None:
    if not isinstance(kind, str) or kind not in KINDS:
        raise InvalidInput('Choose an email kind.')


def _host(value: str) -> str:
    value = (value or '').strip().lower()
    if value and (len(value) > 253 or not all(c.isalnum() or c in '.-:[]' for c in value)):
        raise InvalidInput('SMTP host must be a host name or an IP address.')
    return value


def _port(value: Any) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise InvalidInput('SMTP port must be a number from 1 to 65535.') from None
    if not 1 <= port <= 65535:
        raise InvalidInput('SMTP port must be a number from 1 to 65535.')
    return port


# ----------------------------------------------------------------------------- outbox actions

def retry_email(session: Session, *, email_id: int, actor: Actor) -> OutboxEmail | None:
    """Put an unsent email at the front of the queue again (audited); for admins."""
    require_admin(actor)
    email = outbox.retry_now(session, email_id=email_id)
    audit.record(session, action='outbox_retry', actor=actor, object_type='outbox_email', object_id=email_id,
                 contact_id=email.contact_id if email else None)
    return email


def cancel_email(session: Session, *, email_id: int, actor: Actor) -> OutboxEmail | None:
    """Stop an unsent email (audited); its code, if any, is wiped; for admins."""
    require_admin(actor)
    email = outbox.cancel(session, email_id=email_id)
    audit.record(session, action='outbox_cancel', actor=actor, object_type='outbox_email', object_id=email_id,
                 contact_id=email.contact_id if email else None)
    return email
