"""`/staff`: the clinic workspace's start page, the chart list with search and "New chart"."""
from __future__ import annotations

from nicegui import ui

from models.shapes import Actor
from services import charts, sharing, staff_alerts

from .. import access, frame
from ..portal import Page, portal_page
from .widgets import PagedTable, chart_dialog, col, use_zone, when

UNREAD_COLUMNS = [col('title', 'Document', key=True), col('regarding', 'Regarding'), col('recipient', 'Recipient'),
                  col('sent_at', 'Sent'), col('days', 'Days waiting', key=True), col('email', 'Email')]
COLUMNS = [col('name', 'Name', key=True, sortable=False), col('date_of_birth', 'Date of birth'),
           col('external_id', 'External id'), col('employer', 'Employer'), col('status', 'Status', key=True)]


@portal_page('/staff', roles=access.STAFF, title='Clinic workspace')
async def staff_home(page: Page) -> None:
    """Search charts by name, date of birth or external id; open one; create one."""
    use_zone(page.settings)
    with ui.row().classes('w-full items-center'):
        frame.heading('Clinic workspace').classes('text-2xl font-bold').mark('staff-home')
        ui.space()
        create = chart_dialog(None)
        ui.button('New chart', icon='add', on_click=create.open).mark('new-chart')
    waiting = await access.call(staff_alerts.waiting_counts, actor=page.signed_in)
    with ui.row().classes('w-full items-center gap-4 text-sm').mark('waiting'):
        replies, registrations = waiting['replies'], waiting['registrations']
        ui.link(f'{replies} unworked {"reply" if replies == 1 else "replies"}', '/staff/worklist') \
            .classes('text-primary').mark('waiting-replies')
        ui.link(f'{registrations} {"registration" if registrations == 1 else "registrations"} to review',
                '/staff/registrations?status=pending').classes('text-primary').mark('waiting-registrations')
        ui.space()
        ui.link('My settings and alerts', '/staff/settings').classes('text-primary').mark('my-settings')
    search = ui.input('Search charts: name ("Lee, Pat"), date of birth (1980-05-17 or 05/17/1980) or external id') \
        .props('clearable debounce=300 outlined autofocus').classes('w-full').mark('chart-search')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(charts.search_charts, actor=actor, query=search.value or '',
                                        offset=offset, limit=limit)
        return [_row(c) for c in rows], total

    table = await PagedTable.create(COLUMNS, fetch, actor=page.signed_in, mark='charts', link=('name', 'url'),
                                    on_click=lambda row: ui.navigate.to(row['url']), empty='No chart found.')
    search.on_value_change(lambda: table.load(1))
    await _unread_sent_by_me(page)


async def _unread_sent_by_me(page: Page) -> None:
    """The filter 'sent by me, not yet read after N days': follow up with contacts who did not open them."""
    with ui.row().classes('w-full items-center mt-4'):
        ui.label('Sent by me, not yet read after').classes('text-lg font-bold')
        days = ui.number(value=page.settings.unread_reminder_after_days, min=0, max=3650, precision=0, format='%d') \
            .props('dense outlined aria-label="Not yet read after days"').classes('w-24').mark('unread-days')
        ui.label('days').classes('text-lg font-bold')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(sharing.unread_sent_by, actor=actor, days=int(days.value or 0),
                                        offset=offset, limit=limit)
        return [{'id': r.share_id, 'url': f'/staff/document/{r.document_id}', 'title': r.title,
                 'regarding': r.regarding, 'recipient': r.recipient, 'sent_at': when(r.sent_at),
                 'days': r.days_waiting, 'email': r.email or '—'} for r in rows], total

    table = await PagedTable.create(UNREAD_COLUMNS, fetch, actor=page.signed_in, mark='unread-sent-by-me',
                                    link=('title', 'url'), on_click=lambda row: ui.navigate.to(row['url']),
                                    empty='Everything you sent was opened.')
    days.on_value_change(lambda: table.load(1))


def _row(chart: charts.ChartRow) -> dict:
    return {'id': chart.id, 'name': chart.name, 'url': f'/staff/chart/{chart.id}',
            'date_of_birth': str(chart.date_of_birth or ''), 'external_id': chart.external_id,
            'employer': chart.employer, 'status': chart.status}
