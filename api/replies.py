"""/api/v1/replies: poll replies, read one with its attachments, download them, mark worked, move into the chart."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import Response
from pydantic import BaseModel

from pages.private_files import file_response
from services import api_reads, db, worklist
from services.api_clients import Caller
from services.api_reads import ReplySummary

from .auth import scope
from .common import PREFIX, Id, Strict, call, list_route, resource_router

router = resource_router()


# a listed reply is the service's api_reads.ReplySummary. One reply keeps its own models: the API flattens the
# worklist's view (row.reply_id -> id, row.replied_at -> replied_at) and adds what only the API has (sha256, url)

class AttachmentOut(BaseModel):
    id: int
    file_name: str
    mime_type: str
    size: int
    sha256: str
    url: str


class ReplyOut(BaseModel):
    id: int
    share_id: int | None = None
    chart_id: int
    contact_id: int
    document_id: int
    replied_at: datetime
    author: str
    body: str
    status: str
    moved_document_id: int | None
    attachments: list[AttachmentOut]


class WorkedIn(Strict):
    worked: bool = True


class MovedOut(BaseModel):
    reply_id: int
    moved_document_id: int


list_route(router, '/replies', 'replies:read', api_reads.list_replies, ReplySummary, name='list_replies',
           summary='Replies since a cursor')


def _reply(session, actor, reply_id: int) -> dict[str, Any]:
    view = worklist.get_reply(session, actor=actor, reply_id=reply_id)
    hashes = api_reads.attachment_hashes(session, actor=actor, reply_id=reply_id)
    return {'id': view.row.reply_id, 'chart_id': view.row.chart_id, 'contact_id': view.row.contact_id,
            'document_id': view.row.document_id, 'replied_at': view.row.replied_at, 'author': view.author,
            'body': view.body, 'status': view.row.status, 'moved_document_id': view.moved_document_id,
            'attachments': [{'id': a.id, 'file_name': a.file_name, 'mime_type': a.mime_type, 'size': a.size,
                             'sha256': hashes.get(a.id, ''),
                             'url': f'{PREFIX}/replies/{reply_id}/attachments/{a.id}'}
                            for a in view.attachments]}


@router.get('/replies/{reply_id}', response_model=ReplyOut, summary='A reply with its text and attachments')
def get_reply(reply_id: Id, caller: Annotated[Caller, Depends(scope('replies:read'))]) -> Any:
    return db.run(_reply, actor=caller.actor, reply_id=reply_id)


@router.get('/replies/{reply_id}/attachments/{attachment_id}', response_class=Response,
            responses={200: {'content': {'application/pdf': {}, 'image/png': {}, 'image/jpeg': {}}}},
            summary="An attachment's bytes")
def download_attachment(reply_id: Id, attachment_id: Id,
                        caller: Annotated[Caller, Depends(scope('replies:read'))]) -> Any:
    content = call(api_reads.reply_attachment, caller, reply_id=reply_id, attachment_id=attachment_id)
    answer = file_response(content, inline=False)  # (the portal's own: any file name, never cached or sniffed)
    answer.headers['x-content-sha256'] = hashlib.sha256(content.data).hexdigest()
    return answer


@router.post('/replies/{reply_id}/worked', response_model=ReplyOut, summary='Mark a reply worked (or not)')
def mark_worked(reply_id: Id, body: WorkedIn, caller: Annotated[Caller, Depends(scope('replies:write'))]) -> Any:
    def run(session, actor):
        worklist.mark_worked(session, actor=actor, reply_id=reply_id, worked=body.worked)
        return _reply(session, actor, reply_id)
    return db.run(run, actor=caller.actor)


@router.post('/replies/{reply_id}/move', response_model=MovedOut,
             summary='Move a reply into the patient chart (marks it worked)')
def move_reply(reply_id: Id, caller: Annotated[Caller, Depends(scope('replies:write'))]) -> Any:
    return {'reply_id': reply_id, 'moved_document_id': call(worklist.move_reply, caller, reply_id=reply_id)}
