"""`/api/v1`: the clinic's EHR pushes charts, documents, contacts and shares in, and pulls replies, receipts and
registrations out. One module per resource (api/charts.py, documents, contacts, shares, replies, registrations)
holds its routes; this router includes them under the prefix and answers anything else with a problem+json 404.
Every endpoint names its scope; the services do the work (and audit it) with the client as the actor; lists are
written with `common.list_route` (cursor, `updated_since`, limit).
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from . import charts, contacts, documents, registrations, replies, shares
from .common import PREFIX
from .problems import ApiProblem, ProblemRoute

router = APIRouter(prefix=PREFIX, route_class=ProblemRoute, tags=['v1'])
for resource in (charts, documents, contacts, shares, replies, registrations):
    router.routes.extend(resource.router.routes)  # (their paths already start with PREFIX)


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
