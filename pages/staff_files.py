"""Session-checked file routes for staff: document files and reply attachments (never static files)."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import Request, Response
from nicegui import app, run

from services import auth, db, documents, worklist
from services.errors import PortalError

from . import guard


def register() -> None:
    app.get('/staff/files/document/{document_id}', include_in_schema=False)(document_file)
    app.get('/staff/files/attachment/{attachment_id}', include_in_schema=False)(attachment_file)


async def document_file(request: Request, document_id: int, download: bool = False) -> Response:
    """A document's PDF or image, inline (iframe, img) unless `download`."""
    return await _serve(request, documents.document_file, download, document_id=document_id)


async def attachment_file(request: Request, attachment_id: int, download: bool = False) -> Response:
    """A reply attachment."""
    return await _serve(request, worklist.attachment_file, download, attachment_id=attachment_id)


async def _serve(request: Request, fn, download: bool, **kwargs) -> Response:
    token = app.storage.user.get(guard.SESSION_KEY)
    ip = request.client.host if request.client else None
    actor = await run.io_bound(auth.resolve_session, token, ip_address=ip) if token else None
    if actor is None or not actor.is_staff:
        return Response('Sign in as clinic staff to open this file.', status_code=403, media_type='text/plain',
                        headers={'Cache-Control': 'no-store'})
    try:
        content = await run.io_bound(db.run, fn, actor=actor, **kwargs)
    except PortalError:
        return Response('This file is not available.', status_code=404, media_type='text/plain',
                        headers={'Cache-Control': 'no-store'})
    disposition = 'attachment' if download else 'inline'
    return Response(content.data, media_type=content.mime_type, headers={
        'Content-Disposition': f"{disposition}; filename*=UTF-8''{quote(content.file_name)}",
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
    })
