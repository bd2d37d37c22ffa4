"""Contacts (`/staff/contacts`) and a contact chart (`/staff/contacts/{id}`): received documents, the portal
account's state, every email sent to the contact, activation codes with "Send a new code", rescind."""
from __future__ import annotations

from nicegui import ui

from models.shapes import Actor
from services import contacts

from .. import access, actions, frame
from ..portal import Page, portal_page
from .widgets import (RECEIPT_COLUMNS, SHARE_ACTIONS_CELL, PagedTable, col, contact_form, details, expiry_dialog,
                      heading, open_record, receipt_cells, rescind_dialog, when)

LIST_COLUMNS = [col('name', 'Name'), col('email', 'Email'), col('organization', 'Organization'),
                col('account', 'Portal account')]
RECEIVED_COLUMNS = [col('id', 'ID'), col('service_date', 'Serv date'), col('doc_type', 'Type'),
                    col('subject', 'Subject'), col('by', 'By'), col('service_location', 'Service location'),
                    col('sent_at', 'Sent')] + RECEIPT_COLUMNS + [col('actions', '')]
EMAIL_COLUMNS = [col('id', 'ID'), col('created', 'Queued'), col('kind', 'Email'), col('subject', 'Subject'),
                 col('to', 'To'), col('status', 'Status'), col('sent', 'Sent'), col('error', 'Last error')]
CODE_COLUMNS = [col('id', 'ID'), col('created', 'Created'), col('expires', 'Expires'), col('state', 'State')]


@portal_page('/staff/contacts', roles=access.STAFF, title='Contacts')
async def contacts_page(page: Page) -> None:
    """Search contacts as you type; add a contact."""
    frame.heading('Contacts').classes('text-2xl font-bold').mark('contacts-title')
    search = ui.input('Search contacts: name, email or organization') \
        .props('clearable debounce=300 outlined').classes('w-full').mark('contact-search')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(contacts.search_contacts, actor=actor, query=search.value or '',
                                        offset=offset, limit=limit)
        return [{'id': r.id, 'url': f'/staff/contacts/{r.id}', 'name': r.name, 'email': r.email,
                 'organization': r.organization, 'account': 'yes' if r.has_account else 'not yet'}
                for r in rows], total

    table = PagedTable(LIST_COLUMNS, fetch, mark='contacts', link=('name', 'url'),
                       on_click=lambda row: ui.navigate.to(row['url']))
    search.on_value_change(lambda: table.load(1))
    with ui.expansion('Add a contact', icon='person_add').classes('w-full').mark('add-contact'):
        contact_form()  # opens the new contact's chart
    table.start()


@portal_page('/staff/contacts/{contact_id}', roles=access.STAFF, title='Contact')
async def contact_chart_page(page: Page, contact_id: int) -> None:
    """Everything sent to one contact, and its portal account."""
    if (chart := await open_record(page, contacts.contact_chart, contact_id=contact_id)) is None:
        return
    contact = chart.contact
    heading(page, f'Contact chart: {contact.name}', 'contact-name', ('Contacts', '/staff/contacts'), tab=contact.name)
    account = chart.account
    details([('Email', contact.email, 'contact-email-value'), ('Organization', contact.organization, None),
             ('Phone', contact.phone, None), ('Portal account', account.state, 'account-state'),
             ('Username', account.username, None), ('Last sign-in', when(account.last_sign_in_at), None)])
    _received(contact_id)
    _codes(contact_id, chart)
    _emails(contact_id)


def _received(contact_id: int) -> None:
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
    table = PagedTable(RECEIVED_COLUMNS, fetch, mark='received', link=('subject', 'url'), selection='multiple')

    async def reload() -> None:
        table.table.selected.clear()
        await table.load(table.page)

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
    table.start()


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


def _emails(contact_id: int) -> None:
    frame.heading('Emails sent to this contact', 2).classes('text-lg font-bold')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(contacts.contact_emails, actor=actor, contact_id=contact_id,
                                        offset=offset, limit=limit)
        return [{'id': e.id, 'created': when(e.created_at), 'kind': e.kind.replace('_', ' '), 'subject': e.subject,
                 'to': e.to_address, 'status': e.status, 'sent': when(e.sent_at), 'error': (e.last_error or '')[:120]}
                for e in rows], total

    PagedTable(EMAIL_COLUMNS, fetch, mark='emails').start()
