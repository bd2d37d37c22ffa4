"""/api/v1/documents: write an HTML or text document, or upload a PDF/PNG/JPEG, into a chart (documents:write)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, File, Form, UploadFile
from pydantic import BaseModel, Field

from services import documents
from services.api_clients import Caller

from .auth import scope
from .common import Strict, call, resource_router

router = resource_router()


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
    document_id = call(documents.create_document, _author(caller, body.author), chart_id=body.chart_id,
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
    document_id = call(documents.create_document, _author(caller, author), chart_id=chart_id,
                       service_date=service_date, doc_type=doc_type, title=title, service_location=service_location,
                       body_kind='file', file_data=data, file_name=file.filename or 'document')
    return {'id': document_id, 'chart_id': chart_id}
