"""What every resource module of /api/v1 shares: parameter types, the page shape, and `list_route`, the one way a
list endpoint is written (cursor, updated_since, limit; the service does the reading and the scope check).

(No `from __future__ import annotations` here: `list_route` builds its endpoint's annotations at run time.)
"""
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict

from services import api_reads, db
from services.api_clients import Caller

from .auth import scope
from .problems import ApiProblem, ProblemRoute

PREFIX = '/api/v1'
T = TypeVar('T')
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
UpdatedSince = Annotated[datetime | None, Query(description='Only what changed at or after this time (ISO 8601)')]
CursorQ = Annotated[str | None, Query(max_length=100, description='next_cursor of the previous page')]
LimitQ = Annotated[int, Query(ge=1, le=api_reads.MAX_LIMIT)]


def resource_router() -> APIRouter:
    """The router of one resource module, already under /api/v1 (v1.py takes its routes as they are: each route
    keeps its full path, which the audit records, and FastAPI's lazily included routers are not needed)."""
    return APIRouter(prefix=PREFIX, route_class=ProblemRoute, tags=['v1'])


def call(fn: Any, caller: Caller, **kwargs: Any) -> Any:
    """A service in its own transaction with the client as the actor (endpoints run in the thread pool)."""
    return db.run(fn, actor=caller.actor, **kwargs)


def since(value: datetime | None) -> datetime | None:
    """`updated_since`, which must name its time zone."""
    if value is not None and value.tzinfo is None:
        raise ApiProblem('validation-error', 'updated_since needs a time zone, e.g. 2026-11-27T10:00:00Z.',
                         errors=[{'field': 'updated_since', 'message': 'a time zone is required'}])
    return value


class Strict(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra='forbid', str_max_length=500_000)


class Page(BaseModel, Generic[T]):
    """One page of a list: poll again with `next_cursor` (it stays put when nothing is new)."""

    items: list[T]
    next_cursor: str
    has_more: bool


def page(items: list[Any], after_id: int, limit: int) -> dict[str, Any]:
    """The answer for one page of rows read after `after_id`."""
    last = items[-1].id if items else after_id
    return {'items': items, 'next_cursor': api_reads.encode_cursor(last), 'has_more': len(items) == limit}


def _no_filters() -> dict[str, Any]:
    return {}


def list_route(router: APIRouter, path: str, needed: str, service: Callable[..., list[Any]], model: Any, *,
               name: str, summary: str, filters: Callable[..., dict[str, Any]] = _no_filters) -> None:
    """Add `GET path`: one page of `service(after_id, updated_since, limit, **filters)` as `Page[model]`, for a
    client with the scope `needed`. `filters` is a dependency returning the list's own query parameters."""

    def endpoint(caller: Annotated[Caller, Depends(scope(needed))],
                 extra: Annotated[dict[str, Any], Depends(filters)], cursor: CursorQ = None,
                 updated_since: UpdatedSince = None, limit: LimitQ = 50) -> Any:
        after = api_reads.decode_cursor(cursor)
        rows = call(service, caller, after_id=after, updated_since=since(updated_since), limit=limit, **extra)
        return page(rows, after, limit)

    router.add_api_route(path, endpoint, methods=['GET'], response_model=Page[model], summary=summary, name=name)


def as_json(values: dict[str, Any]) -> dict[str, Any]:
    """A dict of service values as JSON types (dates as ISO 8601), for answers built by hand."""
    return json.loads(json.dumps(values, default=lambda v: v.isoformat() if isinstance(v, (date, datetime)) else
                                 str(v)))
