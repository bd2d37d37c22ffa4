"""The SMP worklist: replies from contacts, unworked first; open, Move into the patient chart, mark worked, assign."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Account, Chart, Contact, Document, Reply, ReplyAttachment, Share, StoredFile
from models.shapes import Actor

from . import audit, clock, files
from .charts import require_staff
from .errors import InvalidInput, NotAvailable

MAX_PAGE = 100
MOVED_TYPE = 'Correspondence'
EXCERPT = 120


@dataclass(frozen=True)
class WorklistRow:
    """One reply in the worklist."""

    reply_id: int
    replied_at: datetime
    contact: str
    contact_id: int
    chart: str
    chart_id: int
    document_id: int
    doc_type: str
    service_date: date
    title: str
    assigned_to: str
    status: str  # 'unworked' | 'worked' | 'moved'
    excerpt: str = ''  # the reply's first words (EXCERPT characters)
    attachments: int = 0


@dataclass(frozen=True)
class AttachmentRow:
    """An attachment of a reply; `url` is the session-checked staff route."""

    id: int
    file_name: str
    mime_type: str
    size: int

    @property
    def url(self) -> str:
        return f'/staff/files/attachment/{self.id}'


@dataclass(frozen=True)
class ReplyView:
    """A reply opened from the worklist."""

    row: WorklistRow
    author: str
    body: str
    attachments: list[AttachmentRow]
    assigned_to_account_id: int | None
    moved_document_id: int | None


def unworked_count(session: Session, *, actor: Actor) -> int:
    """How many replies nobody has worked yet (the header badge); for staff."""
    require_staff(actor)
    return session.exec(select(sa.func.count()).select_from(Reply).where(Reply.worked_at.is_(None))).one()


def _base():
    assignee = sa.orm.aliased(Account)
    attachments = (select(sa.func.count()).select_from(ReplyAttachment)
                   .where(ReplyAttachment.reply_id == Reply.id).scalar_subquery())
    stmt = (select(Reply, Share, Contact, Chart, Document, assignee.display_name, attachments)
            .join(Share, Share.id == Reply.share_id)
            .join(Contact, Contact.id == Share.contact_id)
            .join(Chart, Chart.id == Share.chart_id)
            .join(Document, Document.id == Share.source_document_id)
            .join(assignee, assignee.id == Reply.assigned_to_account_id, isouter=True))
    return stmt


def list_replies(session: Session, *, actor: Actor, show: str = 'all', offset: int = 0,
                 limit: int = 25) -> tuple[list[WorklistRow], int]:
    """Replies, unworked first then newest; `show` is 'all', 'unworked' or 'mine'. One page and the total."""
    require_staff(actor)
    choices = {'all': [], 'unworked': [Reply.worked_at.is_(None)],
               'mine': [Reply.assigned_to_account_id == actor.account_id, Reply.worked_at.is_(None)]}
    if show not in choices:
        raise InvalidInput('Show all, unworked or my replies.')
    conditions = choices[show]
    stmt = _base().where(*conditions).order_by(Reply.worked_at.is_not(None), Reply.created_at.desc(), Reply.id.desc())
    rows = session.exec(stmt.offset(max(offset, 0)).limit(min(max(limit, 1), MAX_PAGE))).all()
    total = session.exec(select(sa.func.count()).select_from(Reply).where(*conditions)).one()
    return [_row(*r) for r in rows], total


def _row(reply: Reply, share: Share, contact: Contact, chart: Chart, original: Document,
         assignee: str | None, attachments: int | None = 0) -> WorklistRow:
    status = 'moved' if reply.moved_document_id else 'worked' if reply.worked_at else 'unworked'
    return WorklistRow(reply_id=reply.id, replied_at=reply.created_at, contact=contact.display_name,
                       contact_id=contact.id, chart=chart.display_name, chart_id=chart.id, document_id=original.id,
                       doc_type=original.doc_type, service_date=original.service_date, title=original.title,
                       assigned_to=assignee or '', status=status, excerpt=excerpt(reply.body),
                       attachments=attachments or 0)


def excerpt(text: str | None, length: int = EXCERPT) -> str:
    """The first `length` characters of a reply on one line ('…' when cut)."""
    flat = ' '.join((text or '').split())
    return flat if len(flat) <= length else flat[:length].rstrip() + '…'


def get_reply(session: Session, *, actor: Actor, reply_id: int) -> ReplyView:
    """A reply with its attachments (the view is audited)."""
    require_staff(actor)
    found = session.exec(_base().where(Reply.id == reply_id)).first()
    if found is None:
        raise NotAvailable('This reply does not exist.')
    reply, share = found[0], found[1]
    attachments = session.exec(select(ReplyAttachment, StoredFile)
                               .join(StoredFile, StoredFile.id == ReplyAttachment.file_id)
                               .where(ReplyAttachment.reply_id == reply.id).order_by(ReplyAttachment.id)).all()
    audit.record(session, action='reply_viewed', actor=actor, object_type='reply', object_id=reply.id,
                 **audit.share_refs(share))
    return ReplyView(row=_row(*found), author=reply.author_name, body=reply.body,
                     attachments=[AttachmentRow(id=a.id, file_name=a.file_name, mime_type=f.mime_type, size=f.size)
                                  for a, f in attachments],
                     assigned_to_account_id=reply.assigned_to_account_id, moved_document_id=reply.moved_document_id)


def move_reply(session: Session, *, actor: Actor, reply_id: int, chart_id: int | None = None) -> int:
    """Move a reply into a patient chart (the source document's chart, or `chart_id` found by search): a document
    linked to the original (one more per attachment).

    Marks the reply worked; returns the id of the document holding the reply's text.
    """
    require_staff(actor)
    reply, share = _reply_and_share(session, reply_id)
    if reply.moved_document_id is not None:
        raise InvalidInput(f'This reply was already moved into the chart (document {reply.moved_document_id}).')
    target = share.chart_id if chart_id is None else chart_id
    chart = session.get(Chart, target)
    if chart is None or chart.status == 'merged':
        raise InvalidInput('Choose a chart that exists (search by name, date of birth or id).')
    now = clock.now()
    common = dict(chart_id=target, source_document_id=share.source_document_id, service_date=now.date(),
                  doc_type=MOVED_TYPE, author_account_id=reply.account_id, author_name=reply.author_name[:200],
                  created_at=now)
    document = Document(title=f'Reply to: {share.title}'[:300], body_text=reply.body or '(no text)', **common)
    session.add(document)
    session.flush()
    attachments = session.exec(select(ReplyAttachment).where(ReplyAttachment.reply_id == reply.id)
                               .order_by(ReplyAttachment.id)).all()
    for attachment in attachments:
        session.add(Document(title=f'Reply attachment: {attachment.file_name}'[:300], file_id=attachment.file_id,
                             file_name=attachment.file_name, **common))
    reply.moved_document_id, reply.worked_at, reply.worked_by_account_id = document.id, now, actor.account_id
    session.add(reply)
    session.flush()
    audit.record(session, action='reply_moved', actor=actor, object_type='reply', object_id=reply.id,
                 detail={'moved_document_id': document.id, 'attachments': len(attachments), 'chart_id': target},
                 **audit.share_refs(share))
    return document.id


def mark_worked(session: Session, *, actor: Actor, reply_id: int, worked: bool = True) -> None:
    """Mark a reply worked (or unworked again, unless it was moved)."""
    require_staff(actor)
    reply, share = _reply_and_share(session, reply_id)
    if not worked and reply.moved_document_id is not None:
        raise InvalidInput('A reply moved into the chart stays worked.')
    reply.worked_at = clock.now() if worked else None
    reply.worked_by_account_id = actor.account_id if worked else None
    session.add(reply)
    audit.record(session, action='reply_worked' if worked else 'reply_unworked', actor=actor, object_type='reply',
                 object_id=reply.id, **audit.share_refs(share))


def mark_many_worked(session: Session, *, actor: Actor, reply_ids: list[int]) -> int:
    """Mark several replies worked at once (each audited); those already worked are left as they are.
    Returns how many changed."""
    require_staff(actor)
    ids = sorted({int(i) for i in reply_ids or []})
    if not ids:
        raise InvalidInput('Select the replies to mark worked first.')
    if len(ids) > MAX_PAGE:
        raise InvalidInput(f'Mark at most {MAX_PAGE} replies at once.')
    changed = 0
    for reply_id in ids:
        reply, _ = _reply_and_share(session, reply_id)
        if reply.worked_at is None:
            mark_worked(session, actor=actor, reply_id=reply_id, worked=True)
            changed += 1
    return changed


def assign_many(session: Session, *, actor: Actor, reply_ids: list[int], account_id: int | None) -> int:
    """Assign several replies to one staff member (None: nobody), each audited; returns how many."""
    require_staff(actor)
    ids = sorted({int(i) for i in reply_ids or []})
    if not ids:
        raise InvalidInput('Select the replies to assign first.')
    if len(ids) > MAX_PAGE:
        raise InvalidInput(f'Assign at most {MAX_PAGE} replies at once.')
    for reply_id in ids:
        assign(session, actor=actor, reply_id=reply_id, account_id=account_id)
    return len(ids)


def assign(session: Session, *, actor: Actor, reply_id: int, account_id: int | None) -> None:
    """Assign a reply to a staff member (None: nobody)."""
    require_staff(actor)
    reply, share = _reply_and_share(session, reply_id)
    if account_id is not None:
        staff = session.get(Account, account_id)
        if staff is None or staff.role not in ('staff', 'admin') or not staff.is_active:
            raise InvalidInput('Choose an active staff member.')
    reply.assigned_to_account_id = account_id
    session.add(reply)
    audit.record(session, action='reply_assigned', actor=actor, object_type='reply', object_id=reply.id,
                 detail={'assigned_to': account_id}, **audit.share_refs(share))


def staff_members(session: Session, *, actor: Actor) -> dict[int, str]:
    """Active staff and admins, for the assignment choice."""
    require_staff(actor)
    rows = session.exec(select(Account).where(Account.role.in_(('staff', 'admin')), Account.is_active)
                        .order_by(Account.display_name)).all()
    return {a.id: a.display_name or a.username for a in rows}


def attachment_file(session: Session, *, actor: Actor, attachment_id: int) -> files.FileContent:
    """A reply attachment's bytes for staff (the download is audited)."""
    require_staff(actor)
    attachment = session.get(ReplyAttachment, attachment_id)
    if attachment is None:
        raise NotAvailable('This file is not available.')
    stored = session.get(StoredFile, attachment.file_id)
    _, share = _reply_and_share(session, attachment.reply_id)
    data = files.read(stored)
    audit.record(session, action='reply_attachment_downloaded', actor=actor, object_type='reply_attachment',
                 object_id=attachment.id, **audit.share_refs(share))
    return files.FileContent(data=data, mime_type=stored.mime_type,
                             file_name=files.safe_file_name(attachment.file_name, stored.mime_type))


def _reply_and_share(session: Session, reply_id: int) -> tuple[Reply, Share]:
    reply = session.get(Reply, reply_id)
    if reply is None:
        raise NotAvailable('This reply does not exist.')
    return reply, session.get(Share, reply.share_id)
