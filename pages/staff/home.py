"""`/staff`: the clinic workspace's start page, the chart list with search and "New chart"."""
from __future__ import annotations

from nicegui import ui

from models.shapes import Actor
from services import charts

from .. import access
from ..portal import Page, portal_page
from .widgets import PagedTable, chart_dialog, col

COLUMNS = [col('name', 'Name', sortable=False), col('date_of_birth', 'Date of birth'),
           col('external_id', 'External id'), col('employer', 'Employer'), col('status', 'Status')]


@portal_page('/staff', roles=access.STAFF, title='Clinic workspace')
async def staff_home(page: Page) -> None:
    """Search charts by name, date of birth or external id; open one; create one."""
    with ui.row().classes('w-full items-center'):
        ui.label('Clinic workspace').classes('text-2xl font-bold').mark('staff-home')
        ui.space()
        create = chart_dialog(None)
        ui.button('New chart', icon='add', on_click=create.open).mark('new-chart')
    search = ui.input('Search charts: name, date of birth (YYYY-MM-DD) or external id') \
        .props('clearable debounce=300 outlined autofocus').classes('w-full').mark('chart-search')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(charts.search_charts, actor=actor, query=search.value or '',
                                        offset=offset, limit=limit)
        return [_row(c) for c in rows], total

    table = PagedTable(COLUMNS, fetch, mark='charts', link=('name', 'url'),
                       on_click=lambda row: ui.navigate.to(row['url']))
    search.on_value_change(lambda: table.load(1))
    table.start()


def _row(chart: charts.ChartRow) -> dict:
    return {'id': chart.id, 'name': chart.name, 'url': f'/staff/chart/{chart.id}',
            'date_of_birth': str(chart.date_of_birth or ''), 'external_id': chart.external_id,
            'employer': chart.employer, 'status': chart.status}
