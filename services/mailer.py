"""SMTP delivery through the `emails` package, with certificate verification and clear outcomes."""
from __future__ import annotations

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
    """The server or network failed for now (4xx, timeout, refused connection): retry later."""


class PermanentMailError(Exception):
    """The server refused for good (5xx): do not retry."""


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
        raise TransientMailError(f'{type(error).__name__}: {error}') from None
    return _outcome(response)


def _outcome(response: object) -> str:
    code = getattr(response, 'status_code', None)
    text = getattr(response, 'status_text', b'') or b''
    text = text.decode(errors='replace') if isinstance(text, bytes) else str(text)
    if getattr(response, 'success', False):
        return f'{code} {text}'.strip()
    error = getattr(response, 'error', None)
    if code is None:
        raise TransientMailError(f'{type(error).__name__ if error else "Error"}: {error or "no answer from the server"}')
    if 500 <= code < 600:
        raise PermanentMailError(f'{code} {text}'.strip())
    raise TransientMailError(f'{code} {text}'.strip())


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
