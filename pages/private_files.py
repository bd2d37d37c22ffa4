"""What every session-checked file route shares: who is asking, and how a private file is answered."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import Request, Response
from nicegui import app, run

from models.shapes import Actor
from services import auth
from services.files import FileContent, safe_file_name

from . import guard


async def request_actor(request: Request) -> Actor | None:
    """The signed-in account behind an HTTP request (file routes bypass the page guard)."""
    token = app.storage.user.get(guard.SESSION_KEY)
    host = request.client.host if request.client else None
    return await run.io_bound(auth.resolve_session, token, ip_address=host) if token else None


def file_response(content: FileContent, *, inline: bool) -> Response:
    """A private file: never cached, never sniffed, HTML never rendered in the portal's origin."""
    name = safe_file_name(content.file_name)
    ascii_name = name.encode('ascii', 'replace').decode().replace('?', '_')
    disposition = f'{"inline" if inline else "attachment"}; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(name)}'
    headers = {'Content-Disposition': disposition, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff'}
    if content.mime_type == 'text/html':
        headers['Content-Security-Policy'] = 'sandbox'
    return Response(content.data, media_type=content.mime_type, headers=headers)
