"""`/healthz` (the process is up), `/readyz` (it can serve) and `/metrics` (Prometheus, allowed addresses only).

None needs a sign-in and none tells why: a load balancer or orchestrator reads the status code, an operator
reads the log (services.health logs what is wrong). Sync routes: FastAPI runs them in a thread.
"""
from __future__ import annotations

import ipaddress

from fastapi import Request, Response
from nicegui import Client

from services import health, metrics
from services.config import get_config

from ..portal import public_endpoint

NO_STORE = {'Cache-Control': 'no-store'}


@public_endpoint('/healthz')
def healthz() -> Response:
    """200 while the process answers."""
    return Response('ok\n', media_type='text/plain', headers=NO_STORE)


@public_endpoint('/readyz')
def readyz() -> Response:
    """200 when the database answers, migrations are current, the scheduler runs and the outbox is not paused;
    503 otherwise, without saying which."""
    if health.ready():
        return Response('ready\n', media_type='text/plain', headers=NO_STORE)
    return Response('not ready\n', status_code=503, media_type='text/plain', headers=NO_STORE)


@public_endpoint('/metrics')
def metrics_route(request: Request) -> Response:
    """The metrics in Prometheus format for SMP_METRICS_ALLOW's addresses; 404 for everyone else."""
    if not _allowed(request.client.host if request.client else None):
        return Response('Not Found', status_code=404, media_type='text/plain', headers=NO_STORE)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE, headers=NO_STORE)


def _allowed(host: str | None) -> bool:
    try:
        address = ipaddress.ip_address(host or '')
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in get_config().metrics_networks)


metrics.count_connected(lambda: sum(1 for client in list(Client.instances.values()) if client.has_socket_connection))
