"""Plain data shapes handed from services to pages (no table rows leave the service layer)."""
from __future__ import annotations

from dataclasses import dataclass, field


API_ROLE = 'api'


@dataclass(frozen=True)
class Actor:
    """Who is acting: the signed-in account (or nobody) and the client's address."""

    account_id: int | None = None
    username: str = ''
    role: str = 'anonymous'
    display_name: str = ''
    ip_address: str | None = None
    contact_ids: tuple[int, ...] = field(default=())
    api_client_id: int | None = None  # role 'api': an EHR integration (api/), staff rights narrowed by its scopes
    scopes: frozenset[str] = field(default=frozenset())

    @property
    def is_staff(self) -> bool:
        return self.role in ('staff', 'admin', API_ROLE)

    @property
    def is_admin(self) -> bool:
        return self.role == 'admin'


ANONYMOUS = Actor()
