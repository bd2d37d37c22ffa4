"""/api/v1/shares: send documents to contacts (idempotent), read a share's state and receipt, withdraw it."""
from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services import api_reads, db, sharing
from services.api_clients import Caller
from services.api_reads import ShareState

from .auth import scope
from .common import Id, Strict, call, list_route, resource_router
from .problems import ApiProblem

router = resource_router()


class SharesIn(Strict):
    document_ids: list[Annotated[int, Field(ge=1)]] = Field(min_length=1, max_length=sharing.MAX_BATCH)
    contact_ids: list[Annotated[int, Field(ge=1)]] = Field(min_length=1, max_length=sharing.MAX_BATCH)
    replies_allowed: bool = True
    expires_on: date | None = Field(None, description='last day the contact can open it (portal time zone)')
    acknowledgement_required: bool = False


# a share is answered as the service's api_reads.ShareState (written for the API: its contract, written once)

class SharesCreated(BaseModel):
    shares: list[ShareState]


class RescindIn(Strict):
    reason: str = Field(max_length=500)


@router.post('/shares', response_model=SharesCreated, status_code=201,
             summary='Send documents to contacts (the Send dialog\'s options); idempotent by Idempotency-Key')
def create_shares(body: SharesIn, caller: Annotated[Caller, Depends(scope('shares:write'))],
                  idempotency_key: Annotated[str, Header(alias='Idempotency-Key', min_length=1, max_length=40,
                                                         pattern=r'^[A-Za-z0-9._:-]+$')]) -> Any:
    digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    try:
        status, answer, replayed = call(api_reads.send_once, caller, key=idempotency_key, request_hash=digest,
                                        **body.model_dump())
    except api_reads.Conflict as conflict:
        raise ApiProblem('idempotency-key-reused', str(conflict)) from None
    return JSONResponse(answer, status_code=status, headers={'idempotent-replayed': 'true'} if replayed else None)


list_route(router, '/shares', 'shares:read', api_reads.list_shares, ShareState, name='list_shares',
           summary='Shares and their receipts')


@router.get('/shares/{share_id}', response_model=ShareState, summary="A share's state and receipt")
def get_share(share_id: Id, caller: Annotated[Caller, Depends(scope('shares:read'))]) -> Any:
    return call(api_reads.get_share, caller, share_id=share_id)


@router.post('/shares/{share_id}/rescind', response_model=ShareState, summary='Withdraw a share with a reason')
def rescind_share(share_id: Id, body: RescindIn, caller: Annotated[Caller, Depends(scope('shares:write'))]) -> Any:
    def run(session, actor):
        sharing.rescind(session, share_id=share_id, reason=body.reason, actor=actor)
        return api_reads.get_share(session, actor=actor, share_id=share_id)
    return db.run(run, actor=caller.actor)
