"""Keep codes and tokens out of log lines.

The access log writes every request line, and the links people follow carry secrets in their query string
(`/activate?code=…`, `/setup?token=…`). A filter on the loggers and handlers rewrites the value of every
query parameter whose name says it is a secret before a line is formatted; `main.py` installs it at start and
again once the web server has configured its own logging.
"""
from __future__ import annotations

import logging
import re
from typing import Any

# ?code=…, &token=…, ;reset_code=…, &password=…, &key=…: any parameter whose name mentions one of these words
_SECRET_PARAM = re.compile(
    r'(?P<name>[?&;][^=&;#\s"\'<>]*(?:code|token|key|secret|pass|pwd|auth|session)[^=&;#\s"\'<>]*=)[^&;#\s"\'<>]*',
    re.IGNORECASE)
# the same inside a percent-encoded URL (a next=/activate%3Fcode%3D… parameter)
_ENCODED_SECRET_PARAM = re.compile(
    r'(?P<name>(?:%3F|%26|%3B)(?:(?!%26|%3D)[^=&;#\s"\'<>])*(?:code|token|key|secret|pass|pwd|auth|session)'
    r'(?:(?!%26|%3D)[^=&;#\s"\'<>])*%3D)(?:(?!%26|%3B)[^&;#\s"\'<>])*', re.IGNORECASE)
REDACTED = '[redacted]'
LOGGERS = ('', 'uvicorn', 'uvicorn.access', 'uvicorn.error', 'nicegui', 'fastapi', 'starlette', 'smp')


def redact(text: str) -> str:
    """`text` with the values of secret-looking query parameters replaced by [redacted]."""
    text = _SECRET_PARAM.sub(lambda m: m.group('name') + REDACTED, text)
    return _ENCODED_SECRET_PARAM.sub(lambda m: m.group('name') + REDACTED, text)


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and arguments in place (formatters that read the arguments, like uvicorn's
    access formatter, see the redacted values too); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Add the filter to the portal's, NiceGUI's and the web server's loggers and to every handler they have."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
