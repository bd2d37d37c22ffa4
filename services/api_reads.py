"""What the EHR API reads and the few steps it composes from the existing services (no rule lives here twice).

Lists page by cursor (the last id seen, ascending ids) and filter by `updated_since`; every function checks the
actor like the services it stands beside (staff rights; the API checks the client's scope before calling).
Changes go through charts / contacts / sharing / worklist / registration_review.
"""
from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from models import ApiIdempotentResult, Chart, Contact, Registration, Reply, ReplyAttachment, Share, StoredFile
from models.shapes import Actor

from . import charts, contacts, files, idempotency, sharing, validate, worklist
from .charts import require_staff
from .errors import InvalidInput, NotAvailable, PortalError

MAX_LIMIT = 200


class Conflict(PortalError):
    """The request cannot be applied to what is stored (two charts with one MRN, a key used for another call)."""


def encode_cursor(last_id: int) -> str:
    """An opaque cursor after `last_id`."""
    return base64.urlsafe_b64encode(f'v1:{int(last_id)}'.encode()).decode().rstrip('=')


def decode_cursor(cursor: str | None) -> int:
    """The last id a cursor names (0 for none); InvalidInput for a damaged one."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + '=' * (-len(cursor) % 4)).decode()
        version, _, value = text.partition(':')
        if version != 'v1' or not value.isdigit():
            raise ValueError
        return int(value)
    except ValueError:
        raise InvalidInput('The cursor is not valid: use next_cursor from an earlier answer.') from None


def _limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


# ----------------------------------------------------------------------------- charts

def list_charts(session: Session, *, actor: Actor, query: str = '', after_id: int = 0,
                updated_since: datetime | None = None, limit: int = 50) -> list[charts.ChartRow]:
    """Charts (not merged) matching the chart search, after `after_id`; `updated_since` filters by creation."""
    require_staff(actor)
    stmt = select(Chart).where(Chart.status != 'merged', Chart.id > after_id)
    condition = charts.search_condition(query)
    if condition is not None:
        stmt = stmt.where(condition)
    if updated_since is not None:
        stmt = stmt.where(Chart.created_at >= updated_since)
    return [charts.chart_row(c) for c in session.exec(stmt.order_by(Chart.id).limit(_limit(limit))).all()]


def upsert_chart(session: Session, *, actor: Actor, external_id: str, first_name: str, last_name: str,
                 date_of_birth: str | date | None = None, email: str = '', phone: str = '',
                 employer: str = '') -> tuple[int, bool]:
    """Create or update the chart with this EHR identifier (e.g. the MRN); return its id and whether it is new."""
    require_staff(actor)
    external_id = validate.text(external_id, label='External id', max_length=64)
    found = session.exec(select(Chart.id).where(Chart.external_id == external_id, Chart.status != 'merged')
                         .limit(2)).all()
    if len(found) > 1:
        raise Conflict('Several charts have this external id: merge them in the portal first.')
    chart_id = charts.save_chart(session, actor=actor, chart_id=found[0] if found else None, first_name=first_name,
                                 last_name=last_name, date_of_birth=date_of_birth, external_id=external_id,
                                 email=email, phone=phone, employer=employer)
    return chart_id, not found


# ----------------------------------------------------------------------------- contacts

def upsert_contact(session: Session, *, actor: Actor, email: str, first_name: str, last_name: str, phone: str = '',
                   organization: str = '', allow_same_name: bool = False) -> tuple[contacts.ContactRow, bool]:
    """The contact with this email (as stored), or a new one (contacts.add_contact's checks); and whether new."""
    require_staff(actor)
    address = validate.email(email)
    existing = session.exec(select(Contact).where(Contact.email == address)).first()
    if existing is not None:
        return contacts.get_contacts(session, actor=actor, contact_ids=[int(existing.id or 0)])[0], False
    return contacts.add_contact(session, actor=actor, first_name=first_name, last_name=last_name, email=address,
                                phone=phone, organization=organization, confirm_same_name=allow_same_name), True


# ----------------------------------------------------------------------------- shares

@dataclass(frozen=True)
class ShareState:
    """A share and its receipt, ids only plus states (what the EHR files back)."""

    id: int
    chart_id: int
    contact_id: int
    document_id: int  # the chart document that was sent
    copy_document_id: int
    sent_at: datetime
    state: str  # 'active' | 'expired <date>' | 'rescinded <date>: <reason>'
    active: bool
    email: str
    first_viewed_at: datetime | None
    last_viewed_at: datetime | None
    downloads: int
    acknowledgement_required: bool
    acknowledged_at: datetime | None
    replies: int
    last_reply_at: datetime | None
    expires_on: date | None
    rescinded_at: datetime | None


def _share_states(session: Session, shares: list[Share]) -> list[ShareState]:
    found = sharing.receipts(session, shares)
    return [ShareState(
        id=s.id, chart_id=s.chart_id, contact_id=s.contact_id, document_id=s.source_document_id,
        copy_document_id=s.document_id, sent_at=s.sent_at, state=found[s.id].state, active=found[s.id].active,
        email=found[s.id].email, first_viewed_at=s.first_read_at, last_viewed_at=s.last_read_at,
        downloads=s.download_count, acknowledgement_required=s.acknowledgement_required,
        acknowledged_at=s.acknowledged_at, replies=s.reply_count, last_reply_at=s.last_reply_at,
        expires_on=found[s.id].expires_on, rescinded_at=s.rescinded_at) for s in shares]


def list_shares(session: Session, *, actor: Actor, after_id: int = 0, updated_since: datetime | None = None,
                limit: int = 50) -> list[ShareState]:
    """Shares after `after_id`; `updated_since`: sent, read, downloaded, acknowledged, replied or withdrawn since."""
    require_staff(actor)
    stmt = select(Share).where(Share.id > after_id)
    if updated_since is not None:
        stmt = stmt.where(sa.or_(*(column >= updated_since for column in (
            Share.sent_at, Share.last_read_at, Share.last_downloaded_at, Share.acknowledged_at, Share.last_reply_at,
            Share.rescinded_at))))
    return _share_states(session, list(session.exec(stmt.order_by(Share.id).limit(_limit(limit))).all()))


def get_share(session: Session, *, actor: Actor, share_id: int) -> ShareState:
    """One share's state and receipt."""
    require_staff(actor)
    share = session.get(Share, share_id)
    if share is None:
        raise NotAvailable('This share does not exist.')
    return _share_states(session, [share])[0]


def send_once(session: Session, *, actor: Actor, key: str, request_hash: str, document_ids: list[int],
              contact_ids: list[int], replies_allowed: bool = True, expires_on: Any = None,
              acknowledgement_required: bool = False) -> tuple[int, dict[str, Any], bool]:
    """Send documents to contacts (sharing.send_documents) once per client and `key`: the same key again returns
    the first answer and changes nothing; with another request body it raises Conflict. Returns
    (status, answer, replayed)."""
    require_staff(actor)
    if not key or len(key) > 40 or not all(c.isascii() and (c.isalnum() or c in '._:-') for c in key):
        raise InvalidInput('The Idempotency-Key must be 1 to 40 letters, digits or . _ : -')
    full_key = f'api{actor.api_client_id}:{key}'
    stored = session.get(ApiIdempotentResult, full_key)
    if stored is None and not idempotency.claim(session, key=full_key, action='api.shares.create', actor=actor):
        session.expire_all()  # a request with the same key committed while this one waited for it
        stored = session.get(ApiIdempotentResult, full_key)
        if stored is None:
            raise Conflict('This Idempotency-Key was already used.')
    if stored is not None:
        if stored.request_hash != request_hash:
            raise Conflict('This Idempotency-Key was used with another request body.')
        return stored.status_code, json.loads(stored.body_json), True
    results = sharing.send_documents(session, actor=actor, document_ids=document_ids, contact_ids=contact_ids,
                                     replies_allowed=replies_allowed, expires_on=expires_on,
                                     acknowledgement_required=acknowledgement_required)
    shares = [session.get(Share, r.share_id) for r in results]
    answer = {'shares': [_jsonable(asdict(state)) | {'email_kind': result.email_kind}
                         for state, result in zip(_share_states(session, shares), results, strict=True)]}
    session.add(ApiIdempotentResult(key=full_key, api_client_id=actor.api_client_id, request_hash=request_hash,
                                    status_code=201, body_json=json.dumps(answer)))
    return 201, answer, False


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in values.items()}


