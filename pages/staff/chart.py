"""A chart (`/staff/chart/{id}`): its documents, edit, new document, batch Send Document;
one document (`/staff/document/{id}`): viewer, Send Document, send history with rescind."""
from __future__ import annotations

from datetime import date

from nicegui import html, ui

from services import charts, documents, sharing
from services.errors import PortalError
from services.sanitize import clean_html
from services.settings import get_settings

from .. import guard, page
from ..frame import frame_legacy as frame, not_available_page
from .widgets import PagedTable, chart_dialog, col, error_label, rescind_dialog, send_dialog, show_error, when

DOCUMENT_COLUMNS = [col('id', 'ID'), col('service_date', 'Serv date'), col('doc_type', 'Type'),
                    col('title', 'Title'), col('author', 'By'), col('service_location', 'Service location')]
HISTORY_COLUMNS = [col('recipient', 'Recipient'), col('sender', 'Sender'), col('sent_at', 'Date'),
                   col('copy_document_id', 'Copy id'), col('code_state', 'Activation code'),
                   col('rescinded', 'Rescinded')]
# Quasar's heading sizes are for page titles; inside a document keep them modest
DOCUMENT_CSS = ('.smp-document h1{font-size:1.6rem;line-height:2rem;margin:.5rem 0}'
                '.smp-document h2{font-size:1.4rem;line-height:1.8rem;margin:.5rem 0}'
                '.smp-document h3,.smp-document h4,.smp-document h5,.smp-document h6'
                '{font-size:1.15rem;line-height:1.5rem;margin:.4rem 0;font-weight:600}'
                '.smp-document ul{list-style:disc;padding-left:1.5rem}'
                '.smp-document ol{list-style:decimal;padding-left:1.5rem}'
                '.smp-document table{border-collapse:collapse}'
                '.smp-document td,.smp-document th{border:1px solid #ccc;padding:2px 6px}')


def register() -> None:
    page('/staff/chart/{chart_id}')(chart_page)
    page('/staff/chart/{chart_id}/new-document')(new_document_page)
    page('/staff/document/{document_id}')(document_page)


async def chart_page(chart_id: int) -> None:
    """The chart's details and documents; select documents to send them together."""
    actor = await guard.require(*guard.STAFF)
    if actor is None:
        return
    try:
        chart = await guard.call(charts.get_chart, actor=actor, chart_id=chart_id)
    except PortalError as problem:
        not_available_page(actor, str(problem), ('Back to the charts', '/staff'))
        return
    with frame(chart.name, actor):
        with ui.row().classes('w-full items-center'):
            ui.link('Charts', '/staff').classes('text-primary')
            ui.label('›')
            ui.label(chart.name).classes('text-2xl font-bold').mark('chart-name')
            ui.space()
            edit = chart_dialog(chart, lambda _id: ui.navigate.to(f'/staff/chart/{chart_id}'))
            ui.button('Edit chart', icon='edit', on_click=edit.open).props('outline').mark('edit-chart')
        with ui.card().classes('w-full'), ui.grid(columns=3).classes('w-full gap-2 text-sm'):
            for label, value in [('Date of birth', chart.date_of_birth or ''), ('External id', chart.external_id),
                                 ('Employer', chart.employer), ('Email', chart.email), ('Phone', chart.phone),
                                 ('Status', chart.status)]:
                with ui.column().classes('gap-0'):
                    ui.label(label).classes('text-xs text-grey-7')
                    ui.label(str(value) or '—')

        async def fetch(offset: int, limit: int):
            current = await guard.require(*guard.STAFF)
            if current is None:
                return None
            rows, total = await guard.call(charts.list_documents, actor=current, chart_id=chart_id,
                                           offset=offset, limit=limit)
            return [_document_row(d) for d in rows], total

        with ui.row().classes('w-full items-center'):
            ui.label('Documents').classes('text-lg font-bold')
            ui.space()
            ui.button('New document', icon='note_add',
                      on_click=lambda: ui.navigate.to(f'/staff/chart/{chart_id}/new-document')).mark('new-document')
            send_button = ui.button('Send selected', icon='send').mark('send-selected')
        table = PagedTable(DOCUMENT_COLUMNS, fetch, mark='documents', selection='multiple', link=('title', 'url'),
                           on_click=lambda row: ui.navigate.to(row['url']))

        async def send_selected() -> None:
            if await guard.require(*guard.STAFF) is None:
                return
            ids = [row['id'] for row in table.table.selected]
            if not ids:
                ui.notify('Select the documents to send first.', type='warning')
                return
            send_dialog(ids, lambda: table.table.selected.clear()).open()

        send_button.on_click(send_selected)
        table.start()


