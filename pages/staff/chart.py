"""A chart (`/staff/chart/{id}`): its documents, edit, new document, batch Send Document;
one document (`/staff/document/{id}`): viewer, Send Document, send history with rescind."""
from __future__ import annotations

from datetime import date

from nicegui import html, ui

from models.shapes import Actor
from services import charts, documents, sharing
from services.sanitize import clean_document

from .. import access, actions, frame, printing
from ..portal import Page, portal_page
from ..uploads import Arrivals
from .widgets import (RECEIPT_COLUMNS, SHARE_ACTIONS_CELL, PagedTable, chart_dialog, col, details, expiry_dialog,
                      heading, open_record, receipt_cells, rescind_dialog, send_dialog, use_zone, when)

DOCUMENT_COLUMNS = [col('id', 'ID'), col('service_date', 'Serv date'), col('doc_type', 'Type', key=True),
                    col('title', 'Title', key=True), col('author', 'By'), col('service_location', 'Service location')]
HISTORY_COLUMNS = [col('recipient', 'Recipient', key=True), col('sender', 'Sender'), col('sent_at', 'Date'),
                   col('copy_document_id', 'Copy id')] + RECEIPT_COLUMNS


BACK = ('Back to the charts', '/staff')


@portal_page('/staff/chart/{chart_id}', roles=access.STAFF, title='Chart')
async def chart_page(page: Page, chart_id: int) -> None:
    """The chart's details and documents; select documents to send them together."""
    use_zone(page.settings)
    if (chart := await open_record(page, charts.get_chart, back=BACK, chart_id=chart_id)) is None:
        return
    with heading(page, chart.name, 'chart-name', ('Charts', '/staff')):
        ui.space()
        edit = chart_dialog(chart)
        ui.button('Edit chart', icon='edit', on_click=edit.open).props('outline').mark('edit-chart')
        ui.link('Access report', f'/staff/chart/{chart_id}/access-report').mark('access-report-link')
    details([('Date of birth', chart.date_of_birth, None), ('External id', chart.external_id, None),
             ('Employer', chart.employer, None), ('Email', chart.email, None), ('Phone', chart.phone, None),
             ('Status', chart.status, None)])

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(charts.list_documents, actor=actor, chart_id=chart_id,
                                        offset=offset, limit=limit)
        return [_document_row(d) for d in rows], total

    with ui.row().classes('w-full items-center'):
        frame.heading('Documents', 2).classes('text-lg font-bold')
        ui.space()
        ui.button('New document', icon='note_add',
                  on_click=lambda: ui.navigate.to(f'/staff/chart/{chart_id}/new-document')).mark('new-document')
        send_button = ui.button('Send selected', icon='send').mark('send-selected')
    outcome = actions.Message('send-outcome')
    table = await PagedTable.create(DOCUMENT_COLUMNS, fetch, actor=page.signed_in, mark='documents',
                                    selection='multiple', link=('title', 'url'), empty='No documents yet.',
                                    on_click=lambda row: ui.navigate.to(row['url']))

    def send_selected() -> None:
        """Open the Send dialog for the ticked documents (the dialog's Send button checks the session)."""
        ids = [row['id'] for row in table.table.selected]
        if not ids:
            outcome.error('Select the documents to send first.')
            return
        outcome.clear()
        send_dialog(ids, outcome=outcome, settings=page.settings,
                    on_sent=lambda: table.table.selected.clear()).open()

    send_button.on_click(send_selected)


def _document_row(document: charts.DocumentRow) -> dict:
    return {'id': document.id, 'url': f'/staff/document/{document.id}', 'service_date': str(document.service_date),
            'doc_type': document.doc_type, 'title': document.title, 'author': document.author,
            'service_location': document.service_location}


