"""Session-checked file routes for staff: document files and reply attachments (never static files)."""
from __future__ import annotations

from fastapi import Request, Response
from nicegui import app, run

from services import db, documents, worklist
from services.errors import PortalError

from .private_files import file_response, request_actor


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
    actor = await request_actor(request)
    if actor is None or not actor.is_staff:
        return Response('Sign in as clinic staff to open this file.', status_code=403, media_type='text/plain',
                        headers={'Cache-Control': 'no-store'})
    try:
        content = await run.io_bound(db.run, fn, actor=actor, **kwargs)
    except PortalError:
        return Response('This file is not available.', status_code=404, media_type='text/plain',
                        headers={'Cache-Control': 'no-store'})
    return file_response(content, inline=not download)