def _document_row(document: charts.DocumentRow) -> dict:
    return {'id': document.id, 'url': f'/staff/document/{document.id}', 'service_date': str(document.service_date),
            'doc_type': document.doc_type, 'title': document.title, 'author': document.author,
            'service_location': document.service_location}


async def new_document_page(chart_id: int) -> None:
    """Write a document: rich text (HTML, sanitized), plain text, or an uploaded PDF, PNG or JPEG."""
    actor = await guard.require(*guard.STAFF)
    if actor is None:
        return
    try:
        chart = await guard.call(charts.get_chart, actor=actor, chart_id=chart_id)
    except PortalError as problem:
        not_available_page(actor, str(problem), ('Back to the charts', '/staff'))
        return
    settings = get_settings()
    upload: dict = {}
    with frame('New document', actor), ui.card().classes('w-full gap-2'):
        ui.label(f'New document in {chart.name}').classes('text-xl font-bold')
        with ui.row().classes('w-full gap-2'):
            service_date = ui.input('Service date', value=date.today().isoformat()).props('type=date stack-label') \
                .mark('doc-date')
            doc_type = ui.select(settings.document_types, label='Type', value=settings.document_types[0]) \
                .classes('min-w-56').mark('doc-type')
            location = ui.input('Service location').classes('grow').mark('doc-location')
        title = ui.input('Title').classes('w-full').mark('doc-title')
        kind = ui.radio({'html': 'Rich text', 'text': 'Plain text', 'file': 'PDF or image file'}, value='html') \
            .props('inline').mark('doc-kind')
        with ui.column().classes('w-full').bind_visibility_from(kind, 'value', value='html'):
            html_body = ui.textarea('Text (HTML such as <p>, <b>, <ul> is kept; scripts and styles are removed)') \
                .props('autogrow outlined').classes('w-full').mark('doc-html')
            ui.label('Preview').classes('text-xs text-grey-7')
            preview = ui.html('', sanitize=clean_html).classes('w-full border rounded p-2 min-h-8')
            html_body.on_value_change(lambda e: preview.set_content(e.value or ''))
        text_body = ui.textarea('Text').props('autogrow outlined').classes('w-full').mark('doc-text') \
            .bind_visibility_from(kind, 'value', value='text')
        with ui.column().classes('w-full').bind_visibility_from(kind, 'value', value='file'):
            chosen = ui.label('No file chosen.').classes('text-sm').mark('doc-file-name')

            async def received(event) -> None:
                upload['data'] = await event.file.read()
                upload['name'] = event.file.name
                chosen.text = f'Chosen: {event.file.name}'

            # the browser refuses large files early; the service checks size and type again on the server
            ui.upload(label=f'PDF, PNG or JPEG, at most {settings.upload_max_mb} MB', auto_upload=True,
                      max_files=1, max_file_size=settings.upload_max_bytes, on_upload=received,
                      on_rejected=lambda: ui.notify(f'Choose a file of at most {settings.upload_max_mb} MB.',
                                                    type='warning')) \
                .props('accept=".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"').classes('w-full') \
                .mark('doc-upload')
        error = error_label('doc-error')

        async def save() -> None:
            current = await guard.require(*guard.STAFF)
            if current is None:
                return
            body = html_body.value if kind.value == 'html' else text_body.value
            try:
                document_id = await guard.call(
                    documents.create_document, actor=current, chart_id=chart_id, service_date=service_date.value,
                    doc_type=doc_type.value, title=title.value, service_location=location.value, body_kind=kind.value,
                    body=body or '', file_data=upload.get('data'), file_name=upload.get('name', ''))
            except PortalError as problem:
                show_error(error, str(problem))
                return
            ui.notify('Document saved.', type='positive')
            ui.navigate.to(f'/staff/document/{document_id}')

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=lambda: ui.navigate.to(f'/staff/chart/{chart_id}')).props('flat')
            ui.button('Save document', icon='save', on_click=save).mark('doc-save')


