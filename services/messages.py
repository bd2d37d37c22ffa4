"""The contact's messages: the paged lists of the main screen, the document viewer, and file access.

A contact reads only shares of the contacts its account holds (`actor.contact_ids`), never rescinded ones.
Missing, foreign and rescinded shares all raise the same NotAvailable, and each refusal is audited.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Document, Reply, ReplyAttachment, Share, StoredFile
from models.shapes import Actor

from . import audit, clock, db, files, idempotency, sanitize
from .errors import NotAvailable
from .settings import get_settings

T = TypeVar('T')
NOT_AVAILABLE = 'This message is not available. It may have been withdrawn by the clinic.'
MAX_PAGE_SIZE = 100
MAX_SEARCH_LENGTH = 100
ListName = Literal['messages', 'replies']

# sort keys of the list columns -> Share's snapshot columns
SORT_COLUMNS: dict[str, Any] = {
    'message': Share.title,
    'serv_date': Share.service_date,
    'regarding': Share.regarding,
    'by': Share.by_name,
    'type': Share.doc_type,
    'documentation': Share.replies_allowed,
    'replies': Share.reply_count,
    'last_reply': Share.last_reply_at,
}
DEFAULT_SORT: dict[str, str] = {'messages': 'serv_date', 'replies': 'last_reply'}
_SEPARATOR = sa.literal_column("'\n'", sa.String)  # never in a search term: a match cannot span two columns
# the pg_trgm index of migration 0006 is on exactly this expression (a literal, not a parameter, so it matches)
_HAYSTACK = sa.func.lower(Share.title.op('||')(_SEPARATOR).op('||')(Share.regarding).op('||')(_SEPARATOR)
                          .op('||')(Share.by_name).op('||')(_SEPARATOR).op('||')(Share.doc_type), type_=sa.String)


# ----------------------------------------------------------------------------- shapes

@dataclass(frozen=True)
class MessageRow:
    """One line of the main screen's lists."""

    share_id: int
    title: str
    service_date: date
    regarding: str
    by_name: str
    doc_type: str
    unread: bool  # NEW: not opened yet, or an acknowledgement the clinic asked for is still missing
    can_reply: bool
    reply_count: int
    last_reply_at: datetime | None
    action_needed: bool = False  # the clinic asked for 'I have reviewed this document' and it was not pressed yet


Cursor = tuple[Any, int]  # (the sort column's value, the share id) of a row: where a page starts or ends


@dataclass(frozen=True)
class MessagePage:
    """One page of a list and how many rows the whole list has (`estimated`: "more than" this many less one, when
    counting on would cost more than the page itself); `first`/`last` are the keys of its first and last row, for
    the next and previous page (keyset paging); `offset` is where the page starts when known."""

    rows: list[MessageRow]
    total: int
    estimated: bool = False
    first: Cursor | None = None
    last: Cursor | None = None


@dataclass(frozen=True)
class PageRequest:
    """How one list of the main screen is to be shown: page size and sort."""

    limit: int = 25
    sort: str | None = None
    descending: bool = True


@dataclass(frozen=True)
class MainScreen:
    """What the main screen shows when it opens (or a search changes): the first page of each list."""

    messages: MessagePage
    replies: MessagePage | None  # None: the contact has no replies yet, so the Replies list is not shown


@dataclass(frozen=True)
class AttachmentView:
    """A file attached to a reply (served by the session-checked attachment route)."""

    attachment_id: int
    file_name: str
    mime_type: str


@dataclass(frozen=True)
class ReplyView:
    """One reply in the viewer's summary; `body` is plain text (the page escapes it)."""

    reply_id: int
    created_at: datetime
    author_name: str
    body: str
    attachments: list[AttachmentView]


@dataclass(frozen=True)
class ReplyPage:
    """Replies to a share, newest first, and where the older ones start (None when there are no more)."""

    replies: list[ReplyView]
    total: int
    older: Cursor | None = None


