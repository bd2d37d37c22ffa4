"""`/api/v1`: the clinic's EHR pushes charts, documents, contacts and shares in, and pulls replies, receipts and
registrations out. Every endpoint names its scope; the services do the work (and audit it) with the client as
the actor; lists page by cursor and filter by `updated_since`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import APIRouter, Depends, File, Form, Header, Path, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from models import Chart
from pages.private_files import file_response
from services import api_reads, charts, db, documents, registration_review, sharing, worklist
from services.api_clients import Caller
from services.contacts import PossibleDuplicate

from .auth import scope
from .problems import ApiProblem, ProblemRoute

router = APIRouter(prefix='/api/v1', route_class=ProblemRoute, tags=['v1'])
T = TypeVar('T')
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
UpdatedSince = Annotated[datetime | None, Query(description='Only what changed at or after this time (ISO 8601)')]
CursorQ = Annotated[str | None, Query(max_length=100, description='next_cursor of the previous page')]
LimitQ = Annotated[int, Query(ge=1, le=api_reads.MAX_LIMIT)]


def _call(fn: Any, caller: Caller, **kwargs: Any) -> Any:
    """A service in its own transaction with the client as the actor (endpoints run in the thread pool)."""
    return db.run(fn, actor=caller.actor, **kwargs)


def _since(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ApiProblem('validation-error', 'updated_since needs a time zone, e.g. 2026-11-27T10:00:00Z.',
                         errors=[{'field': 'updated_since', 'message': 'a time zone is required'}])
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra='forbid', str_max_length=500_000)


class Page(BaseModel, Generic[T]):
    """One page of a list: poll again with `next_cursor` (it stays put when nothing is new)."""

    items: list[T]
    next_cursor: str
    has_more: bool


def _page(items: list[Any], after_id: int, limit: int) -> dict[str, Any]:
    last = items[-1].id if items else after_id
    return {'items': items, 'next_cursor': api_reads.encode_cursor(last), 'has_more': len(items) == limit}


# ----------------------------------------------------------------------------- charts

class ChartIn(Strict):
    external_id: str = Field(min_length=1, max_length=64, description="the EHR's identifier, e.g. the MRN")
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    date_of_birth: date | None = None
    email: str = Field('', max_length=254)
    phone: str = Field('', max_length=40)
    employer: str = Field('', max_length=200)


class ChartOut(BaseModel):
    id: int
    name: str
    first_name: str
    last_name: str
    date_of_birth: date | None
    external_id: str
    email: str
    phone: str
    employer: str
    status: str


class ChartUpserted(BaseModel):
    chart: ChartOut
    created: bool


@router.get('/charts', response_model=Page[ChartOut], summary='Charts (not merged), oldest first')
def list_charts(caller: Annotated[Caller, Depends(scope('charts:write'))], cursor: CursorQ = None,
                updated_since: UpdatedSince = None, limit: LimitQ = 50) -> Any:
    after = api_reads.decode_cursor(cursor)
    rows = _call(api_reads.list_charts, caller, after_id=after, updated_since=_since(updated_since), limit=limit)
    return _page(rows, after, limit)


class ChartSearch(Strict):
    q: str = Field(max_length=100, description='name words, a date of birth (YYYY-MM-DD) or the external id')
    cursor: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=api_reads.MAX_LIMIT)


@router.post('/charts/search', response_model=Page[ChartOut],
             summary='Search charts (a POST, so names and MRNs stay out of URLs and access logs)')
def search_charts(body: ChartSearch, caller: Annotated[Caller, Depends(scope('charts:write'))]) -> Any:
    after = api_reads.decode_cursor(body.cursor)
    rows = _call(api_reads.list_charts, caller, query=body.q, after_id=after, limit=body.limit)
    return _page(rows, after, body.limit)


@router.get('/charts/{chart_id}', response_model=ChartOut, summary='One chart')
def get_chart(chart_id: Id, caller: Annotated[Caller, Depends(scope('charts:write'))]) -> Any:
    return asdict(_call(charts.get_chart, caller, chart_id=chart_id))


@router.post('/charts/upsert', response_model=ChartUpserted,
             summary="Create (201) or update (200) the chart with the EHR's identifier (e.g. the MRN)")
def upsert_chart(body: ChartIn, caller: Annotated[Caller, Depends(scope('charts:write'))]) -> Any:
    def run(session, actor):
        chart_id, created = api_reads.upsert_chart(session, actor=actor, **body.model_dump())
        return charts.chart_row(session.get(Chart, chart_id)), created
    row, created = db.run(run, actor=caller.actor)
    return JSONResponse({'chart': _json(asdict(row)), 'created': created}, status_code=201 if created else 200)


# ----------------------------------------------------------------------------- documents

class DocumentIn(Strict):
    chart_id: int = Field(ge=1)
    service_date: date
    doc_type: str = Field(max_length=100)
    title: str = Field(max_length=300)
    service_location: str = Field('', max_length=200)
    author: str = Field('', max_length=200, description='"BY": defaults to the API client\'s name')
    body_kind: Literal['html', 'text'] = 'html'
    body: str = Field(max_length=documents.MAX_BODY, description='HTML is sanitized on the way in')


class DocumentCreated(BaseModel):
    id: int
    chart_id: int


def _author(caller: Caller, author: str) -> Caller:
    if not author.strip():
        return caller
    return Caller(replace(caller.actor, display_name=author.strip()[:200]), caller.rate_per_minute)


@router.post('/documents', response_model=DocumentCreated, status_code=201,
             summary='Write an HTML (sanitized) or plain-text document into a chart')
def create_document(body: DocumentIn, caller: Annotated[Caller, Depends(scope('documents:write'))]) -> Any:
    document_id = _call(documents.create_document, _author(caller, body.author), chart_id=body.chart_id,
                        service_date=body.service_date, doc_type=body.doc_type, title=body.title,
                        service_location=body.service_location, body_kind=body.body_kind, body=body.body)
    return {'id': document_id, 'chart_id': body.chart_id}


@router.post('/documents/upload', response_model=DocumentCreated, status_code=201,
             summary='Upload a PDF, PNG or JPEG as a document of a chart (multipart/form-data)')
def upload_document(caller: Annotated[Caller, Depends(scope('documents:write'))],
                    chart_id: Annotated[int, Form(ge=1)], service_date: Annotated[date, Form()],
                    doc_type: Annotated[str, Form(max_length=100)], title: Annotated[str, Form(max_length=300)],
                    file: Annotated[UploadFile, File()],
                    service_location: Annotated[str, Form(max_length=200)] = '',
                    author: Annotated[str, Form(max_length=200)] = '') -> Any:
    data = file.file.read()
    document_id = _call(documents.create_document, _author(caller, author), chart_id=chart_id,
                        service_date=service_date, doc_type=doc_type, title=title, service_location=service_location,
                        body_kind='file', file_data=data, file_name=file.filename or 'document')
    return {'id': document_id, 'chart_id': chart_id}


# ----------------------------------------------------------------------------- contacts

class ContactIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    phone: str = Field('', max_length=40)
    organization: str = Field('', max_length=200)
    allow_same_name: bool = Field(False, description='add even when a contact with the same name exists')


class ContactOut(BaseModel):
    id: int
    name: str
    email: str
    organization: str
    phone: str
    has_account: bool


class ContactUpserted(BaseModel):
    contact: ContactOut
    created: bool


@router.post('/contacts/upsert', response_model=ContactUpserted,
             summary='The contact with this email (200, not changed), or a new one (201)')
def upsert_contact(body: ContactIn, caller: Annotated[Caller, Depends(scope('contacts:write'))]) -> Any:
    try:
        row, created = _call(api_reads.upsert_contact, caller, **body.model_dump())
    except PossibleDuplicate as duplicate:
        raise ApiProblem('conflict', 'A contact with this name exists with another email; send '
                         'allow_same_name=true to add a different person.',
                         matches=[{'id': m.id, 'email': m.email} for m in duplicate.matches[:3]]) from None
    return JSONResponse({'contact': _json(asdict(row)), 'created': created}, status_code=201 if created else 200)


# ----------------------------------------------------------------------------- shares

class SharesIn(Strict):
    document_ids: list[Annotated[int, Field(ge=1)]] = Field(min_length=1, max_length=sharing.MAX_BATCH)
    contact_ids: list[Annotated[int, Field(ge=1)]] = Field(min_length=1, max_length=sharing.MAX_BATCH)
    replies_allowed: bool = True
    expires_on: date | None = Field(None, description='last day the contact can open it (portal time zone)')
    acknowledgement_required: bool = False


class ShareOut(BaseModel):
    id: int
    chart_id: int
    contact_id: int
    document_id: int
    copy_document_id: int
    sent_at: datetime
    state: str
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


class SharesCreated(BaseModel):
    shares: list[ShareOut]


class RescindIn(Strict):
    reason: str = Field(max_length=500)


@router.post('/shares', response_model=SharesCreated, status_code=201,
             summary='Send documents to contacts (the Send dialog\'s options); idempotent by Idempotency-Key')
def create_shares(body: SharesIn, caller: Annotated[Caller, Depends(scope('shares:write'))],
                  idempotency_key: Annotated[str, Header(alias='Idempotency-Key', min_length=1, max_length=40,
                                                         pattern=r'^[A-Za-z0-9._:-]+$')]) -> Any:
    digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    try:
        status, answer, replayed = _call(api_reads.send_once, caller, key=idempotency_key, request_hash=digest,
                                         **body.model_dump())
    except api_reads.Conflict as conflict:
        raise ApiProblem('idempotency-key-reused', str(conflict)) from None
    return JSONResponse(answer, status_code=status, headers={'idempotent-replayed': 'true'} if replayed else None)


@router.get('/shares', response_model=Page[ShareOut], summary='Shares and their receipts')
def list_shares(caller: Annotated[Caller, Depends(scope('shares:read'))], cursor: CursorQ = None,
                updated_since: UpdatedSince = None, limit: LimitQ = 50) -> Any:
    after = api_reads.decode_cursor(cursor)
    rows = _call(api_reads.list_shares, caller, after_id=after, updated_since=_since(updated_since), limit=limit)
    return _page(rows, after, limit)


@router.get('/shares/{share_id}', response_model=ShareOut, summary="A share's state and receipt")
def get_share(share_id: Id, caller: Annotated[Caller, Depends(scope('shares:read'))]) -> Any:
    return asdict(_call(api_reads.get_share, caller, share_id=share_id))


@router.post('/shares/{share_id}/rescind', response_model=ShareOut, summary='Withdraw a share with a reason')
def rescind_share(share_id: Id, body: RescindIn, caller: Annotated[Caller, Depends(scope('shares:write'))]) -> Any:
    def run(session, actor):
        sharing.rescind(session, share_id=share_id, reason=body.reason, actor=actor)
        return api_reads.get_share(session, actor=actor, share_id=share_id)
    return asdict(db.run(run, actor=caller.actor))


# ----------------------------------------------------------------------------- replies

class ReplySummaryOut(BaseModel):
    id: int
    share_id: int
    chart_id: int
    contact_id: int
    document_id: int
    created_at: datetime
    status: str
    worked_at: datetime | None
    moved_document_id: int | None
    attachments: int


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


@router.get('/replies', response_model=Page[ReplySummaryOut], summary='Replies since a cursor')
def list_replies(caller: Annotated[Caller, Depends(scope('replies:read'))], cursor: CursorQ = None,
                 updated_since: UpdatedSince = None, limit: LimitQ = 50) -> Any:
    after = api_reads.decode_cursor(cursor)
    rows = _call(api_reads.list_replies, caller, after_id=after, updated_since=_since(updated_since), limit=limit)
    return _page(rows, after, limit)


def _reply(session, actor, reply_id: int) -> dict[str, Any]:
    view = worklist.get_reply(session, actor=actor, reply_id=reply_id)
    hashes = api_reads.attachment_hashes(session, actor=actor, reply_id=reply_id)
    return {'id': view.row.reply_id, 'chart_id': view.row.chart_id, 'contact_id': view.row.contact_id,
            'document_id': view.row.document_id, 'replied_at': view.row.replied_at, 'author': view.author,
            'body': view.body, 'status': view.row.status, 'moved_document_id': view.moved_document_id,
            'attachments': [{'id': a.id, 'file_name': a.file_name, 'mime_type': a.mime_type, 'size': a.size,
                             'sha256': hashes.get(a.id, ''),
                             'url': f'{router.prefix}/replies/{reply_id}/attachments/{a.id}'}
                            for a in view.attachments]}


@router.get('/replies/{reply_id}', response_model=ReplyOut, summary='A reply with its text and attachments')
def get_reply(reply_id: Id, caller: Annotated[Caller, Depends(scope('replies:read'))]) -> Any:
    return db.run(_reply, actor=caller.actor, reply_id=reply_id)


@router.get('/replies/{reply_id}/attachments/{attachment_id}', response_class=Response,
            responses={200: {'content': {'application/pdf': {}, 'image/png': {}, 'image/jpeg': {}}}},
            summary="An attachment's bytes")
def download_attachment(reply_id: Id, attachment_id: Id,
                        caller: Annotated[Caller, Depends(scope('replies:read'))]) -> Any:
    content = _call(api_reads.reply_attachment, caller, reply_id=reply_id, attachment_id=attachment_id)
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
    return {'reply_id': reply_id, 'moved_document_id': _call(worklist.move_reply, caller, reply_id=reply_id)}


# ----------------------------------------------------------------------------- registrations

class RegistrationSummaryOut(BaseModel):
    id: int
    reference: str
    status: str
    chart_id: int | None
    contact_id: int | None
    submitted_at: datetime
    reviewed_at: datetime | None


class Answer(BaseModel):
    label: str
    value: str


class Section(BaseModel):
    title: str
    answers: list[Answer]


class RegistrationOut(BaseModel):
    id: int
    reference: str
    status: str
    submitted_at: datetime
    name: str
    submitted_by: str
    sections: list[Section]
    files: list[dict[str, Any]]
    review_reason: str | None
    merged_into: str | None


class RejectIn(Strict):
    reason: str = Field(max_length=1000)


def _registration(session, actor, registration_id: int) -> dict[str, Any]:
    view = registration_review.get_registration(session, actor=actor, registration_id=registration_id)
    return {'id': view.id, 'reference': view.reference, 'status': view.status, 'submitted_at': view.submitted_at,
            'name': view.name, 'submitted_by': view.submitted_by,
            'sections': [{'title': title, 'answers': [{'label': k, 'value': v} for k, v in rows]}
                         for title, rows in view.sections],
            'files': [{'id': file_id, 'file_name': name} for file_id, name in view.files],
            'review_reason': view.review_reason, 'merged_into': view.merged_into}


@router.get('/registrations', response_model=Page[RegistrationSummaryOut], summary='Registrations (pending first)')
def list_registrations(caller: Annotated[Caller, Depends(scope('registrations:read'))],
                       status: Literal['pending', 'accepted', 'merged', 'rejected', 'all'] = 'pending',
                       cursor: CursorQ = None, updated_since: UpdatedSince = None, limit: LimitQ = 50) -> Any:
    after = api_reads.decode_cursor(cursor)
    rows = _call(api_reads.list_registrations, caller, status=status, after_id=after,
                 updated_since=_since(updated_since), limit=limit)
    return _page(rows, after, limit)


@router.get('/registrations/{registration_id}', response_model=RegistrationOut, summary='One registration')
def get_registration(registration_id: Id, caller: Annotated[Caller, Depends(scope('registrations:read'))]) -> Any:
    return db.run(_registration, actor=caller.actor, registration_id=registration_id)


@router.post('/registrations/{registration_id}/accept', response_model=RegistrationOut,
             summary='Accept: the pending chart becomes active with the answers and files as documents')
def accept_registration(registration_id: Id,
                        caller: Annotated[Caller, Depends(scope('registrations:write'))]) -> Any:
    def run(session, actor):
        registration_review.accept(session, actor=actor, registration_id=registration_id)
        return _registration(session, actor, registration_id)
    return db.run(run, actor=caller.actor)


@router.post('/registrations/{registration_id}/reject', response_model=RegistrationOut,
             summary='Reject with a reason')
def reject_registration(registration_id: Id, body: RejectIn,
                        caller: Annotated[Caller, Depends(scope('registrations:write'))]) -> Any:
    def run(session, actor):
        registration_review.reject(session, actor=actor, registration_id=registration_id, reason=body.reason)
        return _registration(session, actor, registration_id)
    return db.run(run, actor=caller.actor)


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(values, default=lambda v: v.isoformat() if isinstance(v, (date, datetime)) else
                                 str(v)))


@router.api_route('/{rest:path}', methods=['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], include_in_schema=False)
def unknown(rest: str) -> Any:
    """Anything else under /api/v1: a problem+json 404, not the portal's page."""
    raise ApiProblem('not-found', 'No such endpoint.')


# every endpoint's scope, for the docs and the scope × endpoint test
def endpoint_scopes() -> dict[tuple[str, str], str]:
    """(method, path) -> the scope it requires."""
    found = {}
    for route in router.routes:
        if route.endpoint is unknown:
            continue
        for dependency in route.dependant.dependencies:
            required = getattr(dependency.call, 'required_scope', None)
            if required:
                for method in route.methods:
                    found[(method, route.path)] = required
    return found

