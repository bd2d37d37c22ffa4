"""RFC 9457 problem details: every API error is `application/problem+json` with a stable `type` per error.

`ProblemRoute` is the route class of the API router: whatever an endpoint or its dependencies raise ends here
(never a stack trace in an answer; an unexpected error is logged under an id the answer names), and it audits
each call with the API client as the actor.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from services.errors import Forbidden, InvalidInput, NotAvailable, PortalError, RateLimited

log = logging.getLogger('smp.api')
TYPE_BASE = 'https://smp.invalid/problems/'  # stable identifiers, documented in the README ("API")

TITLES = {
    'unauthorized': (401, 'Authentication required'),
    'address-not-allowed': (403, 'Calls from this address are not allowed'),
    'insufficient-scope': (403, 'The client lacks the scope this endpoint needs'),
    'not-found': (404, 'Not found'),
    'validation-error': (422, 'The request is not valid'),
    'invalid-input': (422, 'The request cannot be accepted'),
    'conflict': (409, 'The request conflicts with stored data'),
    'idempotency-key-reused': (409, 'This Idempotency-Key was used with another request'),
    'idempotency-key-invalid': (400, 'The Idempotency-Key header is not valid'),
    'payload-too-large': (413, 'The request is too large'),
    'rate-limited': (429, 'Too many requests'),
    'server-error': (500, 'Something went wrong'),
    'method-not-allowed': (405, 'Method not allowed'),
}


class ApiProblem(Exception):
    """An error answer: `kind` is a key of TITLES (its URI is TYPE_BASE + kind)."""

    def __init__(self, kind: str, detail: str = '', *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(kind)
        self.kind, self.detail, self.headers, self.extra = kind, detail, headers or {}, extra


def problem(kind: str, detail: str = '', *, instance: str = '', headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    """The problem+json answer for `kind`."""
    status, title = TITLES[kind]
    body = {'type': TYPE_BASE + kind, 'title': title, 'status': status}
    if detail:
        body['detail'] = detail
    if instance:
        body['instance'] = instance
    body.update(extra)
    answer = JSONResponse(body, status_code=status, media_type='application/problem+json', headers=headers)
    if status == 401:
        answer.headers['www-authenticate'] = 'Bearer'
    return answer


def from_exception(exc: Exception, path: str, template: str = '') -> JSONResponse:
    """The answer for anything an endpoint raised (`template`: the route, for the log: never ids or names)."""
    if isinstance(exc, ApiProblem):
        return problem(exc.kind, exc.detail, instance=path, headers=exc.headers, **exc.extra)
    too_large = next((e for e in (exc, exc.__cause__) if getattr(e, 'too_large', False)), None)
    if too_large is not None:  # (pages/upload_limit.py: a streamed body passed the upload limit)
        return problem('payload-too-large', str(too_large), instance=path, headers={'connection': 'close'})
    if isinstance(exc, RequestValidationError):
        return problem('validation-error', 'Some fields are missing or not valid.', instance=path,
                       errors=[_field_error(e) for e in exc.errors()])
    if isinstance(exc, (NotAvailable, Forbidden)):  # not yours and not there look the same
        return problem('not-found', 'No such object.', instance=path)
    if isinstance(exc, RateLimited):
        return problem('rate-limited', str(exc), instance=path, headers={'retry-after': '60'})
    if isinstance(exc, InvalidInput):
        return problem('invalid-input', str(exc), instance=path)
    if isinstance(exc, PortalError):
        return problem('conflict', str(exc), instance=path)
    if isinstance(exc, HTTPException):
        kind = {401: 'unauthorized', 403: 'insufficient-scope', 404: 'not-found', 405: 'method-not-allowed',
                413: 'payload-too-large', 429: 'rate-limited'}.get(exc.status_code, 'invalid-input')
        return problem(kind, instance=path)
    error_id = secrets.token_hex(4).upper()
    log.exception('API error %s on %s', error_id, template or 'an API route')
    return problem('server-error', f'Something went wrong (error {error_id}).', instance=path)


def _field_error(error: dict[str, Any]) -> dict[str, str]:
    location = [str(part) for part in error.get('loc', ()) if part not in ('body', 'query', 'path', 'header')]
    return {'field': '.'.join(location) or str(error.get('loc', ('request',))[0]), 'message': str(error.get('msg', ''))}


class ProblemRoute(APIRoute):
    """Routes of the API: errors as problem+json; each call audited once it is answered."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        template = self.path_format

        async def handler(request: Request) -> Response:
            try:
                answer = await original(request)
            except Exception as exc:  # noqa: BLE001 (every error becomes a problem answer)
                answer = from_exception(exc, request.url.path, template)
            await run_in_threadpool(_audit_call, request, template, answer.status_code)
            return answer

        return handler


def _audit_call(request: Request, template: str, status: int) -> None:
    from services import api_clients, db
    caller = getattr(request.state, 'api_caller', None)
    ip = request.client.host if request.client else None
    if caller is None and status not in (401, 403):
        return  # (docs and the OpenAPI document are not calls)
    with db.transaction() as session:
        api_clients.record_call(session, actor=caller.actor if caller else None, method=request.method,
                                route=template, status=status, ip_address=ip)
