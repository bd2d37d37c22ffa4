"""The periodic jobs of the portal, registered with the scheduler in one place."""
from __future__ import annotations

from . import (api_reads, audit_anchor, files, idempotency, notifications, outbox, registration, scheduler, sharing,
               staff_alerts, webhooks)


def register_all() -> None:
    """Register every periodic job (idempotent)."""
    scheduler.register('outbox', outbox.process_outbox, seconds=10)
    scheduler.on_stop(outbox.release_own_claims)  # a clean stop gives claimed emails back at once
    # each tick claims its rows in the database, so ticking often is cheap and safe with several processes
    scheduler.register('unread_reminders', notifications.send_unread_reminders, seconds=600)
    scheduler.register('code_expiry_reminders', notifications.send_code_expiry_reminders, seconds=600)
    # shares past their expiry date become 'expired' (claimed like the others); the contact hears N days before
    scheduler.register('share_expiry', sharing.expire_shares, seconds=60)
    scheduler.register('share_expiry_notices', notifications.send_share_expiry_notices, seconds=600)
    # each staff account's alerts: at once, or its digest when due (services/staff_alerts.py)
    scheduler.register('staff_alerts', staff_alerts.send_staff_alerts, seconds=30)
    scheduler.register('registration_purge', registration.purge_job, seconds=600)
    scheduler.register('receipt_cleanup', idempotency.cleanup_job, seconds=3600)
    # stored files without a row (a crash between writing and committing) after an hour; `.tmp` files at start
    scheduler.register('file_sweeper', files.sweep_job, seconds=3600, at_start=True)
    # anchors the audit chain's head outside the database when due (every N events / M minutes; daily email)
    scheduler.register('audit_anchor', audit_anchor.anchor_job, seconds=30)
    scheduler.register('webhooks', webhooks.run_job, seconds=2)  # EHR webhooks: queued from the audit log, retried
    scheduler.register('api_results_cleanup', api_reads.forget_old_results, seconds=3600)