@dataclass(frozen=True)
class MessageView:
    """A document as the viewer shows it: header, body or file, replies, and whether a reply may be added."""

    share_id: int
    title: str
    doc_type: str
    service_date: date
    regarding: str
    by_name: str
    body_html: str | None
    body_text: str | None
    file_mime: str | None
    file_name: str | None
    can_reply: bool
    replies: list[ReplyView]  # the newest REPLY_PAGE_SIZE, newest first
    acknowledgement_required: bool = False
    acknowledged_at: datetime | None = None
    reply_total: int = 0
    older_replies: Cursor | None = None  # `before` for the next older page; None when every reply is shown


class Denied(NotAvailable):
    """Internal: a refused access with the reason the audit log keeps (the user sees NOT_AVAILABLE only)."""

    def __init__(self, reason: str) -> None:
        super().__init__(NOT_AVAILABLE)
        self.reason = reason


# ----------------------------------------------------------------------------- lists

def list_messages(session: Session, *, actor: Actor, which: ListName = 'messages', offset: int = 0,
                  limit: int = 25, sort: str | None = None, descending: bool = True,
                  search: str = '', after: Cursor | None = None, before: Cursor | None = None,
                  last: bool = False) -> MessagePage:
    """One page of the contact's top list (not yet replied to) or its Replies list.

    Pages are found by key, not by skipping rows: `after` (the `last` key of the page before) gives the next
    page, `before` (the `first` key of the page after) the previous one, `last=True` the last page; otherwise
    `offset` rows are skipped. The count is exact up to COUNT_EXACT_UP_TO rows, then "more than that".
    A search term uses the text-search index (pg_trgm on PostgreSQL, FTS5 on SQLite), then the same substring
    test as always, so the rows found do not depend on the index.
    """
    if not actor.contact_ids:
        return MessagePage(rows=[], total=0)
    column = SORT_COLUMNS.get(sort or '', SORT_COLUMNS[DEFAULT_SORT[which]])
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    if _is_first_page(which, column, descending, search, offset, after, before, last):
        return _first_page(session, actor, which, limit)
    where = _list_filter(session, actor, which, search)
    # rows are walked in the list's order, or backwards (from the end) for the previous and the last page
    backwards = last or (before is not None and after is None)
    forward = descending != backwards  # True: the sql order is descending
    key = after if after is not None else before if not last else None
    shares, total = _page(session, where, column, key, forward, 0 if last else max(0, int(offset)), limit,
                          search=bool(_search_term(search)))
    if backwards:
        shares.reverse()
    return _message_page(session, shares, column, total)


def _page(session: Session, where: list[Any], column: Any, key: Cursor | None, forward: bool, offset: int,
          limit: int, *, search: bool) -> tuple[list[Any], int]:
    """The rows of one page (in sql order) and the list's count, capped at COUNT_EXACT_UP_TO + 1.

    A search reads its matches once, through the text index (up to the cap), and sorts, pages and counts them in
    one statement. It used to look them up twice, for the page and for its count, and the page walked the
    contact's date index past every share that did not match: a rare term cost 3 times as much at 50,000 shares
    as at 1,000 on SQLite. A search with more matches than the cap, and every other list, pages through the
    list's own index."""
    if search:
        shares = _searched(session, where, column, key, forward, offset, limit)
        total = shares[0].total if shares else (0 if key is None and not offset else None)  # None: not known
        if total is not None and total <= COUNT_EXACT_UP_TO:
            return shares, total
        if total is not None:  # more matches than the cap: counted, only the page is left to find
            return _sorted(session, where, column, key, forward, offset, limit), total
    return _sorted(session, where, column, key, forward, offset, limit), _count(session, where)


def _searched(session: Session, where: list[Any], column: Any, key: Cursor | None, forward: bool, offset: int,
              limit: int) -> list[Any]:
    """A search's page, each row with the matches' count (`total`, up to the cap). Of each match only its id and
    sort value are read (on SQLite from ix_share_contact_last_reply_at alone), the rest for the page's rows.
    The matches are read once: a WITH query used twice is materialized by PostgreSQL 12+ and SQLite 3.35+
    without the MATERIALIZED keyword, which SQLite before 3.35 would refuse."""
    found = select(Share.id, column).where(*where).limit(COUNT_EXACT_UP_TO + 1).cte('found')
    counted = select(sa.func.count()).select_from(found).scalar_subquery().label('total')
    page = _ordered(select(found.c.id, counted), found.c[column.key], found.c.id, key, forward, offset,
                    limit).subquery('page')
    rows = select(*_LIST_COLUMNS, page.c.total).join(page, Share.id == page.c.id)
    return list(session.execute(_ordered(rows, column, Share.id, None, forward, 0, limit)).all())


