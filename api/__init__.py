"""The EHR integration API (`/api/v1`): FastAPI routes on NiceGUI's app, outside the page registry.

`register(app)` adds the router and, unless switched off (SMP_API_DOCS=false), the OpenAPI document at
/api/v1/openapi.json and interactive docs at /api/v1/docs. `declared_paths()` lists what it serves, for the
route registry test.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse

from services.config import get_config

from .v1 import router

VERSION = '1.0'
OPENAPI_PATH = f'{router.prefix}/openapi.json'
DOCS_PATH = f'{router.prefix}/docs'
# Swagger UI comes from its CDN: only this page may load it (every other page keeps the portal's CSP)
DOCS_CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of /api/v1 only (the portal's pages are not an API)."""
    return get_openapi(title='Secure Message Portal API', version=VERSION, routes=router.routes,
                       description='Push charts, documents, contacts and shares in; pull replies, receipts and '
                                   'registrations out. Authenticate with "Authorization: Bearer <secret>". '
                                   'Errors are RFC 9457 problem+json.')


async def _openapi() -> JSONResponse:
    return JSONResponse(openapi_document())


async def _docs() -> HTMLResponse:
    page = get_swagger_ui_html(openapi_url=OPENAPI_PATH, title='Secure Message Portal API')
    page.headers['content-security-policy'] = DOCS_CSP
    return page


def register(app: FastAPI) -> None:
    """Add the API routes to the app (again after NiceGUI's test runner cleared them)."""
    served = {getattr(r, 'path', None) for r in app.routes}
    if get_config().api_docs and OPENAPI_PATH not in served:  # (before the router: its last route catches the rest)
        app.add_api_route(OPENAPI_PATH, _openapi, include_in_schema=False, methods=['GET'])
        app.add_api_route(DOCS_PATH, _docs, include_in_schema=False, methods=['GET'])
    if not any(r is router or getattr(r, 'original_router', None) is router for r in app.routes):
        app.include_router(router)


def declared_paths() -> set[str]:
    """Every path the API may serve (its router, the OpenAPI document and the docs)."""
    return {route.path for route in router.routes} | {OPENAPI_PATH, DOCS_PATH}
