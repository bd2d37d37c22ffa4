"""The SMP worklist (`/staff/worklist`) and one reply (`/staff/reply/{id}`): open, Move, mark worked, assign."""
from __future__ import annotations

from nicegui import ui

from models.shapes import Actor
from services import charts, worklist

from .. import access, actions, frame
from ..portal import Page, portal_page
from .widgets import PagedTable, col, heading, open_record, use_zone, when

COLUMNS = [col('replied_at', 'Replied'), col('contact', 'Contact', key=True), col('chart', 'Chart'), col('title', 'Document'),
           col('excerpt', 'Reply', key=True), col('attachments', 'Attachments', number=True),
           col('assigned_to', 'Assigned to'), col('status', 'Status', key=True)]
SHOW = {'unworked': 'Unworked', 'mine': 'Assigned to me', 'all': 'All replies'}


@portal_page('/staff/worklist', roles=access.STAFF, title='SMP worklist')
async def worklist_page(page: Page) -> None:
    """Every reply from contacts, unworked first."""
    use_zone(page.settings)
    with ui.row().classes('w-full items-center'):
        frame.heading('SMP worklist').classes('text-2xl font-bold').mark('worklist-title')
        ui.space()
        staff = await access.call(worklist.staff_members, actor=page.signed_in)
        assignee = ui.select({0: 'Nobody', **staff}, value=0, label='Assign selected to').classes('min-w-48') \
            .mark('assign-selected-to')
        assign_button = ui.button('Assign', icon='person').props('outline').mark('assign-selected')
        worked_button = ui.button('Mark selected worked', icon='done_all').props('outline').mark('mark-selected')
    show = ui.toggle(SHOW, value='all').mark('worklist-show')
    outcome = actions.Message('worklist-outcome')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(worklist.list_replies, actor=actor, show=show.value,
                                        offset=offset, limit=limit)
        return [_row(r) for r in rows], total

    # the reply's first words are a real link: Tab reaches it and Enter opens the reply
    table = await PagedTable.create(COLUMNS, fetch, actor=page.signed_in, mark='worklist', row_key='reply_id',
                                    link=('excerpt', 'url'), empty='No replies.', selection='multiple',
                                    on_click=lambda row: ui.navigate.to(row['url']))
    show.on_value_change(lambda: table.load(1))

    async def mark_selected(act: actions.Act) -> None:
        ids = [row['reply_id'] for row in table.table.selected]
        if not ids:
            act.fail('Select the replies to mark worked first.')
        changed = await act.call(worklist.mark_many_worked, reply_ids=ids)
        table.table.selected.clear()
        await table.reload()
        act.done(f'Marked {changed} {"reply" if changed == 1 else "replies"} worked.')

    worked_button.on_click(actions.Action(mark_selected, triggers=[worked_button], message=outcome))

    async def assign_selected(act: actions.Act) -> None:
        ids = [row['reply_id'] for row in table.table.selected]
        if not ids:
            act.fail('Select the replies to assign first.')
        count = await act.call(worklist.assign_many, reply_ids=ids, account_id=assignee.value or None)
        table.table.selected.clear()
        await table.reload()
        act.done(f'Assigned {count} {"reply" if count == 1 else "replies"}.')

    assign_button.on_click(actions.Action(assign_selected, triggers=[assign_button], message=outcome))


def _row(row: worklist.WorklistRow) -> dict:
    return {'reply_id': row.reply_id, 'url': f'/staff/reply/{row.reply_id}', 'replied_at': when(row.replied_at),
            'contact': row.contact, 'chart': row.chart, 'title': f'{row.title} ({row.doc_type}, {row.service_date})',
            'excerpt': row.excerpt or '(no text)', 'attachments': row.attachments,
            'assigned_to': row.assigned_to, 'status': row.status}


@portal_page('/staff/reply/{reply_id}', roles=access.STAFF, title='Reply')
async def reply_page(page: Page, reply_id: int) -> None:
    """One reply with its attachments; Move into the patient chart, mark worked, assign."""
    use_zone(page.settings)
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
            other = _move_dialog(reply_id, here)
            ui.button('Move into another chart…', icon='manage_search', on_click=other.open) \
                .props('outline').mark('move-other')
            actions.button('Mark unworked' if worked else 'Mark worked', mark_worked, icon='done') \
                .props('outline').mark('mark-worked')
        assign = ui.select({0: 'Nobody', **staff}, value=reply.assigned_to_account_id or 0, label='Assigned to') \
            .classes('min-w-48').mark('assign')
        assign.on_value_change(actions.Action(assign_to, triggers=[assign], queue=True))


def _move_dialog(reply_id: int, here: str) -> ui.dialog:
    """Find any chart (name, date of birth, id) and move the reply there."""
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-xl gap-2').mark('move-dialog'):
        ui.label('Move into another chart').classes('text-lg font-bold')
        search = ui.input('Find a chart: name ("Lee, Pat"), date of birth or external id') \
            .props('clearable debounce=300 outlined dense').classes('w-full').mark('move-search')
        message = actions.Message('move-error')
        results = ui.column().classes('w-full gap-1')

        def mover(chart_id: int, name: str) -> actions.Handler:
            async def move(act: actions.Act) -> None:
                document_id = await act.call(worklist.move_reply, reply_id=reply_id, chart_id=chart_id)
                act.done(f'Moved into {name} as document {document_id}.', navigate=here)
            return move

        async def find() -> None:
            query = (search.value or '').strip()
            found = await actions.read(charts.search_charts, query=query, limit=8) if query else ([], 0)
            if found is None:
                return
            rows, total = found
            results.clear()
            with results:
                for chart in rows:
                    with ui.row().classes('w-full items-center gap-2').mark('move-option'):
                        ui.label(f'{chart.name} · {chart.date_of_birth or "—"} · {chart.external_id or "—"}') \
                            .classes('grow')
                        actions.button('Move here', mover(chart.id, chart.name), message=message) \
                            .props('outline dense').mark(f'move-to-{chart.id}')
                if query and not rows:
                    ui.label('No chart found.').classes('text-grey-7')
                elif total > len(rows):
                    ui.label(f'{total - len(rows)} more: type more of the name.').classes('text-grey-7')

        search.on_value_change(find)
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
    return dialog
