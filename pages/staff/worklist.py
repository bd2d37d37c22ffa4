"""The SMP worklist (`/staff/worklist`) and one reply (`/staff/reply/{id}`): open, Move, mark worked, assign."""
from __future__ import annotations

from nicegui import ui

from services import worklist
from services.errors import PortalError

from .. import guard, page
from ..frame import frame_legacy as frame, not_available_page
from .widgets import PagedTable, col, when

COLUMNS = [col('reply_id', 'Reply'), col('replied_at', 'Replied'), col('contact', 'Contact'), col('chart', 'Chart'),
           col('document_id', 'Document'), col('doc_type', 'Type'), col('service_date', 'Serv date'),
           col('assigned_to', 'Assigned to'), col('status', 'Status')]
SHOW = {'unworked': 'Unworked', 'mine': 'Assigned to me', 'all': 'All replies'}


def register() -> None:
    page('/staff/worklist')(worklist_page)
    page('/staff/reply/{reply_id}')(reply_page)


async def worklist_page() -> None:
    """Every reply from contacts, unworked first."""
    actor = await guard.require(*guard.STAFF)
    if actor is None:
        return
    with frame('SMP worklist', actor):
        ui.label('SMP worklist').classes('text-2xl font-bold').mark('worklist-title')
        show = ui.toggle(SHOW, value='all').mark('worklist-show')

        async def fetch(offset: int, limit: int):
            current = await guard.require(*guard.STAFF)
            if current is None:
                return None
            rows, total = await guard.call(worklist.list_replies, actor=current, show=show.value,
                                           offset=offset, limit=limit)
            return [_row(r) for r in rows], total

        table = PagedTable(COLUMNS, fetch, mark='worklist', row_key='reply_id', link=('chart', 'chart_url'),
                           on_click=lambda row: ui.navigate.to(f'/staff/reply/{row["reply_id"]}'))
        show.on_value_change(lambda: table.load(1))
        table.start()


def _row(row: worklist.WorklistRow) -> dict:
    return {'reply_id': row.reply_id, 'replied_at': when(row.replied_at), 'contact': row.contact,
            'chart': row.chart, 'chart_url': f'/staff/chart/{row.chart_id}', 'document_id': row.document_id,
            'doc_type': row.doc_type, 'service_date': str(row.service_date), 'assigned_to': row.assigned_to,
            'status': row.status}


async def reply_page(reply_id: int) -> None:
    """One reply with its attachments; Move into the patient chart, mark worked, assign."""
    actor = await guard.require(*guard.STAFF)
    if actor is None:
        return
    try:
        reply = await guard.call(worklist.get_reply, actor=actor, reply_id=reply_id)
        staff = await guard.call(worklist.staff_members, actor=actor)
    except PortalError as problem:
        not_available_page(actor, str(problem))
        return
    row = reply.row
    with frame(f'Reply {row.reply_id}', actor):
        with ui.row().classes('w-full items-center'):
            ui.link('SMP worklist', '/staff/worklist').classes('text-primary')
            ui.label('›')
            ui.label(f'Reply {row.reply_id} from {row.contact}').classes('text-2xl font-bold').mark('reply-title')
        ui.label(f'{when(row.replied_at)} · status: {row.status}').classes('text-sm text-grey-8').mark('reply-status')
        with ui.row().classes('text-sm gap-1'):
            ui.label('To document')
            ui.link(f'{row.document_id} · {row.doc_type} · {row.service_date} · {row.title}',
                    f'/staff/document/{row.document_id}').classes('text-primary')
            ui.label('in chart')
            ui.link(row.chart, f'/staff/chart/{row.chart_id}').classes('text-primary').mark('reply-chart')
        with ui.card().classes('w-full'):
            ui.label(reply.body).classes('whitespace-pre-wrap').mark('reply-body')
            for attachment in reply.attachments:
                with ui.row().classes('items-center gap-2'):
                    ui.icon('attach_file')
                    ui.link(f'{attachment.file_name} ({attachment.size // 1024 + 1} KB)', attachment.url,
                            new_tab=True).mark('reply-attachment')
        if reply.moved_document_id:
            ui.link(f'Moved into the chart as document {reply.moved_document_id}',
                    f'/staff/document/{reply.moved_document_id}').mark('moved-document')
        await _actions(reply, staff)


async def _actions(reply: worklist.ReplyView, staff: dict[int, str]) -> None:
    reply_id = reply.row.reply_id

    async def act(fn, message: str, reload: bool = True, **kwargs) -> None:
        current = await guard.require(*guard.STAFF)
        if current is None:
            return
        try:
            result = await guard.call(fn, actor=current, reply_id=reply_id, **kwargs)
        except PortalError as problem:
            ui.notify(str(problem), type='negative')
            return
        ui.notify(message.format(result=result), type='positive')
        if reload:
            ui.navigate.to(f'/staff/reply/{reply_id}')

    with ui.row().classes('w-full items-center gap-2'):
        if reply.moved_document_id is None:
            ui.button('Move into chart', icon='drive_file_move',
                      on_click=lambda: act(worklist.move_reply, 'Moved into the chart as document {result}.')) \
                .mark('move')
            worked = reply.row.status == 'worked'
            ui.button('Mark unworked' if worked else 'Mark worked', icon='done',
                      on_click=lambda: act(worklist.mark_worked, 'Saved.', worked=not worked)) \
                .props('outline').mark('mark-worked')
        assign = ui.select({0: 'Nobody', **staff}, value=reply.assigned_to_account_id or 0, label='Assigned to') \
            .classes('min-w-48').mark('assign')
        assign.on_value_change(lambda e: act(worklist.assign, 'Assigned.', reload=False, account_id=e.value or None))