def _sorted(session: Session, where: list[Any], column: Any, key: Cursor | None, forward: bool, offset: int,
            limit: int) -> list[Any]:
    """Plain rows of the listed columns (no ORM objects to build), in the list's order from `key` or `offset`."""
    return list(session.execute(_ordered(select(*_LIST_COLUMNS).where(*where), column, Share.id, key, forward,
                                         offset, limit)).all())


def _ordered(query: Any, sort: Any, share_id: Any, key: Cursor | None, forward: bool, offset: int,
             limit: int) -> Any:
    """`query` in the list's order (descending when `forward`), `limit` rows from `key` or `offset`."""
    if key is not None:
        query = query.where(_beyond(sort, share_id, key, descending=forward))
    elif offset:
        query = query.offset(offset)
    order = [sort.desc(), share_id.desc()] if forward else [sort.asc(), share_id.asc()]
    return query.order_by(*order).limit(limit)


def _message_page(session: Session, shares: list[Any], column: Any, total: int) -> MessagePage:
    """The page of list rows for `shares` (in the list's order), with its count and its keys for paging."""
    replies_on = get_settings(session).replies_enabled
    return MessagePage(rows=[_row(share, replies_on) for share in shares], total=total,
                       estimated=total > COUNT_EXACT_UP_TO,
                       first=_key(shares[0], column) if shares else None,
                       last=_key(shares[-1], column) if shares else None)


def main_screen(session: Session, *, actor: Actor, search: str = '', messages: PageRequest = PageRequest(),
                replies: PageRequest = PageRequest()) -> MainScreen:
    """The first page of the top list and (when the contact has replies) of the Replies list, in one read."""
    top = list_messages(session, actor=actor, which='messages', limit=messages.limit, sort=messages.sort,
                        descending=messages.descending, search=search)
    shown = has_replies(session, actor=actor)
    return MainScreen(messages=top, replies=list_messages(
        session, actor=actor, which='replies', limit=replies.limit, sort=replies.sort,
        descending=replies.descending, search=search) if shown else None)


def has_replies(session: Session, *, actor: Actor) -> bool:
    """True when the Replies list has at least one row (it is shown only then)."""
    if not actor.contact_ids:
        return False
    statement = db.prepared('messages: has replies', lambda: select(Share.id).limit(1)
                            .where(*_shown(_PREPARED_IDS, _PREPARED_NOW, 'replies')))
    return db.rows(session, statement, _prepared_params(actor)).first() is not None


COUNT_EXACT_UP_TO = 1000  # beyond this many rows the lists say "more than 1,000" instead of counting on


def _count(session: Session, where: list[Any]) -> int:
    """How many rows match: exact up to COUNT_EXACT_UP_TO, else COUNT_EXACT_UP_TO + 1 (the page is marked
    estimated and the lists show "more than 1,000"), so the count's cost stops growing with the list, on SQLite and
    PostgreSQL."""
    return session.exec(_capped_count(where, COUNT_EXACT_UP_TO + 1)).one()


def _capped_count(where: list[Any], cap: Any) -> Any:
    capped = select(Share.id).where(*where).limit(cap).subquery()
    return select(sa.func.count()).select_from(capped)


# The first page of a list in its default order is what every page open reads: its statements are prepared once
# (db.prepared), with bound parameters for the contacts, the time, the page size and the count's cap; building them
# on every open was most of the CPU of a main-screen read (1.2 of 1.4 ms in-process, 0.65 ms now).
_PREPARED_IDS: Any = sa.bindparam('contact_ids', expanding=True)
_PREPARED_NOW: Any = sa.bindparam('now', type_=Share.__table__.c.expires_at.type)


def _prepared_params(actor: Actor) -> dict[str, Any]:
    return {'contact_ids': list(actor.contact_ids), 'now': clock.now()}


def _is_first_page(which: ListName, column: Any, descending: bool, search: str, offset: int,
                   after: Cursor | None, before: Cursor | None, last: bool) -> bool:
    return (column is SORT_COLUMNS[DEFAULT_SORT[which]] and descending and not search and not offset
            and after is None and before is None and not last)


