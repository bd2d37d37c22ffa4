"""Contacts (`/staff/contacts`) and a contact chart (`/staff/contacts/{id}`): received documents, the portal
account's state, every email sent to the contact, activation codes with "Send a new code", rescind."""
from __future__ import annotations

from nicegui import ui

from models.shapes import Actor
from services import contacts

from .. import access, actions, frame
from ..portal import Page, portal_page
from .widgets import (RECEIPT_COLUMNS, SHARE_ACTIONS_CELL, PagedTable, col, contact_form, details, expiry_dialog,
                      heading, open_record, receipt_cells, rescind_dialog, use_zone, when)

LIST_COLUMNS = [col('name', 'Name', key=True), col('email', 'Email'), col('organization', 'Organization'),
                col('account', 'Portal account', key=True)]
RECEIVED_COLUMNS = [col('id', 'ID'), col('service_date', 'Serv date'), col('doc_type', 'Type'),
                    col('subject', 'Subject', key=True), col('by', 'By'), col('service_location', 'Service location'),
                    col('sent_at', 'Sent')] + RECEIPT_COLUMNS + [col('actions', '', key=True)]
EMAIL_COLUMNS = [col('id', 'ID'), col('created', 'Queued'), col('kind', 'Email'), col('subject', 'Subject', key=True),
                 col('to', 'To'), col('status', 'Status', key=True), col('sent', 'Sent'), col('error', 'Last error')]
REPLY_COLUMNS = [col('created', 'Replied'), col('document', 'To document'), col('excerpt', 'Reply', key=True),
                 col('attachments', 'Attachments', number=True), col('status', 'Status', key=True)]
CODE_COLUMNS = [col('id', 'ID'), col('created', 'Created'), col('expires', 'Expires', key=True), col('state', 'State', key=True)]


@portal_page('/staff/contacts', roles=access.STAFF, title='Contacts')
async def contacts_page(page: Page) -> None:
    """Search contacts as you type; add a contact."""
    use_zone(page.settings)
    frame.heading('Contacts').classes('text-2xl font-bold').mark('contacts-title')
    search = ui.input('Search contacts: name, email or organization') \
        .props('clearable debounce=300 outlined').classes('w-full').mark('contact-search')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(contacts.search_contacts, actor=actor, query=search.value or '',
                                        offset=offset, limit=limit)
        return [{'id': r.id, 'url': f'/staff/contacts/{r.id}', 'name': r.name, 'email': r.email,
                 'organization': r.organization, 'account': 'yes' if r.has_account else 'not yet'}
                for r in rows], total

    table = await PagedTable.create(LIST_COLUMNS, fetch, actor=page.signed_in, mark='contacts',
                                    link=('name', 'url'), on_click=lambda row: ui.navigate.to(row['url']),
                                    empty='No contact found.')
    search.on_value_change(lambda: table.load(1))
    with ui.expansion('Add a contact', icon='person_add').classes('w-full').mark('add-contact'):
        contact_form()  # opens the new contact's chart


@portal_page('/staff/contacts/{contact_id}', roles=access.STAFF, title='Contact')
async def contact_chart_page(page: Page, contact_id: int, resend: int = 0) -> None:
    """Everything sent to one contact and everything it wrote, its portal account, and the clinic's notes."""
    use_zone(page.settings)
    if (chart := await open_record(page, contacts.contact_chart, contact_id=contact_id)) is None:
        return
    contact = chart.contact
    with heading(page, f'Contact chart: {contact.name}', 'contact-name', ('Contacts', '/staff/contacts'),
                 tab=contact.name):
        ui.space()
        edit = _edit_dialog(contact)
        ui.button('Edit contact', icon='edit', on_click=edit.open).props('outline').mark('edit-contact')
    if resend and any(code.pending for code in chart.codes):
        _offer_new_code(contact)
    account = chart.account
    details([('Email', contact.email, 'contact-email-value'), ('Organization', contact.organization, None),
             ('Phone', contact.phone, None), ('Portal account', account.state, 'account-state'),
             ('Username', account.username, None), ('Last sign-in', when(account.last_sign_in_at), None)])
    notes = await access.call(contacts.contact_notes, actor=page.signed_in, contact_id=contact_id)
    _notes(contact_id, notes)
    await _received(page, contact_id)
    await _replies(page, contact_id)
    _codes(contact_id, chart)
    await _emails(page, contact_id)


def _edit_dialog(contact: contacts.ContactRow) -> ui.dialog:
    """Correct the name, email, phone or organization (audited)."""
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg gap-2').mark('edit-contact-dialog'):
        ui.label('Edit contact').classes('text-lg font-bold')
        with ui.row().classes('w-full no-wrap gap-2'):
            first = ui.input('First name', value=contact.first_name).classes('grow').mark('edit-first')
            last = ui.input('Last name', value=contact.last_name).classes('grow').mark('edit-last')
        email = ui.input('Email', value=contact.email).classes('w-full').mark('edit-email')
        phone = ui.input('Phone (optional)', value=contact.phone).classes('w-full').mark('edit-phone')
        org = ui.input('Organization (optional)', value=contact.organization).classes('w-full').mark('edit-org')
        error = actions.Message('edit-contact-error')

        async def save(act: actions.Act) -> None:
            saved = await act.call(contacts.edit_contact, contact_id=contact.id, first_name=first.value,
                                   last_name=last.value, email=email.value, phone=phone.value,
                                   organization=org.value)
            here = f'/staff/contacts/{contact.id}'
            if not saved.changed:
                act.done('Nothing changed.')
                return
            act.done('Contact saved.', navigate=here + ('?resend=1' if saved.code_to_resend else ''))

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            actions.button('Save contact', save, message=error).mark('save-contact')
    return dialog