# ----------------------------------------------------------------------------- replies

@dataclass(frozen=True)
class ReplySummary:
    """A reply in the API's list (open one for its text and attachments)."""

    id: int
    share_id: int
    chart_id: int
    contact_id: int
    document_id: int
    created_at: datetime
    status: str  # 'unworked' | 'worked' | 'moved'
    worked_at: datetime | None
    moved_document_id: int | None
    attachments: int


def list_replies(session: Session, *, actor: Actor, after_id: int = 0, updated_since: datetime | None = None,
                 limit: int = 50) -> list[ReplySummary]:
    """Replies after `after_id`; `updated_since`: written or worked since."""
    require_staff(actor)
    stmt = select(Reply, Share).join(Share, Share.id == Reply.share_id).where(Reply.id > after_id)
    if updated_since is not None:
        stmt = stmt.where(sa.or_(Reply.created_at >= updated_since, Reply.worked_at >= updated_since))
    rows = session.exec(stmt.order_by(Reply.id).limit(_limit(limit))).all()
    ids = [reply.id for reply, _ in rows]
    counts = dict(session.exec(select(ReplyAttachment.reply_id, sa.func.count()).where(
        ReplyAttachment.reply_id.in_(ids)).group_by(ReplyAttachment.reply_id)).all()) if ids else {}
    return [ReplySummary(id=r.id, share_id=s.id, chart_id=s.chart_id, contact_id=s.contact_id,
                         document_id=s.source_document_id, created_at=r.created_at,
                         status='moved' if r.moved_document_id else 'worked' if r.worked_at else 'unworked',
                         worked_at=r.worked_at, moved_document_id=r.moved_document_id,
                         attachments=counts.get(r.id, 0)) for r, s in rows]