async def document_page(document_id: int) -> None:
    """A document with its file inline, Send Document and its send history."""
    actor = await guard.require(*guard.STAFF)
    if actor is None:
        return
    try:
        doc = await guard.call(documents.get_document, actor=actor, document_id=document_id)
    except PortalError as problem:
        not_available_page(actor, str(problem), ('Back to the charts', '/staff'))
        return
    with frame(doc.title, actor):
        with ui.row().classes('w-full items-center'):
            if doc.chart_id:
                ui.link(doc.chart_name, f'/staff/chart/{doc.chart_id}').classes('text-primary').mark('chart-link')
            elif doc.contact_id:
                ui.link(doc.contact_name, f'/staff/contacts/{doc.contact_id}').classes('text-primary')
            ui.label('›')
            ui.label(doc.title).classes('text-2xl font-bold').mark('document-title')
        ui.label(f'{doc.doc_type} · service date {doc.service_date} · by {doc.author}'
                 f'{" · " + doc.service_location if doc.service_location else ""} · document {doc.id}') \
            .classes('text-sm text-grey-8').mark('document-meta')
        if doc.deleted:
            ui.label('This copy was rescinded: the contact no longer sees it.').classes('text-negative')
        _body(doc)
        if doc.chart_id is None:
            return
        history = ui.column().classes('w-full')

        async def load_history() -> None:
            current = await guard.require(*guard.STAFF)
            if current is None:
                return
            records = await guard.call(sharing.send_history, document_id=document_id, actor=current)
            history.clear()
            with history:
                _history(records, load_history)

        ui.button('Send document', icon='send', on_click=lambda: send_dialog([document_id], load_history).open()) \
            .mark('send-document')
        await load_history()


def _body(doc: documents.DocumentView) -> None:
    with ui.card().classes('w-full').mark('document-body'):
        if doc.mime_type == 'application/pdf':
            html.iframe(src=doc.file_url, title=doc.file_name or 'PDF document') \
                .classes('w-full border-0').style('height: 75vh').mark('document-pdf')
        elif doc.mime_type:
            ui.image(doc.file_url).props(f'alt="{(doc.file_name or "").replace(chr(34), "")}" fit=contain') \
                .classes('w-full max-h-[75vh]').mark('document-image')
        elif doc.body_html is not None:
            ui.add_css(DOCUMENT_CSS)
            ui.html(doc.body_html, sanitize=clean_html).classes('w-full smp-document').mark('document-html')
        else:
            ui.label(doc.body_text or '').classes('w-full whitespace-pre-wrap').mark('document-text')
        if doc.mime_type:
            ui.link('Download', f'{doc.file_url}?download=true').classes('text-primary')


def _history(records: list[sharing.SendRecord], reload) -> None:
    ui.label('Send history').classes('text-lg font-bold')
    if not records:
        ui.label('Not sent yet.').classes('text-grey-7').mark('send-history-empty')
        return
    rows = [{'id': r.share_id, 'recipient': f'{r.recipient} <{r.recipient_email}>', 'sender': r.sender,
             'sent_at': when(r.sent_at), 'copy_document_id': r.copy_document_id, 'code_state': r.code_state or '—',
             'rescinded': r.rescinded} for r in records]
    table = ui.table(columns=HISTORY_COLUMNS + [col('actions', '')], rows=rows, row_key='id') \
        .classes('w-full').props('flat bordered wrap-cells').mark('send-history')
    table.add_slot('body-cell-actions', '<q-td :props="props"><q-btn v-if="!props.row.rescinded" flat dense '
                   'color="negative" label="Rescind" @click="$parent.$emit(\'rescind\', props.row)" /></q-td>')
    table.on('rescind', lambda e: rescind_dialog(e.args['id'], f'the copy sent to {e.args["recipient"]}',
                                                 reload).open())
