"""Session-checked file routes for staff: document files, reply attachments, registration uploads."""
from __future__ import annotations

from models.shapes import Actor
from services import documents, registration_review, worklist
from services.files import FileContent

from .. import access
from ..portal import file_route, run_read


@file_route('/staff/files/document/{document_id}', roles=access.STAFF)
def document_file(actor: Actor, document_id: int) -> FileContent:
    """A document's PDF or image, inline (iframe, img) unless `download`."""
    return run_read(documents.document_file, actor=actor, document_id=document_id)


@file_route('/staff/files/attachment/{attachment_id}', roles=access.STAFF)
def attachment_file(actor: Actor, attachment_id: int) -> FileContent:
    """A reply attachment."""
    return run_read(worklist.attachment_file, actor=actor, attachment_id=attachment_id)


@file_route('/staff/registrations/file/{file_id}', roles=access.STAFF)
def registration_file(actor: Actor, file_id: int) -> FileContent:
    """An uploaded registration file (checked in the service, audited)."""
    return run_read(registration_review.read_file, actor=actor, registration_file_id=file_id)