def reply_attachment(session: Session, *, actor: Actor, reply_id: int, attachment_id: int) -> files.FileContent:
    """An attachment of this reply (worklist.attachment_file: audited); another reply's is not found."""
    require_staff(actor)
    attachment = session.get(ReplyAttachment, attachment_id)
    if attachment is None or attachment.reply_id != reply_id:
        raise NotAvailable('This file is not available.')
    return worklist.attachment_file(session, actor=actor, attachment_id=attachment_id)


def attachment_hashes(session: Session, *, actor: Actor, reply_id: int) -> dict[int, str]:
    """The SHA-256 of each attachment of a reply, by attachment id (so the EHR can check its download)."""
    require_staff(actor)
    rows = session.exec(select(ReplyAttachment.id, StoredFile.sha256)
                        .join(StoredFile, StoredFile.id == ReplyAttachment.file_id)
                        .where(ReplyAttachment.reply_id == reply_id)).all()
    return dict(rows)


# ----------------------------------------------------------------------------- registrations

@dataclass(frozen=True)
class RegistrationSummary:
    """A registration in the API's list."""

    id: int
    reference: str
    status: str
    chart_id: int | None
    contact_id: int | None
    submitted_at: datetime
    reviewed_at: datetime | None


def list_registrations(session: Session, *, actor: Actor, status: str = 'pending', after_id: int = 0,
                       updated_since: datetime | None = None, limit: int = 50) -> list[RegistrationSummary]:
    """Registrations with `status` ('pending', 'accepted', 'merged', 'rejected' or 'all') after `after_id`."""
    require_staff(actor)
    if status not in ('pending', 'accepted', 'merged', 'rejected', 'all'):
        raise InvalidInput('status must be pending, accepted, merged, rejected or all.')
    stmt = select(Registration).where(Registration.id > after_id)
    if status != 'all':
        stmt = stmt.where(Registration.status == status)
    if updated_since is not None:
        stmt = stmt.where(sa.or_(Registration.created_at >= updated_since, Registration.reviewed_at >= updated_since))
    return [RegistrationSummary(id=r.id, reference=r.reference, status=r.status, chart_id=r.chart_id,
                                contact_id=r.contact_id, submitted_at=r.created_at, reviewed_at=r.reviewed_at)
            for r in session.exec(stmt.order_by(Registration.id).limit(_limit(limit))).all()]


KEEP_RESULTS_DAYS = 7


def forget_old_results() -> int:
    """Scheduler job: drop stored answers of idempotent API requests after a week (an EHR retries within hours)."""
    from datetime import timedelta

    from . import clock, db
    with db.transaction() as session:
        result = session.execute(sa.delete(ApiIdempotentResult).where(
            ApiIdempotentResult.created_at < clock.now() - timedelta(days=KEEP_RESULTS_DAYS)))
        return int(getattr(result, 'rowcount', 0) or 0)
