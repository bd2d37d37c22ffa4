"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that can refuse, defer or go down on request."""
from __future__ import annotations

import email
import re
import socket
import time
from email.message import Message

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, server: 'SmtpServer') -> None:
        self.server = server

    async def handle_RCPT(self, _server, _session, envelope, address, _options):  # noqa: N802 (aiosmtpd API)
        if address.lower() in self.server.reject:
            return '550 5.1.1 No such user here'
        if self.server.defer_next > 0:
            self.server.defer_next -= 1
            return '451 4.3.0 Try again later'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        for rcpt in envelope.rcpt_tos:
            self.server.messages.append((rcpt, message))
        return '250 Message accepted for delivery'


class SmtpServer:
    """Collects every message it accepts in `messages` as (recipient, email.message.Message)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.messages: list[tuple[str, Message]] = []
        self.reject: set[str] = set()
        self.defer_next = 0
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname='127.0.0.1', port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Message]:
        """Messages received for one address."""
        return [m for rcpt, m in self.messages if rcpt.lower() == address.lower()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 5.0) -> list[Message]:
        """Wait until `count` messages for `address` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f'expected {count} message(s) for {address}, got {len(self.to(address))}')


def text_body(message: Message) -> str:
    """The text/plain part of a message."""
    for part in message.walk():
        if part.get_content_type() == 'text/plain':
            return part.get_payload(decode=True).decode(part.get_content_charset() or 'utf-8')
    return ''


def html_body(message: Message) -> str:
    """The text/html part of a message."""
    for part in message.walk():
        if part.get_content_type() == 'text/html':
            return part.get_payload(decode=True).decode(part.get_content_charset() or 'utf-8')
    return ''


def find_link(message: Message, path: str) -> str:
    """The first link in the text body whose path starts with `path`."""
    match = re.search(r'https?://\S*' + re.escape(path) + r'\S*', text_body(message))
    if not match:
        raise AssertionError(f'no link to {path} in:\n{text_body(message)}')
    return match.group(0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
