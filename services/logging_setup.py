"""One log format for the whole process (the portal, NiceGUI, the web server, alembic), with a request id.

Plain lines by default, one JSON object per line with SMP_LOG_FORMAT=json. Every line carries the id of the
request it was written for (`-` outside a request); the id is taken from a sane incoming X-Request-ID (a proxy's)
or made up, and sent back in the response's X-Request-ID. The secret redaction of services.logsafe runs on the one
handler, so it covers every logger. Nothing here may log a form value, a code or a person: callers log ids.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from . import logsafe, metrics

REQUEST_ID: ContextVar[str] = ContextVar('smp_request_id', default='-')
PLAIN_FORMAT = '%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s'
_INCOMING_ID = re.compile(r'[A-Za-z0-9._-]{1,64}')
_handler: logging.Handler | None = None
ACCESS_LOG = logging.getLogger('smp.access')
_METHODS = {'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'}


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request_id, message (and exception when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            'time': datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec='milliseconds'),
            'level': record.levelname,
            'logger': record.name,
            'request_id': getattr(record, 'request_id', '-'),
            'message': record.getMessage(),
        }
        if record.exc_info:
            entry['exception'] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, log_format: str = 'plain') -> None:
    """Route every logger through one handler on standard error in the chosen format (idempotent)."""
    global _handler
    root = logging.getLogger()
    if _handler is not None and _handler in root.handlers:
        root.removeHandler(_handler)
    for handler in list(root.handlers):
        if not getattr(handler, '_pytest_capture', False) and type(handler).__module__ != '_pytest.logging':
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == 'json' else logging.Formatter(PLAIN_FORMAT))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(logsafe.RedactSecrets())
    root.addHandler(handler)
    root.setLevel(level)
    _handler = handler
    if level != 'DEBUG':  # no chatter at every start: migrations applied, jobs added
        logging.getLogger('alembic').setLevel(logging.WARNING)
        logging.getLogger('apscheduler').setLevel(logging.WARNING)
    adopt_web_server_loggers()


def adopt_web_server_loggers() -> None:
    """Let the web server's and NiceGUI's loggers write through the one handler (run again once they started)."""
    for name in ('uvicorn', 'uvicorn.error', 'uvicorn.access', 'uvicorn.asgi', 'nicegui'):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = name != 'uvicorn.access'  # RequestContext writes the request lines (smp.access)


def _access_line(scope: dict[str, Any], status: int) -> None:
    """The request line, written here (not by the web server) so that it carries the request id; the handler's
    redaction filter removes codes and tokens from the query string."""
    client = scope.get('client')
    path = scope.get('path', '')
    query = scope.get('query_string', b'').decode('latin-1')
    ACCESS_LOG.info('%s - "%s %s HTTP/%s" %d', f'{client[0]}:{client[1]}' if client else '-', scope.get('method', ''),
                    f'{path}?{query}' if query else path, scope.get('http_version', '1.1'), status)


class RequestContext:
    """ASGI middleware: a request id per request (and websocket), counted and timed in the metrics."""

    def __init__(self, asgi_app: Any) -> None:
        self.app = asgi_app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope['type'] not in ('http', 'websocket'):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get('headers') or []).get(b'x-request-id', b'').decode('latin-1')
        request_id = incoming if _INCOMING_ID.fullmatch(incoming) else secrets.token_hex(6)
        token = REQUEST_ID.set(request_id)
        if scope['type'] == 'websocket':
            try:
                await self.app(scope, receive, send)
            finally:
                REQUEST_ID.reset(token)
            return
        status = 500
        started = time.monotonic()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message['type'] == 'http.response.start':
                status = message.get('status', 200)
                message['headers'] = list(message.get('headers', [])) + [(b'x-request-id', request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _access_line(scope, status)
            method = scope.get('method', 'GET')
            metrics.REQUESTS.labels(method=method if method in _METHODS else 'OTHER', status=metrics.status_class(status)).inc()
            metrics.REQUEST_SECONDS.observe(time.monotonic() - started)
            REQUEST_ID.reset(token)


def configuration_changed(section: str, names: Iterable[str], account_id: int | None) -> None:
    """Log which settings an admin changed (names and account id only: values may be secrets)."""
    logging.getLogger('smp.settings').info('settings changed: %s (%s) by account %s', section,
                                           ', '.join(sorted(str(name) for name in names)), account_id)
