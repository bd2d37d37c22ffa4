"""Factories for valid records; each takes an open session and flushes (the caller commits)."""
from __future__ import annotations

import itertools
import json
from datetime import date

from sqlmodel import Session

from models import Account, AccountContact, Chart, Contact, Document, OutboxEmail
from models.shapes import Actor
from services import auth, outbox, passwords, secretbox, sharing

_seq = itertools.count(1)
PASSWORD = 'a long enough passphrase 42'
MINIMAL_PDF = (b'%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n'
               b'3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n')
MINIMAL_PNG = bytes.fromhex('89504e470d0a1a0a0000000d4948445200000001000000010806000000'
                            '1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082')


def account(session: Session, *, role: str = 'staff', email: str | None = None, password: str = PASSWORD,
            name: str | None = None) -> Account:
    n = next(_seq)
    email = email or f'{role}{n}@clinic.test'
    return auth.create_account(session, email=email, password_hash=passwords.hash_password(password), role=role,
                               display_name=name or f'{role.title()} {n}')


def actor_for(session: Session, acct: Account) -> Actor:
    return auth.account_actor(session, acct)


def chart(session: Session, *, first: str = 'Pat', last: str | None = None, **fields) -> Chart:
    row = Chart(first_name=first, last_name=last or f'Doe{next(_seq)}', date_of_birth=date(1980, 5, 17), **fields)
    session.add(row)
    session.flush()
    return row


def document(session: Session, *, chart_row: Chart, author: Account | None = None, title: str = 'Work status',
             doc_type: str = 'Work Status Report', body_html: str | None = '<p>Fit for light duty.</p>',
             service_date: date = date(2026, 11, 2), **fields) -> Document:
    row = Document(chart_id=chart_row.id, service_date=service_date, doc_type=doc_type, title=title,
                   author_account_id=author.id if author else None,
                   author_name=(author.display_name if author else 'Dr. Staff'), body_html=body_html, **fields)
    session.add(row)
    session.flush()
    return row


def contact(session: Session, *, email: str | None = None, first: str = 'Casey', last: str | None = None,
            organization: str | None = 'Acme Insurance') -> Contact:
    n = next(_seq)
    row = Contact(first_name=first, last_name=last or f'Contact{n}', email=(email or f'contact{n}@outside.test').lower(),
                  organization=organization)
    session.add(row)
    session.flush()
    return row


def link(session: Session, acct: Account, contact_row: Contact) -> AccountContact:
    row = AccountContact(account_id=acct.id, contact_id=contact_row.id)
    session.add(row)
    session.flush()
    return row


def contact_account(session: Session, contact_row: Contact, *, password: str = PASSWORD) -> Account:
    """A contact portal account (username = the contact's email) holding `contact_row`."""
    acct = account(session, role='contact', email=contact_row.email, password=password,
                   name=contact_row.display_name)
    link(session, acct, contact_row)
    return acct


def share(session: Session, *, contact_row: Contact, sender: Account | None = None, chart_row: Chart | None = None,
          **document_fields) -> sharing.ShareResult:
    """Share a new document with a contact through the real Send Document service."""
    sender = sender or account(session, role='staff')
    chart_row = chart_row or chart(session)
    doc = document(session, chart_row=chart_row, author=sender, **document_fields)
    return sharing.share_document(session, document_id=doc.id, contact_id=contact_row.id,
                                  actor=actor_for(session, sender))


def code_in(email: OutboxEmail, name: str) -> str:
    """A code an outbox email carries, as its recipient reads it (the outbox keeps codes encrypted)."""
    composed = outbox.compose(email)
    assert composed is not None, 'the email holds no code any more'
    return json.loads(secretbox.decrypt(email.sealed_secrets))[name]
