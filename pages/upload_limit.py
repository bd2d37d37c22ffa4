"""Refuse oversized request bodies before anything reads them (NiceGUI's upload route buffers whole files).

Every upload in the portal is one file per request (Quasar uploads files one by one), so a body larger than the
admin's upload limit plus the multipart envelope is refused: by its Content-Length at once, or, when the client
streams without one, as soon as the streamed bytes pass the limit. The page's own checks (type, count, smaller
limits such as the logo's) still run on what gets through. Under /api/ the refusal is the API's RFC 9457
problem+json (`payload-too-large`); pages get a line of plain text.
"""
from __future__ import annotations

from nicegui import run

from services.settings import get_settings

ENVELOPE = 64 * 1024  # multipart headers and boundaries around the file
BODY_METHODS = {'POST', 'PUT', 'PATCH'}


class UploadLimit:
    """ASGI middleware answering 413 to any request body over the upload limit."""

    def __init__(self, asgi_app) -> None:
        self.app = asgi_app

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] != 'http' or scope.get('method') not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        settings = await run.io_bound(get_settings)
        limit = (settings.upload_max_bytes if settings else 10 * 1024 * 1024) + ENVELOPE
        declared = dict(scope.get('headers') or []).get(b'content-length')
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, send, limit)
            return
        received = 0
        refused = False

        async def counting_receive():
            nonlocal received, refused
            message = await receive()
            if message['type'] == 'http.request':
                received += len(message.get('body', b''))
                if received > limit:
                    refused = True
                    raise BodyTooLarge(api_detail(limit))
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            if refused:
                await _too_large(scope, send, limit)


class BodyTooLarge(Exception):
    """The streamed body passed the limit (an API route that was reading it answers problem+json itself)."""

    too_large = True  # (api/problems.py recognises it, also as the cause of the framework's body error)


def api_detail(limit: int) -> str:
    return f'Request bodies larger than {(limit - ENVELOPE) // (1024 * 1024)} MB (the upload limit) are not accepted.'


async def _too_large(scope, send, limit: int) -> None:
    if scope.get('path', '').startswith('/api/'):
        from api.problems import problem
        answer = problem('payload-too-large', api_detail(limit), instance=scope['path'])
        answer.headers['connection'], answer.headers['cache-control'] = 'close', 'no-store'
        await answer(scope, _no_body, send)
        return
    text = f'Files larger than {(limit - ENVELOPE) // (1024 * 1024)} MB are not accepted.'.encode()
    await send({'type': 'http.response.start', 'status': 413,
                'headers': [(b'content-type', b'text/plain; charset=utf-8'), (b'content-length', str(len(text)).encode()),
                            (b'connection', b'close'), (b'cache-control', b'no-store')]})
    await send({'type': 'http.response.body', 'body': text})


async def _no_body() -> dict:
    return {'type': 'http.disconnect'}