def _first_page(session: Session, actor: Actor, which: ListName, limit: int) -> MessagePage:
    """`list_messages` for the first page in the list's default order (newest first), from prepared statements."""
    column = SORT_COLUMNS[DEFAULT_SORT[which]]

    def rows_statement() -> Any:
        return (select(*_LIST_COLUMNS).where(*_shown(_PREPARED_IDS, _PREPARED_NOW, which))
                .order_by(column.desc(), Share.id.desc()).limit(sa.bindparam('limit')))

    params = _prepared_params(actor)
    shares = db.rows(session, db.prepared(f'messages: {which} first page', rows_statement),
                     {**params, 'limit': limit}).all()
    total = len(shares) if len(shares) < limit else db.rows(  # a first page that is not full is the count
        session, db.prepared(f'messages: {which} count', lambda: _capped_count(
            _shown(_PREPARED_IDS, _PREPARED_NOW, which), sa.bindparam('cap'))),
        {**params, 'cap': COUNT_EXACT_UP_TO + 1}).scalar_one()
    return _message_page(session, shares, column, total)


def _beyond(column: Any, id_column: Any, key: Cursor, *, descending: bool) -> Any:
    """Rows after `key` in the given direction (sort value, then id; a missing value sorts as one group)."""
    value, share_id = key
    after_id = id_column < share_id if descending else id_column > share_id
    if value is None:
        return sa.and_(column.is_(None), after_id)
    return sa.or_(column < value if descending else column > value, sa.and_(column == value, after_id))


def _key(share: Any, column: Any) -> Cursor:
    return getattr(share, column.key), share.id


def _shown(contact_ids: Any, now: Any, which: ListName) -> list[Any]:
    """The conditions of a list: the contacts' shares, not rescinded or expired, replied to or not."""
    return [Share.contact_id.in_(contact_ids), Share.rescinded_at.is_(None),
            sa.or_(Share.expires_at.is_(None), Share.expires_at > now),
            Share.last_reply_at.is_not(None) if which == 'replies' else Share.last_reply_at.is_(None)]


def _list_filter(session: Session, actor: Actor, which: ListName, search: str) -> list[Any]:
    where = _shown(actor.contact_ids, clock.now(), which)
    term = _search_term(search)
    if term:
        where += _search(session, term)
    return where


def _search_term(search: str) -> str:
    return ''.join(ch for ch in (search or '') if ch.isprintable()).strip()[:MAX_SEARCH_LENGTH].lower()


def _search(session: Session, term: str) -> list[Any]:
    """The conditions for a search term: one substring test over the lower-cased snapshot columns (the same on
    SQLite and PostgreSQL), found through the index. On PostgreSQL the pg_trgm index is on this very expression.
    On SQLite a term of 3+ characters is one phrase of the FTS5 trigram table, which holds the same lower-cased
    text and matches exactly where it holds the term (consecutive trigrams), so the substring test is not repeated
    on each match; shorter terms are tested on every row."""
    if len(term) >= 3 and session.get_bind().dialect.name == 'sqlite' and _has_fts(session):
        phrase = '"' + term.replace('"', '""') + '"'  # one FTS5 phrase: the term as typed, quotes doubled
        return [Share.id.in_(sa.select(sa.column('rowid')).select_from(sa.table('share_search'))
                             .where(sa.text('share_search MATCH :phrase').bindparams(phrase=phrase)))]
    return [_HAYSTACK.contains(term, autoescape=True)]