@portal_page('/staff/chart/{chart_id}/new-document', roles=access.STAFF, title='New document')
async def new_document_page(page: Page, chart_id: int) -> None:
    """Write a document: Markdown with a preview, pasted HTML (sanitized), plain text, or uploaded PDF, PNG or JPEG
    files (several at once: one document each)."""
    use_zone(page.settings)
    if (chart := await open_record(page, charts.get_chart, back=BACK, chart_id=chart_id)) is None:
        return
    settings = page.settings
    with ui.card().classes('w-full gap-2'):
        frame.heading(f'New document in {chart.name}').classes('text-xl font-bold')
        with ui.row().classes('w-full gap-2'):
            service_date = ui.input('Service date', value=date.today().isoformat()).props('type=date stack-label') \
                .mark('doc-date')
            doc_type = ui.select(settings.document_types, label='Type', value=settings.document_types[0]) \
                .classes('min-w-56').mark('doc-type')
            location = ui.input('Service location').classes('grow').mark('doc-location')
        title = ui.input('Title').classes('w-full').mark('doc-title')
        kind = ui.radio({'markdown': 'Text (Markdown)', 'html': 'Pasted HTML', 'text': 'Plain text',
                         'file': 'PDF or image file'}, value='markdown').props('inline').mark('doc-kind')
        with ui.row().classes('w-full no-wrap gap-4').bind_visibility_from(kind, 'value', value='markdown'):
            with ui.column().classes('w-1/2'):
                markdown_body = ui.textarea('Text: **bold**, *italic*, "- " for a list, "# " for a heading') \
                    .props('autogrow outlined').classes('w-full').mark('doc-markdown')
            with ui.column().classes('w-1/2'):
                ui.label('Preview (as the contact will see it)').classes('text-xs text-grey-7')
                markdown_preview = ui.html('', sanitize=clean_document).classes('w-full border rounded p-2 min-h-8') \
                    .mark('doc-markdown-preview')
            markdown_body.on_value_change(lambda e: markdown_preview.set_content(documents.markdown_html(e.value)))
        with ui.column().classes('w-full').bind_visibility_from(kind, 'value', value='html'):
            html_body = ui.textarea('Pasted HTML (<p>, <b>, <ul> and tables are kept; scripts and styles are removed)') \
                .props('autogrow outlined').classes('w-full').mark('doc-html')
            ui.label('Preview').classes('text-xs text-grey-7')
            preview = ui.html('', sanitize=clean_document).classes('w-full border rounded p-2 min-h-8 portal-doc')
            html_body.on_value_change(lambda e: preview.set_content(e.value or ''))
        text_body = ui.textarea('Text').props('autogrow outlined').classes('w-full').mark('doc-text') \
            .bind_visibility_from(kind, 'value', value='text')
        error = actions.Message('doc-error')
        uploads: list[tuple[str, bytes]] = []
        with ui.column().classes('w-full').bind_visibility_from(kind, 'value', value='file'):
            chosen = ui.label('No file chosen.').classes('text-sm').mark('doc-file-name')

            async def received(act: actions.Act) -> None:
                """Keep the files in memory until the documents are saved (the service checks each then)."""
                uploads.append((act.event.file.name, await act.event.file.read()))
                chosen.text = 'Chosen: ' + ', '.join(name for name, _ in uploads) + \
                    (f' ({len(uploads)} documents)' if len(uploads) > 1 else '')

            # several files at once, one progress bar (batch); the browser refuses large files early, the service
            # checks size and type of each again on the server
            upload = ui.upload(
                label=f'PDF, PNG or JPEG files, at most {settings.upload_max_mb} MB each', auto_upload=True,
                multiple=True, max_files=documents.MAX_FILES, max_file_size=settings.upload_max_bytes,
                on_rejected=lambda: error.error(f'Choose files of at most {settings.upload_max_mb} MB.')) \
                .props('batch accept=".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"').classes('w-full') \
                .mark('doc-upload')
            # Save pressed while the files upload waits for them (the uploader keeps showing them, ticked)
            arrivals = Arrivals(upload, actions.Action(received, message=error, queue=True), error, clear=False)
        error.move(target_index=-1)

        async def save(act: actions.Act) -> None:
            await arrivals.wait()
            common = dict(chart_id=chart_id, service_date=service_date.value, doc_type=doc_type.value,
                          service_location=location.value)
            if kind.value == 'file' and len(uploads) > 1:
                ids = await act.call(documents.create_documents, title=title.value, uploads=list(uploads), **common)
                act.done(f'{len(ids)} documents saved.', navigate=f'/staff/chart/{chart_id}')
                return
            body = {'markdown': markdown_body, 'html': html_body, 'text': text_body}.get(kind.value)
            name, data = uploads[0] if uploads else ('', None)
            document_id = await act.call(
                documents.create_document, title=title.value, body_kind=kind.value,
                body=(body.value if body is not None else '') or '', file_data=data, file_name=name, **common)
            act.done('Document saved.', navigate=f'/staff/document/{document_id}')

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=lambda: ui.navigate.to(f'/staff/chart/{chart_id}')).props('flat')
            actions.button('Save document', save, icon='save', message=error).mark('doc-save')


@portal_page('/staff/document/{document_id}', roles=access.STAFF, title='Document')
async def document_page(page: Page, document_id: int) -> None:
    """A document with its file inline, Send Document and its send history."""
    use_zone(page.settings)
    if (doc := await open_record(page, documents.get_document, back=BACK, document_id=document_id)) is None:
        return
    if doc.chart_id:
        heading(page, doc.title, 'document-title', (doc.chart_name, f'/staff/chart/{doc.chart_id}'),
                back_mark='chart-link')
    else:
        heading(page, doc.title, 'document-title',
                (doc.contact_name, f'/staff/contacts/{doc.contact_id}') if doc.contact_id else None)
    ui.label(f'{doc.doc_type} · service date {doc.service_date} · by {doc.author}'
             f'{" · " + doc.service_location if doc.service_location else ""} · document {doc.id}') \
        .classes('text-sm text-grey-8').mark('document-meta')
    with ui.row().classes('gap-4 text-sm'):
        ui.link('Access report: who saw this document', f'/staff/document/{doc.id}/access-report') \
            .mark('access-report-link')
        if doc.chart_id:
            ui.link('Print view (document and replies)', f'/staff/document/{doc.id}/print', new_tab=True) \
                .mark('print-link')
    if doc.deleted:
        ui.label('This copy was rescinded: the contact no longer sees it.').classes('text-negative')
    _body(doc)
    if doc.chart_id is None:
        return
    send = ui.button('Send document', icon='send').mark('send-document')
    outcome = actions.Message('send-outcome')
    history = SendHistory(document_id, outcome)
    send.on_click(lambda: send_dialog([document_id], outcome=outcome, settings=page.settings,
                                      on_sent=history.load).open())
    await history.load()


