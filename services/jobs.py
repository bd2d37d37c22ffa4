"""The periodic jobs of the portal, registered with the scheduler in one place."""
from __future__ import annotations

from . import outbox, registration, scheduler


def register_all() -> None:
    """Register every periodic job (idempotent)."""
    scheduler.register('outbox', outbox.process_outbox, seconds=10)
    scheduler.register('registration_purge', registration.purge_job, seconds=600)