def _has_fts(session: Session) -> bool:
    bind = session.get_bind()
    known = _FTS_KNOWN.get(str(bind.url))
    if known is None:
        known = session.execute(sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'share_search'")).scalar() > 0
        _FTS_KNOWN[str(bind.url)] = known
    return known


_FTS_KNOWN: dict[str, bool] = {}


# what a list row shows, its sort keys and its marks (every SORT_COLUMNS column is here)
_LIST_COLUMNS = (Share.id, Share.title, Share.service_date, Share.regarding, Share.by_name, Share.doc_type,
                 Share.first_read_at, Share.acknowledgement_required, Share.acknowledged_at, Share.replies_allowed,
                 Share.reply_count, Share.last_reply_at)


def _row(share: Any, replies_on: bool) -> MessageRow:
    """A list row from a Share or a row of _LIST_COLUMNS."""
    return MessageRow(
        share_id=share.id, title=share.title, service_date=share.service_date, regarding=share.regarding,
        by_name=share.by_name, doc_type=share.doc_type, unread=share.first_read_at is None or needs_acknowledgement(share),
        can_reply=replies_on and share.replies_allowed, reply_count=share.reply_count,
        last_reply_at=share.last_reply_at, action_needed=needs_acknowledgement(share),
    )


def needs_acknowledgement(share: Any) -> bool:
    """True while the clinic waits for the contact's 'I have reviewed this document'."""
    return share.acknowledgement_required and share.acknowledged_at is None


# ----------------------------------------------------------------------------- authorization

def authorized_share(session: Session, *, actor: Actor, share_id: Any, allow_staff: bool = False) -> Share:
    """The share when the actor may read it; raise Denied (a NotAvailable) when missing, foreign or rescinded."""
    share = session.get(Share, share_id) if isinstance(share_id, int) and share_id > 0 else None
    if share is None:
        raise Denied('missing')
    if share.rescinded_at is not None:
        raise Denied('expired' if share.expired_at is not None else 'rescinded')
    if share.expires_at is not None and share.expires_at <= clock.now():  # before the expiry job has run
        raise Denied('expired')
    if share.contact_id not in actor.contact_ids and not (allow_staff and actor.is_staff):
        raise Denied('foreign')
    return share


def audited(fn: Callable[..., T], *, actor: Actor, share_id: Any, what: str, idempotency_key: str | None = None,
            **kwargs: Any) -> T | idempotency.Replayed:
    """Run `fn(session, actor=, share_id=, **kwargs)` in a transaction; audit a refusal in its own transaction.

    The refusal must survive the rollback of the refused work, so it is written after it. With an
    `idempotency_key` a change already made under that key is not made again (REPLAYED is returned).
    """
    try:
        with db.transaction() as session:
            if idempotency_key and not idempotency.claim(session, key=idempotency_key, action=what, actor=actor):
                return idempotency.REPLAYED
            return fn(session, actor=actor, share_id=share_id, **kwargs)
    except Denied as denied:
        with db.transaction() as session:
            share = session.get(Share, share_id) if isinstance(share_id, int) else None
            audit.record(session, action='share_access_denied', actor=actor, object_type='share',
                         object_id=share_id if isinstance(share_id, int) else None,
                         detail={'what': what, 'reason': denied.reason},
                         **({'document_id': share.source_document_id, 'chart_id': share.chart_id} if share else {}))
        raise NotAvailable(NOT_AVAILABLE) from None


# ----------------------------------------------------------------------------- the viewer

def open_message(*, actor: Actor, share_id: Any) -> MessageView:
    """The document for the viewer; marks the share read and audits the view (refusals too)."""
    return audited(_open_message, actor=actor, share_id=share_id, what='message')


def _open_message(session: Session, *, actor: Actor, share_id: int, printing: bool = False) -> MessageView:
    share = authorized_share(session, actor=actor, share_id=share_id)
    copy = session.get(Document, share.document_id)
    if copy is None or copy.deleted_at is not None:
        raise Denied('deleted')
    mark_read(session, share=share)
    stored = session.get(StoredFile, copy.file_id) if copy.file_id else None
    # the print view shows every reply, oldest first; the viewer the newest page
    replies = _all_replies(session, share=share) if printing else \
        _reply_page(session, share, None, REPLY_PAGE_SIZE)
    audit.record(session, action='document_viewed', actor=actor, object_type='share', object_id=share.id,
                 detail={'copy_document_id': copy.id, **({'print': True} if printing else {})},
                 **audit.share_refs(share))
    return MessageView(
        share_id=share.id, title=share.title, doc_type=share.doc_type, service_date=share.service_date,
        regarding=share.regarding, by_name=share.by_name,
        body_html=sanitize.clean_document(copy.body_html) if copy.body_html else None, body_text=copy.body_text,
        file_mime=stored.mime_type if stored else None,
        file_name=files.safe_file_name(copy.file_name or share.title, stored.mime_type) if stored else None,
        can_reply=get_settings(session).replies_enabled and share.replies_allowed,
        replies=replies.replies, reply_total=replies.total, older_replies=replies.older,
        acknowledgement_required=share.acknowledgement_required, acknowledged_at=share.acknowledged_at,
    )


def print_message(*, actor: Actor, share_id: Any) -> MessageView:
    """The document with every reply to it, oldest first, for the contact's print view. Opening it is a view of
    the document like the viewer's: it marks the share read and is audited as a view (refusals too)."""
    return audited(_open_message, actor=actor, share_id=share_id, what='print', printing=True)


def _all_replies(session: Session, *, share: Share) -> ReplyPage:
    """Every reply to the share, oldest first (pages of MAX_PAGE_SIZE, read newest first, then reversed)."""
    found: list[ReplyView] = []
    before: Cursor | None = None
    while True:
        page = _reply_page(session, share, before, MAX_PAGE_SIZE)
        found += page.replies
        if page.older is None:
            return ReplyPage(replies=found[::-1], total=len(found), older=None)
        before = page.older


def acknowledge(*, actor: Actor, share_id: Any, idempotency_key: str | None = None) -> datetime | idempotency.Replayed:
    """The contact presses 'I have reviewed this document': the time is stored once and audited."""
    return audited(_acknowledge, actor=actor, share_id=share_id, what='acknowledge', idempotency_key=idempotency_key)


def _acknowledge(session: Session, *, actor: Actor, share_id: int) -> datetime:
    share = authorized_share(session, actor=actor, share_id=share_id)
    copy = session.get(Document, share.document_id)
    if copy is None or copy.deleted_at is not None:
        raise Denied('deleted')
    if share.acknowledged_at is None:
        share.acknowledged_at = clock.now()
        mark_read(session, share=share)
        audit.record(session, action='document_acknowledged', actor=actor, object_type='share', object_id=share.id,
                     detail={'copy_document_id': copy.id, 'required': share.acknowledgement_required},
                     **audit.share_refs(share))
    return share.acknowledged_at


def mark_read(session: Session, *, share: Share) -> None:
    """Record that the contact opened the share (the unread mark goes away)."""
    now = clock.now()
    if share.first_read_at is None:
        share.first_read_at = now
    share.last_read_at = now
    session.add(share)
    session.flush()


REPLY_PAGE_SIZE = 20


def list_replies(session: Session, *, actor: Actor, share_id: int, before: Cursor | None = None,
                 limit: int = REPLY_PAGE_SIZE) -> ReplyPage:
    """Replies to a share, newest first, `limit` at a time (`before`: the `older` key of the page shown), with
    their attachments; for the share's contact (and staff). A page costs the same however many replies exist."""
    share = authorized_share(session, actor=actor, share_id=share_id, allow_staff=True)
    return _reply_page(session, share, before, max(1, min(int(limit), MAX_PAGE_SIZE)))


def _reply_page(session: Session, share: Share, before: Cursor | None, limit: int) -> ReplyPage:
    # prepared statements (db.prepared): the viewer reads the newest page on every open
    params: dict[str, Any] = {'share_id': share.id, 'limit': limit + 1}
    if before is None:
        statement = db.prepared('messages: newest replies', lambda: _replies_statement(older=False))
    else:
        params.update(at=before[0], reply_id=before[1])
        statement = db.prepared('messages: older replies', lambda: _replies_statement(older=True))
    found = db.rows(session, statement, params).all()
    shown = found[:limit]
    older = (shown[-1].created_at, shown[-1].id) if len(found) > limit else None
    if not shown:
        return ReplyPage(replies=[], total=share.reply_count, older=None)
    by_reply: dict[int, list[AttachmentView]] = {}
    with_files = [r.id for r in shown if r.attached]
    if with_files:
        rows = session.exec(
            select(ReplyAttachment, StoredFile).join(StoredFile, StoredFile.id == ReplyAttachment.file_id)
            .where(ReplyAttachment.reply_id.in_(with_files)).order_by(ReplyAttachment.id)
        ).all()
        for attachment, stored in rows:
            by_reply.setdefault(attachment.reply_id, []).append(AttachmentView(
                attachment_id=attachment.id, file_name=attachment.file_name, mime_type=stored.mime_type))
    return ReplyPage(replies=[ReplyView(reply_id=r.id, created_at=r.created_at, author_name=r.author_name,
                                        body=r.body, attachments=by_reply.get(r.id, [])) for r in shown],
                     total=max(share.reply_count, len(shown)), older=older)


def _replies_statement(*, older: bool) -> Any:
    attached = sa.exists().where(ReplyAttachment.reply_id == Reply.id).label('attached')
    query = select(Reply.id, Reply.created_at, Reply.author_name, Reply.body, attached) \
        .where(Reply.share_id == sa.bindparam('share_id'))
    if older:
        at = sa.bindparam('at', type_=Reply.__table__.c.created_at.type)
        reply_id: Any = sa.bindparam('reply_id')
        query = query.where(sa.or_(Reply.created_at < at, sa.and_(Reply.created_at == at, Reply.id < reply_id)))
    return query.order_by(Reply.created_at.desc(), Reply.id.desc()).limit(sa.bindparam('limit'))


# ----------------------------------------------------------------------------- files

def message_file(*, actor: Actor, share_id: Any) -> files.FileContent:
    """The shared document as a file (its PDF/image, else its text or HTML), audited as a download."""
    return audited(_message_file, actor=actor, share_id=share_id, what='document_file')


def _message_file(session: Session, *, actor: Actor, share_id: int) -> files.FileContent:
    share = authorized_share(session, actor=actor, share_id=share_id, allow_staff=True)
    copy = session.get(Document, share.document_id)
    if copy is None or copy.deleted_at is not None:
        raise Denied('deleted')
    stored = session.get(StoredFile, copy.file_id) if copy.file_id else None
    if share.contact_id in actor.contact_ids:  # the contact's downloads are the receipt staff see
        share.download_count += 1
        share.last_downloaded_at = clock.now()
        session.add(share)
    audit.record(session, action='document_downloaded', actor=actor, object_type='share', object_id=share.id,
                 detail={'copy_document_id': copy.id}, **audit.share_refs(share))
    if stored is not None:
        return files.FileContent(data=files.read(stored), mime_type=stored.mime_type,
                                 file_name=files.safe_file_name(copy.file_name or share.title, stored.mime_type))
    if copy.body_html:
        html = f'<!doctype html><meta charset="utf-8"><body>{sanitize.clean_html(copy.body_html)}</body>'
        return files.FileContent(data=html.encode(), mime_type='text/html',
                                 file_name=files.safe_file_name(share.title) + '.html')
    return files.FileContent(data=(copy.body_text or '').encode(), mime_type='text/plain',
                             file_name=files.safe_file_name(share.title) + '.txt')


def reply_attachment_file(*, actor: Actor, attachment_id: Any) -> files.FileContent:
    """A reply's attachment, for the share's contacts (and staff), audited as a download."""
    share_id = None
    if isinstance(attachment_id, int) and attachment_id > 0:
        with db.transaction() as session:
            share_id = session.exec(
                select(Reply.share_id).join(ReplyAttachment, ReplyAttachment.reply_id == Reply.id)
                .where(ReplyAttachment.id == attachment_id)
            ).first()
    return audited(_reply_attachment_file, actor=actor, share_id=share_id, what='reply_attachment',
                   attachment_id=attachment_id)


def _reply_attachment_file(session: Session, *, actor: Actor, share_id: int | None,
                           attachment_id: int) -> files.FileContent:
    if share_id is None:
        raise Denied('missing')
    share = authorized_share(session, actor=actor, share_id=share_id, allow_staff=True)
    attachment = session.get(ReplyAttachment, attachment_id)
    stored = session.get(StoredFile, attachment.file_id)
    audit.record(session, action='reply_attachment_downloaded', actor=actor, object_type='reply_attachment',
                 object_id=attachment.id, detail={'share_id': share.id, 'reply_id': attachment.reply_id},
                 **audit.share_refs(share))
    return files.FileContent(data=files.read(stored), mime_type=stored.mime_type,
                             file_name=files.safe_file_name(attachment.file_name, stored.mime_type))
