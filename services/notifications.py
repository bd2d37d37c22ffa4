"""Emails that tell contacts something is waiting (Reminder to Review), merged within a window."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import Session, select

from models import Contact, OutboxEmail, Share

from . import clock, outbox
from .settings import get_settings


def review_group_key(contact_id: int) -> str:
    return f'review:{contact_id}'


def notify_new_share(session: Session, *, share: Share, contact: Contact) -> OutboxEmail:
    """Queue a Reminder to Review, or add this share to one still waiting in the merge window."""
    settings = get_settings(session)
    key = review_group_key(contact.id)
    waiting = session.exec(
        select(OutboxEmail).where(OutboxEmail.group_key == key, OutboxEmail.status == 'pending',
                                  OutboxEmail.attempts == 0, OutboxEmail.next_attempt_at > clock.now())
        .order_by(OutboxEmail.id.desc())
    ).first()
    if waiting is not None:
        context = json.loads(waiting.context_json)
        context['document_count'] = int(context.get('document_count', 1)) + 1
        outbox.rerender(session, waiting, context)
        return waiting
    return outbox.enqueue(
        session, kind='reminder_to_review', to=contact.email, contact_id=contact.id, group_key=key,
        context={'document_count': 1, 'sign_in_url': f'{settings.public_url}/login'},
        not_before=clock.now() + timedelta(minutes=settings.review_window_minutes),
    )
