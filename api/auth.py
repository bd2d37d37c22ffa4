"""Bearer authentication, the allowed-address check, scopes and the per-client rate limit of the API (counted in
the database, so several portal processes share it)."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services import api_clients, db

from .problems import ApiProblem

bearer = HTTPBearer(auto_error=False, description='The API client\'s secret (admin page "API and webhooks").')
UNKNOWN_PER_MINUTE = 30  # calls without a valid secret, per address


class RateLimiter:
    """A one-minute window per key, counted in the database (a throttle row per key): every process shares it."""

    def check(self, key: str, per_minute: int) -> float | None:
        """Count a call; None when allowed, else the seconds until the next call is."""
        return db.run(api_clients.count_call, key=key, per_minute=per_minute)

    def reset(self) -> None:
        db.run(api_clients.forget_call_counts)


limiter = RateLimiter()


def _limit(key: str, per_minute: int) -> None:
    wait = limiter.check(key, per_minute)
    if wait is not None:
        raise ApiProblem('rate-limited', f'At most {per_minute} requests per minute.',
                         headers={'retry-after': str(max(1, math.ceil(wait)))})


def authenticated(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> api_clients.Caller:
    """The calling client (runs in the thread pool): 401 for a missing, wrong, revoked or expired secret."""
    ip = request.client.host if request.client else None
    secret = credentials.credentials if credentials and credentials.scheme.lower() == 'bearer' else ''
    try:
        caller = db.run(api_clients.authenticate, secret=secret, ip_address=ip)
    except api_clients.NotAuthenticated:
        _limit(f'ip:{ip}', UNKNOWN_PER_MINUTE)
        raise ApiProblem('unauthorized', 'Send a valid API secret as "Authorization: Bearer <secret>".') from None
    except api_clients.AddressRefused as refused:
        request.state.api_caller = refused.caller
        raise ApiProblem('address-not-allowed', 'This client may not call from this address.') from None
    request.state.api_caller = caller
    _limit(f'client:{caller.actor.api_client_id}', caller.rate_per_minute)
    return caller


def scope(name: str) -> Callable[..., api_clients.Caller]:
    """A dependency: the authenticated client, refused (403) without scope `name`."""
    if name not in api_clients.SCOPES:
        raise ValueError(f'unknown scope {name}')

    def check(caller: Annotated[api_clients.Caller, Depends(authenticated)]) -> api_clients.Caller:
        if name not in caller.actor.scopes:
            raise ApiProblem('insufficient-scope', f'This endpoint needs the scope {name}.', scope=name)
        return caller

    check.required_scope = name  # type: ignore[attr-defined]  (the scope × endpoint test reads it)
    return check
