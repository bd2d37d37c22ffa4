"""SMTP delivery through the `emails` package, with certificate verification and clear outcomes."""
from __future__ import annotations

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass

import emails
from emails.backend.smtp import SMTPBackend
from emails.backend.smtp.client import SMTPClientWithResponse

from .config import get_config
from .settings import PortalSettings


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send; environment variables win over the admin's stored values."""

    host: str
    port: int
    tls: str  # none | starttls | tls
    user: str
    password: str
    mail_from: str
    timeout: float = 10.0


class TransientMailError(Exception):
    """The server failed for now (4xx for this email): retry later, up to the outbox's attempt limit."""


class PermanentMailError(Exception):
    """The server refused this recipient for good (5xx, e.g. 5.1.1 mailbox unknown): do not retry this email.

    `reason` is 'mailbox' (5.1.x: the address does not exist, a bounce) or 'rejected' (any other 5xx).
    """

    def __init__(self, text: str, reason: str = 'rejected') -> None:
        super().__init__(text)
        self.reason = reason


class ServerRefusalError(TransientMailError):
    """The server refuses every email, not this recipient: relay or policy (5.7.x), authentication (530/535),
    or it cannot be reached (connection refused, timeout, TLS). Pause the outbox and retry; never fail the email.

    `kind` is 'policy' (5.7.x: could, rarely, be about one recipient), 'authentication' or 'unreachable'.
    """

    def __init__(self, text: str, kind: str) -> None:
        super().__init__(text)
        self.kind = kind


_AUTH_CODES = frozenset({454, 530, 534, 535, 538})  # authentication required / failed / too weak
_ENHANCED = re.compile(r'\b([245])\.(\d{1,3})\.(\d{1,3})\b')


def classify(code: int | None, text: str, error: BaseException | None = None) -> Exception:
    """The exception for an SMTP answer that did not deliver: refusal of everything, of one recipient, or for now."""
    if code is None and isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        detail = error.smtp_error
        text = text or (detail.decode(errors='replace') if isinstance(detail, bytes) else str(detail))
    summary = f'{code} {text}'.strip() if code is not None else \
        f'{type(error).__name__ if error else "Error"}: {error or "no answer from the server"}'
    if code is None:
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return ServerRefusalError(summary, 'authentication')
        if error is None or isinstance(error, (OSError, socket.timeout, TimeoutError, smtplib.SMTPServerDisconnected,
                                               smtplib.SMTPConnectError)) or 'connect' in type(error).__name__.lower():
            return ServerRefusalError(summary, 'unreachable')
        return TransientMailError(summary)
    enhanced = _ENHANCED.search(text)
    if code in _AUTH_CODES or (enhanced and enhanced.group(2) == '7' and enhanced.group(3) in ('0', '8', '9')
                                and 'auth' in text.lower()):
        return ServerRefusalError(summary, 'authentication')
    if code == 421:  # the server is closing the connection for everyone
        return ServerRefusalError(summary, 'unreachable')
    if 500 <= code < 600:
        if enhanced and enhanced.group(2) == '7' or (not enhanced and 'relay' in text.lower()):
            return ServerRefusalError(summary, 'policy')
        return PermanentMailError(summary, 'mailbox' if enhanced and enhanced.group(2) == '1' else 'rejected')
    return TransientMailError(summary)


def smtp_config(settings: PortalSettings) -> SmtpConfig | None:
    """The effective SMTP configuration, or None when no server is configured (emails stay in the outbox)."""
    env = get_config()
    host = env.smtp_host or settings.smtp_host
    if not host:
        return None
    tls = env.smtp_tls or settings.smtp_tls
    port = env.smtp_port or settings.smtp_port or {'tls': 465, 'starttls': 587}.get(tls, 25)
    mail_from = env.mail_from or settings.mail_from or f'no-reply@{_domain_of(settings.public_url)}'
    return SmtpConfig(host=host, port=port, tls=tls, user=env.smtp_user or settings.smtp_user,
                      password=env.smtp_password or settings.smtp_password, mail_from=mail_from)


def message_domain(settings: PortalSettings) -> str:
    """The domain used in Message-IDs."""
    cfg = smtp_config(settings)
    if cfg and '@' in cfg.mail_from:
        return cfg.mail_from.rsplit('@', 1)[1].strip('> ')
    return _domain_of(settings.public_url)


def connection(cfg: SmtpConfig) -> SMTPBackend:
    """An SMTP connection to use as a context manager for several sends (closed on exit)."""
    return _Backend(cfg)


def send(cfg: SmtpConfig, *, message_id: str, to: str, subject: str, html: str, text: str,
         backend: SMTPBackend | None = None) -> str:
    """Send one email (blocking); return the server's answer or raise Transient/PermanentMailError.

    Pass `backend` (from `connection`) to reuse one SMTP connection for a batch.
    """
    message = emails.Message(subject=subject, html=html, text=text, mail_from=cfg.mail_from,
                             message_id=message_id, headers={'Auto-Submitted': 'auto-generated'})
    try:
        if backend is not None:
            response = message.send(to=to, smtp=backend)
        else:
            with _Backend(cfg) as own:
                response = message.send(to=to, smtp=own)
    except (socket.timeout, TimeoutError, OSError, smtplib.SMTPException) as error:
        if backend is not None:
            backend.close()  # the next send reconnects
        raise classify(None, '', error) from None
    return _outcome(response)


def _outcome(response: object) -> str:
    code = getattr(response, 'status_code', None)
    text = getattr(response, 'status_text', b'') or b''
    text = text.decode(errors='replace') if isinstance(text, bytes) else str(text)
    if getattr(response, 'success', False):
        return f'{code} {text}'.strip()
    raise classify(code, text, getattr(response, 'error', None))


def _domain_of(url: str) -> str:
    host = url.split('://', 1)[-1].split('/', 1)[0].split(':', 1)[0]
    return host if '.' in host else 'localhost.localdomain'


class _VerifiedClient(SMTPClientWithResponse):
    """STARTTLS with certificate verification (emails' own client does not verify)."""

    def initialize(self) -> None:
        if not self._initialized:
            self.set_debuglevel(self.debug)
            if self.tls:
                self.starttls(context=ssl.create_default_context())
            if self.user:
                self.login(user=self.user, password=self.password)
            self.ehlo_or_helo_if_needed()
            self._initialized = True


class _VerifiedSSLClient(smtplib.SMTP_SSL, _VerifiedClient):
    """Implicit TLS (port 465) with certificate verification."""

    def __init__(self, **kw: object) -> None:
        # no host here: the connection is made once, by SMTP.__init__ below, through this context
        smtplib.SMTP_SSL.__init__(self, timeout=kw.get('timeout'), context=ssl.create_default_context())
        _VerifiedClient.__init__(self, **kw)

    def sendmail(self, *args: object, **kw: object) -> object:
        return _VerifiedClient.sendmail(self, *args, **kw)


class _Backend(SMTPBackend):
    connection_cls = _VerifiedClient
    connection_ssl_cls = _VerifiedSSLClient

    def __init__(self, cfg: SmtpConfig) -> None:
        kwargs: dict[str, object] = {'host': cfg.host, 'port': cfg.port, 'timeout': cfg.timeout,
                                     'local_hostname': 'localhost'}
        if cfg.user:
            kwargs.update(user=cfg.user, password=cfg.password)
        if cfg.tls == 'starttls':
            kwargs['tls'] = True
        super().__init__(ssl=cfg.tls == 'tls', fail_silently=True, **kwargs)