def _body(doc: documents.DocumentView) -> None:
    with ui.card().classes('w-full').mark('document-body'):
        if doc.mime_type == 'application/pdf':
            html.iframe(src=doc.file_url, title=doc.file_name or 'PDF document') \
                .classes('w-full border-0').style('height: 75vh').mark('document-pdf')
        elif doc.mime_type:
            image = ui.image(doc.file_url).props('fit=contain').classes('w-full max-h-[75vh]').mark('document-image')
            image.props['alt'] = doc.file_name or ''  # data, never parsed as props
        elif doc.body_html is not None:
            ui.html(doc.body_html, sanitize=clean_document).classes('w-full portal-doc').mark('document-html')  # one style: assets/portal.css
        else:
            ui.label(doc.body_text or '').classes('w-full whitespace-pre-wrap').mark('document-text')
        if doc.mime_type:
            ui.link('Download', f'{doc.file_url}?download=true').classes('text-primary')


class SendHistory:
    """Who the document was sent to and what became of each share (email, code, views, downloads,
    acknowledgement, replies, expiry), with Rescind, Expiry and withdrawing several at once; a reload refills the
    table in place (the dialogs that ask for the reload live beside it)."""

    def __init__(self, document_id: int, outcome: actions.Message) -> None:
        self.document_id = document_id
        with ui.row().classes('w-full items-center'):
            frame.heading('Send history', 2).classes('text-lg font-bold')
            ui.space()
            self.withdraw = ui.button('Rescind selected', icon='block', on_click=self.withdraw_selected) \
                .props('outline color=negative').mark('rescind-selected')
        self.outcome = outcome
        self.empty = ui.label('Not sent yet.').classes('text-grey-7').mark('send-history-empty')
        self.table = ui.table(columns=HISTORY_COLUMNS + [col('actions', '', key=True)], rows=[], row_key='id',
                              selection='multiple').classes('w-full').props('flat bordered wrap-cells') \
            .mark('send-history')
        self.table.add_slot('body-cell-actions', SHARE_ACTIONS_CELL)
        self.table.on('rescind', lambda e: rescind_dialog(e.args['id'], f'the copy sent to {e.args["recipient"]}',
                                                          outcome=outcome, on_done=self.load).open())
        self.table.on('expiry', lambda e: expiry_dialog(e.args['id'], f'the copy sent to {e.args["recipient"]}',
                                                        e.args['expires_on'], outcome=outcome,
                                                        on_done=self.load).open())
        self.empty.set_visibility(False)
        self.table.set_visibility(False)
        self.withdraw.set_visibility(False)

    def withdraw_selected(self) -> None:
        ids = [row['id'] for row in self.table.selected if row.get('active')]
        if not ids:
            self.outcome.error('Select the shares to rescind first.')
            return
        self.outcome.clear()
        rescind_dialog(ids, f'{len(ids)} share{"s" if len(ids) != 1 else ""}', outcome=self.outcome,
                       on_done=self.load).open()

    async def load(self) -> None:
        actor = await actions.reader()
        if actor is None:
            return
        records = await access.call(sharing.send_history, document_id=self.document_id, actor=actor)
        self.table.rows = [{'id': r.share_id, 'recipient': f'{r.recipient} <{r.recipient_email}>',
                            'sender': r.sender, 'sent_at': when(r.sent_at), 'copy_document_id': r.copy_document_id,
                            **receipt_cells(r.receipt), 'rescinded': r.rescinded} for r in records]
        self.table.selected.clear()
        self.table.update()
        self.empty.set_visibility(not records)
        self.table.set_visibility(bool(records))
        self.withdraw.set_visibility(bool(records))


@portal_page('/staff/document/{document_id}/print', roles=access.STAFF, title='Print')
async def print_page(page: Page, document_id: int) -> None:
    """The document and a summary of every reply to it, laid out for paper (the browser's Print)."""
    use_zone(page.settings)
    if (view := await open_record(page, documents.print_view, back=BACK, document_id=document_id)) is None:
        return
    doc = view.document
    page.title(f'Print · {doc.title}')
    printing.print_layout(printing.Printout(
        title=doc.title, meta=f'{doc.chart_name} · {doc.doc_type} · service date {doc.service_date} · by {doc.author}'
                              f'{" · " + doc.service_location if doc.service_location else ""}',
        body_html=doc.body_html, body_text=doc.body_text, file_url=doc.file_url, mime_type=doc.mime_type,
        file_name=doc.file_name,
        replies=[printing.PrintedReply(when=when(r.created_at), author=f'{r.author} ({r.contact})', body=r.body,
                                       attachments=r.attachments) for r in view.replies]),
        back=('Back to the document', f'/staff/document/{doc.id}'))