def _offer_new_code(contact: contacts.ContactRow) -> None:
    """After an email change: the unused code went to the old address; offer a new one to the new address."""
    with ui.card().classes('w-full bg-orange-1').mark('offer-new-code'):
        ui.label(f'The unused activation code was sent to the old address. Send a new code to {contact.email}? '
                 'The old code stops working.')

        async def resend(act: actions.Act) -> None:
            await act.call(contacts.send_new_code, contact_id=contact.id)
            act.done(f'A new code was sent to {contact.email}.', navigate=f'/staff/contacts/{contact.id}')

        actions.button('Send a new code to the new address', resend, icon='key').mark('resend-code')


def _notes(contact_id: int, notes: str) -> None:
    with ui.expansion('Clinic notes (staff only)', icon='sticky_note_2', value=bool(notes)).classes('w-full') \
            .mark('contact-notes'):
        text = ui.textarea('Notes about this contact: only the clinic sees them', value=notes) \
            .props('outlined').classes('w-full').mark('notes-text')
        text.props['maxlength'] = contacts.NOTES_MAX
        message = actions.Message('notes-message')

        async def save(act: actions.Act) -> None:
            await act.call(contacts.save_contact_notes, contact_id=contact_id, notes=text.value or '')
            act.done('Notes saved.')

        actions.button('Save notes', save, message=message).props('outline').mark('save-notes')


async def _replies(page: Page, contact_id: int) -> None:
    ui.label('Replies from this contact').classes('text-lg font-bold')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(contacts.contact_replies, actor=actor, contact_id=contact_id,
                                        offset=offset, limit=limit)
        return [{'id': r.id, 'url': f'/staff/reply/{r.id}', 'created': when(r.created_at),
                 'document': r.document_title, 'excerpt': r.excerpt, 'attachments': r.attachments,
                 'status': r.status} for r in rows], total

    await PagedTable.create(REPLY_COLUMNS, fetch, actor=page.signed_in, mark='contact-replies',
                            link=('excerpt', 'url'), empty='No replies yet.',
                            on_click=lambda row: ui.navigate.to(row['url']))


async def _received(page: Page, contact_id: int) -> None:
    with ui.row().classes('w-full items-center'):
        frame.heading('Received documents', 2).classes('text-lg font-bold')
        ui.space()
        withdraw = ui.button('Rescind selected', icon='block').props('outline color=negative') \
            .mark('rescind-selected')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(contacts.received_documents, actor=actor, contact_id=contact_id,
                                        offset=offset, limit=limit)
        return [{'id': d.id, 'share_id': d.share_id, 'url': f'/staff/document/{d.id}',
                 'service_date': str(d.service_date), 'doc_type': d.doc_type, 'subject': d.subject, 'by': d.by,
                 'service_location': d.service_location, 'sent_at': when(d.sent_at), 'read': d.read,
                 **receipt_cells(d.receipt), 'rescinded': d.rescinded} for d in rows], total

    outcome = actions.Message('rescind-outcome')
    table = await PagedTable.create(RECEIVED_COLUMNS, fetch, actor=page.signed_in, mark='received',
                                    link=('subject', 'url'), selection='multiple', empty='Nothing sent yet.')

    async def reload() -> None:
        table.table.selected.clear()
        await table.reload()

    table.table.add_slot('body-cell-actions', SHARE_ACTIONS_CELL)
    table.table.on('rescind', lambda e: rescind_dialog(e.args['share_id'], f'document {e.args["id"]}',
                                                       outcome=outcome, on_done=reload).open())
    table.table.on('expiry', lambda e: expiry_dialog(e.args['share_id'], f'document {e.args["id"]}',
                                                     e.args['expires_on'], outcome=outcome, on_done=reload).open())

    def withdraw_selected() -> None:
        ids = [row['share_id'] for row in table.table.selected if row.get('active') and row.get('share_id')]
        if not ids:
            outcome.error('Select the documents to rescind first.')
            return
        outcome.clear()
        rescind_dialog(ids, f'{len(ids)} document{"s" if len(ids) != 1 else ""}', outcome=outcome,
                       on_done=reload).open()

    withdraw.on_click(withdraw_selected)


def _codes(contact_id: int, chart: contacts.ContactChart) -> None:
    with ui.row().classes('w-full items-center'):
        frame.heading('Activation codes', 2).classes('text-lg font-bold')
        ui.space()

        async def new_code(act: actions.Act) -> None:
            await act.call(contacts.send_new_code, contact_id=contact_id)
            act.done('A new code was sent; older unused codes no longer work.',
                     navigate=f'/staff/contacts/{contact_id}')

        actions.button('Send a new code', new_code, icon='key').props('outline').mark('send-new-code')
    if not chart.codes:
        ui.label('No activation codes.').classes('text-grey-7')
        return
    ui.table(columns=CODE_COLUMNS, row_key='id', rows=[
        {'id': c.id, 'created': when(c.created_at), 'expires': when(c.expires_at), 'state': c.state}
        for c in chart.codes]).classes('w-full').props('flat bordered').mark('codes')


async def _emails(page: Page, contact_id: int) -> None:
    frame.heading('Emails sent to this contact', 2).classes('text-lg font-bold')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(contacts.contact_emails, actor=actor, contact_id=contact_id,
                                        offset=offset, limit=limit)
        return [{'id': e.id, 'created': when(e.created_at), 'kind': e.kind.replace('_', ' '), 'subject': e.subject,
                 'to': e.to_address, 'status': e.status, 'sent': when(e.sent_at), 'error': (e.last_error or '')[:120]}
                for e in rows], total

    await PagedTable.create(EMAIL_COLUMNS, fetch, actor=page.signed_in, mark='emails', empty='No emails yet.')
