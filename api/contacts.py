"""/api/v1/contacts: the contact with an email, created when there is none (contacts:write)."""
from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services import api_reads
from services.api_clients import Caller
from services.contacts import ContactRow, PossibleDuplicate

from .auth import scope
from .common import Strict, as_json, call, resource_router
from .problems import ApiProblem

router = resource_router()


class ContactIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    phone: str = Field('', max_length=40)
    organization: str = Field('', max_length=200)
    allow_same_name: bool = Field(False, description='add even when a contact with the same name exists')


# a contact is answered as the service's contacts.ContactRow (the answer always carried its first and last name too)

class ContactUpserted(BaseModel):
    contact: ContactRow
    created: bool


@router.post('/contacts/upsert', response_model=ContactUpserted,
             summary='The contact with this email (200, not changed), or a new one (201)')
def upsert_contact(body: ContactIn, caller: Annotated[Caller, Depends(scope('contacts:write'))]) -> Any:
    try:
        row, created = call(api_reads.upsert_contact, caller, **body.model_dump())
    except PossibleDuplicate as duplicate:
        raise ApiProblem('conflict', 'A contact with this name exists with another email; send '
                         'allow_same_name=true to add a different person.',
                         matches=[{'id': m.id, 'email': m.email} for m in duplicate.matches[:3]]) from None
    return JSONResponse({'contact': as_json(asdict(row)), 'created': created}, status_code=201 if created else 200)
