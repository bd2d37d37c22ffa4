"""Seed data for the portal tests and benchmark: contacts with accounts, shares (real service or bulk)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from models import RECEIVED_DOCUMENT, Contact, Document, Share
from services import clock, files, settings
from tests import factories
from tests.factories import MINIMAL_PDF

# a Windows executable's first bytes: what a "report.pdf" that is really a program starts with
EXE = b'MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff' + b'\x00' * 64 + b'This program cannot be run in DOS mode.'
TYPES = ('Work Status Report', 'Return to Work', 'Physician Note', 'Lab Result')


@dataclass(frozen=True)
class Person:
    """A contact with its portal account and the ids of the shares it got."""

    contact_id: int
    account_id: int
    email: str
    share_ids: list[int]


def person(session: Session, *, email: str, shares: int = 0, **document_fields) -> Person:
    """A contact holding a portal account, with `shares` documents sent through the real sharing service."""
    contact = factories.contact(session, email=email)
    account = factories.contact_account(session, contact)
    sender = factories.account(session, role='staff', name='Dr. Jane Smith')
    ids = [factories.share(session, contact_row=contact, sender=sender, title=f'Document {n + 1}',
                           **document_fields).share_id for n in range(shares)]
    return Person(contact_id=contact.id, account_id=account.id, email=contact.email, share_ids=ids)


def pdf_person(session: Session, *, email: str) -> Person:
    """A contact whose one share is a PDF document."""
    who = person(session, email=email)
    sender = factories.account(session, role='staff', name='Dr. Jane Smith')
    stored = files.store(session, MINIMAL_PDF, 'scan.pdf', max_bytes=10 * 1024 * 1024)
    share_id = factories.share(session, contact_row=session.get(Contact, who.contact_id), sender=sender, body_html=None,
                               file_id=stored.id, file_name='scan.pdf', title='Scanned note').share_id
    return Person(who.contact_id, who.account_id, who.email, [share_id])


def bulk_shares(session: Session, *, contact_id: int, count: int, prefix: str = 'Bulk') -> None:
    """`count` shares for a contact by bulk INSERTs (two statements), each with its own contact-chart copy.

    Titles are '<prefix> 00001'... ; regarding names cycle through 'Patient 000'...'Patient 099'.
    """
    chart = factories.chart(session, first='Bulk', last='Patient')
    source = factories.document(session, chart_row=chart)
    now = clock.now()
    first_date = date(2020, 1, 1)
    docs = [{'contact_id': contact_id, 'source_document_id': source.id, 'service_date': first_date + timedelta(days=n),
             'doc_type': RECEIVED_DOCUMENT, 'title': f'{prefix} {n + 1:05d}', 'author_name': 'Dr. Bulk',
             'body_text': f'Body of {prefix} {n + 1}', 'created_at': now} for n in range(count)]
    result = session.execute(sa.insert(Document).returning(Document.id, Document.title), docs)
    doc_ids = {title: doc_id for doc_id, title in result.all()}
    shares = [{'contact_id': contact_id, 'document_id': doc_ids[d['title']], 'source_document_id': source.id,
               'chart_id': chart.id, 'service_date': d['service_date'], 'regarding': f'Patient {n % 100:03d}',
               'by_name': f'Dr. Author {n % 7}', 'doc_type': TYPES[n % len(TYPES)], 'title': d['title'],
               'sent_at': now, 'replies_allowed': True, 'reply_count': 0, 'unread_reminders_sent': 0}
              for n, d in enumerate(docs)]
    session.execute(sa.insert(Share), shares)
    session.flush()


def enable(session: Session, **changes) -> None:
    """Change admin settings (e.g. replies_enabled=True) and drop the settings cache."""
    settings.save_settings(session, changes=changes, account_id=None)
    settings.invalidate_cache()


async def sign_in_contact(user, email: str) -> None:
    """Sign in through the real page and wait for the main screen (argon2 runs in a thread)."""
    from tests.portal import sign_in
    await sign_in(user, email)
    await user.should_see(marker='logout', retries=100)
