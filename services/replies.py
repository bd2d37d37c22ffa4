"""Replies a contact writes to a share: plain text and up to five PDF/PNG/JPEG attachments.

The Reply row is what the clinic's SMP worklist and the staff digest read (`staff_alerted_at` stays NULL
until the digest job has mentioned it). Bad input raises InvalidInput and stores nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from models import Reply, ReplyAttachment, Share
from models.shapes import Actor

from . import audit, clock, files, idempotency, messages, validate
from .errors import InvalidInput
from .settings import get_settings

MAX_TEXT = 10_000
MAX_ATTACHMENTS = 5
REPLIES_OFF = 'Replies are not accepted for this message.'


@dataclass(frozen=True)
class Attachment:
    """An uploaded file as received: its bytes and the name the browser gave (used for display only)."""

    name: str
    data: bytes


def check_text(text: str | None) -> str:
    """The reply text as stored (plain text, trimmed); raise InvalidInput when empty or too long."""
    text = (text or '').replace('\x00', '').replace('\r\n', '\n')
    return validate.text(text, label='Your reply', max_length=MAX_TEXT)


def check_attachment(attachment: Attachment, *, max_bytes: int) -> str:
    """The attachment's real MIME type; raise UploadRejected when empty, too large or not PDF/PNG/JPEG."""
    return files.check_upload(attachment.data, attachment.name, max_bytes=max_bytes)


def check_attachment_count(count: int) -> None:
    """Raise InvalidInput when more than MAX_ATTACHMENTS files are attached."""
    if count > MAX_ATTACHMENTS:
        raise InvalidInput(f'A reply can have at most {MAX_ATTACHMENTS} attachments; remove {count - MAX_ATTACHMENTS}.')


def create_reply(*, actor: Actor, share_id: Any, text: str | None, attachments: list[Attachment] = (),
                 idempotency_key: str | None = None) -> int | idempotency.Replayed:
    """Store a reply with its attachments, update the share's reply count and audit it; return the reply id.

    Every check runs before anything is written, so a refused reply leaves no row and no file behind; the same
    submit sent twice (same `idempotency_key`) stores one reply.
    """
    return messages.audited(_create_reply, actor=actor, share_id=share_id, what='reply', text=text,
                            idempotency_key=idempotency_key,
                            attachments=list(attachments))


def _create_reply(session: Session, *, actor: Actor, share_id: int, text: str | None,
                  attachments: list[Attachment]) -> int:
    share = messages.authorized_share(session, actor=actor, share_id=share_id)
    settings = get_settings(session)
    if not (settings.replies_enabled and share.replies_allowed):
        raise InvalidInput(REPLIES_OFF)
    body = check_text(text)
    check_attachment_count(len(attachments))
    for attachment in attachments:
        check_attachment(attachment, max_bytes=settings.upload_max_bytes)
    now = clock.now()
    reply = Reply(share_id=share.id, account_id=actor.account_id,
                  author_name=(actor.display_name or actor.username)[:200], body=body, created_at=now)
    session.add(reply)
    session.flush()
    for attachment in attachments:
        stored = files.store(session, attachment.data, attachment.name, max_bytes=settings.upload_max_bytes)
        session.add(ReplyAttachment(reply_id=reply.id, file_id=stored.id,
                                    file_name=files.safe_file_name(attachment.name, stored.mime_type)))
    # counted in SQL so two replies at once both count
    session.execute(sa.update(Share).where(Share.id == share.id)
                    .values(reply_count=Share.reply_count + 1, last_reply_at=now))
    messages.mark_read(session, share=share)
    audit.record(session, action='reply_created', actor=actor, object_type='reply', object_id=reply.id,
                 detail={'share_id': share.id, 'attachments': len(attachments), 'characters': len(body)},
                 **audit.share_refs(share))
    return reply.id
