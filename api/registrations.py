"""/api/v1/registrations: list and read self-registrations, accept or reject them."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends
from pydantic import BaseModel, Field

from services import api_reads, db, registration_review
from services.api_clients import Caller
from services.api_reads import RegistrationSummary

from .auth import scope
from .common import Id, Strict, list_route, resource_router

router = resource_router()


# a listed registration is the service's api_reads.RegistrationSummary. One registration keeps its own models: the
# review view holds (title, [(label, value)]) and (id, name) tuples, which the API names as objects

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


def _status(status: Literal['pending', 'accepted', 'merged', 'rejected', 'all'] = 'pending') -> dict[str, Any]:
    return {'status': status}


list_route(router, '/registrations', 'registrations:read', api_reads.list_registrations, RegistrationSummary,
           name='list_registrations', summary='Registrations (pending first)', filters=_status)


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
