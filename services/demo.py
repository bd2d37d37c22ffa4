"""`python main.py demo`: a small demo clinic (charts with HTML and PDF documents, a staff user, contacts, shares)."""
from __future__ import annotations

import secrets
from datetime import date

from sqlmodel import Session, select

from models import Account, AccountContact, Reply, Share
from models.shapes import Actor

from . import auth, charts, contacts, db, documents, passwords, sharing
from .errors import PortalError

STAFF_EMAIL = 'demo.staff@clinic.example'
CONTACT_EMAIL = 'demo.adjuster@insurer.example'
CHARTS = [
    ('Pat', 'Lee', '1980-05-17', 'EMP-1001', 'Northwind Logistics'),
    ('Maria', 'Garcia', '1972-11-02', 'EMP-1002', 'Contoso Foods'),
    ('Wei', 'Chen', '1991-03-28', 'EMP-1003', 'Northwind Logistics'),
]
CONTACTS = [
    ('Alex', 'Adjuster', CONTACT_EMAIL, 'Fabrikam Insurance'),
    ('Erin', 'Employer', 'demo.hr@northwind.example', 'Northwind Logistics'),
    ('Sam', 'Physician', 'demo.physician@clinic-partners.example', 'Partner Orthopedics'),
]


def load_demo() -> str:
    """Load the demo clinic once; return what was created (with the demo password) or why nothing was."""
    with db.transaction() as session:
        if session.exec(select(Account.id).where(Account.username == STAFF_EMAIL)).first():
            return f'The demo clinic is already loaded (staff sign-in: {STAFF_EMAIL}). Nothing was changed.'
    password = '-'.join(secrets.token_urlsafe(6) for _ in range(3))
    # blocking (argon2): this is the command line
    password_hash = passwords.accept_new_password(password, password, username=STAFF_EMAIL, email=STAFF_EMAIL)
    try:
        counts = _load(password_hash)
    except PortalError as problem:
        return f'The demo clinic was not loaded (nothing was changed): {problem}'
    return '\n'.join([
        f'Demo clinic loaded: {counts[0]} charts, {counts[1]} documents, {counts[2]} contacts.',
        f'Staff sign-in:   {STAFF_EMAIL}',
        f'Contact sign-in: {CONTACT_EMAIL}',
        f'Password (both): {password}',
        'Invitations for the other contacts wait in the outbox (Admin > Outbox).',
    ])


def _load(password_hash: str) -> tuple[int, int, int]:
    with db.transaction() as session:
        staff = auth.create_account(session, email=STAFF_EMAIL, password_hash=password_hash, role='staff',
                                    display_name='Dr. Demo Staff')
        actor = auth.account_actor(session, staff)
        chart_ids, document_ids = _charts_and_documents(session, actor)
        contact_ids = [contacts.add_contact(session, actor=actor, first_name=f, last_name=l, email=e,
                                            organization=o).id for f, l, e, o in CONTACTS]
        holder = auth.create_account(session, email=CONTACT_EMAIL, password_hash=password_hash, role='contact',
                                     display_name='Alex Adjuster')
        session.add(AccountContact(account_id=holder.id, contact_id=contact_ids[0]))
        session.flush()
        results = sharing.send_documents(session, document_ids=document_ids[:2], contact_ids=contact_ids[:2],
                                         actor=actor)
        sharing.send_documents(session, document_ids=[document_ids[2]], contact_ids=[contact_ids[2]], actor=actor)
        _reply(session, results[0].share_id, holder.id)
        return len(chart_ids), len(document_ids), len(contact_ids)


def _charts_and_documents(session: Session, actor: Actor) -> tuple[list[int], list[int]]:
    chart_ids, document_ids = [], []
    for first, last, born, external, employer in CHARTS:
        chart_ids.append(charts.save_chart(session, actor=actor, first_name=first, last_name=last,
                                           date_of_birth=born, external_id=external, employer=employer))
    document_ids.append(documents.create_document(
        session, actor=actor, chart_id=chart_ids[0], service_date=date(2026, 11, 2), doc_type='Work Status Report',
        title='Work status after wrist sprain', service_location='Main clinic',
        body='<h3>Work status</h3><p>Fit for <b>modified duty</b> from 3 Nov 2026.</p>'
             '<ul><li>No lifting over 5 kg with the left hand</li><li>Review in two weeks</li></ul>'))
    document_ids.append(documents.create_document(
        session, actor=actor, chart_id=chart_ids[0], service_date=date(2026, 11, 2), doc_type='Lab Result',
        title='X-ray report, left wrist', service_location='Imaging', body_kind='file',
        file_data=demo_pdf('X-ray left wrist: no fracture seen.'), file_name='xray-report.pdf'))
    document_ids.append(documents.create_document(
        session, actor=actor, chart_id=chart_ids[1], service_date=date(2026, 10, 20), doc_type='Return to Work',
        title='Return to full duty', service_location='Main clinic', body_kind='text',
        body='Cleared to return to full duty on 27 Oct 2026.\nNo restrictions.'))
    return chart_ids, document_ids


def _reply(session: Session, share_id: int, account_id: int) -> None:
    """One reply, so the SMP worklist has something to work."""
    share = session.get(Share, share_id)
    reply = Reply(share_id=share_id, account_id=account_id, author_name='Alex Adjuster',
                  body='Thank you. Please send the follow-up note after the review in two weeks.')
    session.add(reply)
    share.reply_count += 1
    share.last_reply_at = reply.created_at
    share.first_read_at = share.last_read_at = reply.created_at  # the contact read it before replying
    session.add(share)
    session.flush()


def demo_pdf(text: str) -> bytes:
    """A small valid one-page PDF showing `text` (ASCII)."""
    safe = ''.join(ch for ch in text if 32 <= ord(ch) < 127).replace('\\', '').replace('(', '').replace(')', '')
    stream = f'BT /F1 14 Tf 40 740 Td ({safe}) Tj ET'.encode()
    objects = [
        b'<< /Type /Catalog /Pages 2 0 R >>',
        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R '
        b'/Resources << /Font << /F1 5 0 R >> >> >>',
        b'<< /Length %d >>\nstream\n' % len(stream) + stream + b'\nendstream',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    ]
    out = bytearray(b'%PDF-1.4\n')
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b'%d 0 obj\n' % number + body + b'\nendobj\n'
    xref = len(out)
    out += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objects) + 1)
    out += b''.join(b'%010d 00000 n \n' % offset for offset in offsets)
    out += b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' % (len(objects) + 1, xref)
    return bytes(out)
