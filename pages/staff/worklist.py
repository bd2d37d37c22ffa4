"""The SMP worklist (`/staff/worklist`) and one reply (`/staff/reply/{id}`): open, Move, mark worked, assign."""
from __future__ import annotations

from nicegui import ui

from models.shapes import Actor
from services import worklist

from .. import access, actions, frame
from ..portal import Page, portal_page
from .widgets import PagedTable, col, heading, open_record, when

COLUMNS = [col('reply_id', 'Reply'), col('replied_at', 'Replied'), col('contact', 'Contact'), col('chart', 'Chart'),
           col('document_id', 'Document'), col('doc_type', 'Type'), col('service_date', 'Serv date'),
           col('assigned_to', 'Assigned to'), col('status', 'Status')]
REPLY_LINK_CELL = ('<q-td :props="props"><a :href="\'/staff/reply/\' + props.row.reply_id" class="text-primary" '
                   '@click.stop>Reply {{ props.value }}</a></q-td>')  # constant: Vue fills in the row's values
SHOW = {'unworked': 'Unworked', 'mine': 'Assigned to me', 'all': 'All replies'}


@portal_page('/staff/worklist', roles=access.STAFF, title='SMP worklist')
async def worklist_page(page: Page) -> None:
    """Every reply from contacts, unworked first."""
    frame.heading('SMP worklist').classes('text-2xl font-bold').mark('worklist-title')
    show = ui.toggle(SHOW, value='all').mark('worklist-show')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(worklist.list_replies, actor=actor, show=show.value,
                                        offset=offset, limit=limit)
        return [_row(r) for r in rows], total

    table = PagedTable(COLUMNS, fetch, mark='worklist', row_key='reply_id', link=('chart', 'chart_url'),
                       on_click=lambda row: ui.navigate.to(f'/staff/reply/{row["reply_id"]}'))
    # the row opens on a click; for keyboards the reply number is a real link to it
    table.table.add_slot('body-cell-reply_id', REPLY_LINK_CELL)
    show.on_value_change(lambda: table.load(1))
    table.start()


def _row(row: worklist.WorklistRow) -> dict:
    return {'reply_id': row.reply_id, 'replied_at': when(row.replied_at), 'contact': row.contact,
            'chart': row.chart, 'chart_url': f'/staff/chart/{row.chart_id}', 'document_id': row.document_id,
            'doc_type': row.doc_type, 'service_date': str(row.service_date), 'assigned_to': row.assigned_to,
            'status': row.status}


@portal_page('/staff/reply/{reply_id}', roles=access.STAFF, title='Reply')
async def reply_page(page: Page, reply_id: int) -> None:
    """One reply with its attachments; Move into the patient chart, mark worked, assign."""
    if (reply := await open_record(page, worklist.get_reply, reply_id=reply_id)) is None:
        return
    staff = await access.call(worklist.staff_members, actor=page.signed_in)
    row = reply.row
    heading(page, f'Reply {row.reply_id} from {row.contact}', 'reply-title', ('SMP worklist', '/staff/worklist'),
            tab=f'Reply {row.reply_id}')
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
    _actions(reply, staff)


def _actions(reply: worklist.ReplyView, staff: dict[int, str]) -> None:
    reply_id = reply.row.reply_id
    here = f'/staff/reply/{reply_id}'
    worked = reply.row.status == 'worked'

    async def move(act: actions.Act) -> None:
        document_id = await act.call(worklist.move_reply, reply_id=reply_id)
        act.done(f'Moved into the chart as document {document_id}.', navigate=here)

    async def mark_worked(act: actions.Act) -> None:
        await act.call(worklist.mark_worked, reply_id=reply_id, worked=not worked)
        act.done('Saved.', navigate=here)

    async def assign_to(act: actions.Act) -> None:
        await act.call(worklist.assign, reply_id=reply_id, account_id=act.event.value or None)
        act.done('Assigned.')

    with ui.row().classes('w-full items-center gap-2'):
        if reply.moved_document_id is None:
            actions.button('Move into chart', move, icon='drive_file_move').mark('move')
            actions.button('Mark unworked' if worked else 'Mark worked', mark_worked, icon='done') \
                .props('outline').mark('mark-worked')
        assign = ui.select({0: 'Nobody', **staff}, value=reply.assigned_to_account_id or 0, label='Assigned to') \
            .classes('min-w-48').mark('assign')
        assign.on_value_change(actions.Action(assign_to, triggers=[assign], queue=True))
