"""`/admin/audit`: the audit log with filters, server-side paging, CSV export and access reports."""
from __future__ import annotations

from nicegui import ui

from services import audit_query
from services.errors import PortalError

from .. import guard, page
from ..frame import frame_legacy as frame

PAGE_SIZE = 50
COLUMNS = [
    {'name': 'id', 'label': 'ID', 'field': 'id', 'align': 'left'},
    {'name': 'at', 'label': 'When (UTC)', 'field': 'at', 'align': 'left'},
    {'name': 'actor', 'label': 'Account', 'field': 'actor', 'align': 'left'},
    {'name': 'action', 'label': 'Action', 'field': 'action', 'align': 'left'},
    {'name': 'object', 'label': 'Object', 'field': 'object', 'align': 'left'},
    {'name': 'chart', 'label': 'Chart', 'field': 'chart', 'align': 'left'},
    {'name': 'contact', 'label': 'Contact', 'field': 'contact', 'align': 'left'},
    {'name': 'ip', 'label': 'From', 'field': 'ip', 'align': 'left'},
    {'name': 'detail', 'label': 'Detail', 'field': 'detail', 'align': 'left'},
]
REPORT_COLUMNS = [
    {'name': 'actor', 'label': 'Account', 'field': 'actor', 'align': 'left'},
    {'name': 'action', 'label': 'Action', 'field': 'action', 'align': 'left'},
    {'name': 'count', 'label': 'Times', 'field': 'count'},
    {'name': 'first', 'label': 'First (UTC)', 'field': 'first', 'align': 'left'},
    {'name': 'last', 'label': 'Last (UTC)', 'field': 'last', 'align': 'left'},
    {'name': 'charts', 'label': 'Charts', 'field': 'charts', 'align': 'left'},
]


def register() -> None:
    page('/admin/audit')(audit_page)


async def audit_page() -> None:
    """Filter, page, export; below, the per-chart and per-account reports."""
    actor = await guard.require(*guard.ADMIN)
    if actor is None:
        return
    actions = await guard.call(audit_query.actions, actor=actor)
    with frame('Audit log', actor):
        ui.label('Audit log').classes('text-2xl font-bold').mark('admin-audit')
        ui.label('Dates are whole days in the portal time zone, both included. The log cannot be edited; '
                 '`python main.py check-audit` verifies its hash chain.').classes('text-sm text-grey-8')
        with ui.row().classes('gap-3 items-end flex-wrap'):
            form = {
                'since': ui.input('From').props('type=date stack-label').mark('filter-since'),
                'until': ui.input('To').props('type=date stack-label').mark('filter-until'),
                'account': ui.input('Account (username or id)').mark('filter-account'),
                'action': ui.select({'': 'Any action', **{a: a for a in actions}}, value='', label='Action')
                .classes('w-56').mark('filter-action'),
                'contact_id': ui.input('Contact id').classes('w-28').mark('filter-contact'),
                'chart_id': ui.input('Chart id').classes('w-28').mark('filter-chart'),
            }
            apply = ui.button('Filter', icon='filter_alt').mark('apply-filter')
            export = ui.button('Export CSV', icon='download').props('outline').mark('export-csv')
        error = ui.label().classes('text-negative').mark('error-filter')
        table = ui.table(columns=COLUMNS, rows=[], row_key='id',
                         pagination={'rowsPerPage': PAGE_SIZE, 'page': 1, 'rowsNumber': 0}) \
            .classes('w-full').props(f'wrap-cells :rows-per-page-options="[{PAGE_SIZE}]"').mark('audit-table')

        def filters() -> audit_query.AuditFilter | None:
            try:
                result = audit_query.AuditFilter.from_form(**{k: e.value for k, e in form.items()})
            except PortalError as problem:
                error.text = str(problem)
                return None
            error.text = ''
            return result

        latest = {'request': 0}

        async def load(page: int = 1) -> None:
            latest['request'] += 1
            mine = latest['request']
            fresh = await guard.require(*guard.ADMIN)
            chosen = filters()
            if fresh is None or chosen is None:
                return
            rows, total = await guard.call(audit_query.list_events, actor=fresh, filters=chosen,
                                           offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
            if mine != latest['request']:
                return  # a newer filter or page was asked for meanwhile: its answer wins
            table.rows = [_row(r) for r in rows]
            table.pagination = {**table.pagination, 'page': page, 'rowsNumber': total}

        async def download() -> None:
            fresh = await guard.require(*guard.ADMIN)
            chosen = filters()
            if fresh is None or chosen is None:
                return
            try:
                data = await guard.call(audit_query.export_csv, actor=fresh, filters=chosen)
            except PortalError as problem:
                error.text = str(problem)
                return
            ui.download.content(data, 'audit-log.csv', 'text/csv')

        apply.on_click(lambda: load(1))
        export.on_click(download)
        table.on('request', lambda e: load(e.args['pagination']['page']))
        await load(1)
        reports()


def reports() -> None:
    """Who touched the documents of chart X; what account Y did."""
    with ui.card().classes('w-full gap-2').mark('reports'):
        ui.label('Access reports').classes('text-lg font-bold')
        with ui.row().classes('gap-3 items-end flex-wrap'):
            chart = ui.input('Chart id').classes('w-28').mark('report-chart')
            chart_button = ui.button('Who accessed this chart').props('outline').mark('run-chart-report')
            account = ui.input('Account (username or id)').mark('report-account')
            account_button = ui.button('What this account did').props('outline').mark('run-account-report')
        message = ui.label().classes('text-negative').mark('report-error')
        title = ui.label().classes('text-sm font-bold').mark('report-title')
        table = ui.table(columns=REPORT_COLUMNS, rows=[], row_key='key').classes('w-full').mark('report-table')

        async def chart_report() -> None:
            actor = await guard.require(*guard.ADMIN)
            if actor is None:
                return
            if not (chart.value or '').strip().isdigit():
                message.text = 'Chart id must be a number.'
                return
            lines = await guard.call(audit_query.chart_access_report, actor=actor, chart_id=int(chart.value))
            show(f'Access to chart {int(chart.value)}', lines)

        async def account_report() -> None:
            actor = await guard.require(*guard.ADMIN)
            if actor is None:
                return
            if not (account.value or '').strip():
                message.text = 'Enter a username or account id.'
                return
            lines = await guard.call(audit_query.account_activity_report, actor=actor, account=account.value.strip())
            show(f'Activity of {account.value.strip()}', lines)

        def show(heading: str, lines: list[audit_query.ReportLine]) -> None:
            message.text = ''
            title.text = heading + ('' if lines else ': nothing recorded')
            table.rows = [{'key': i, 'actor': line.actor, 'action': line.action, 'count': line.count,
                           'first': f'{line.first_at:%Y-%m-%d %H:%M}', 'last': f'{line.last_at:%Y-%m-%d %H:%M}',
                           'charts': ', '.join(str(c) for c in line.charts[:20])} for i, line in enumerate(lines)]

        chart_button.on_click(chart_report)
        account_button.on_click(account_report)


def _row(row: audit_query.EventRow) -> dict:
    return {'id': row.id, 'at': row.at.strftime('%Y-%m-%d %H:%M:%S'), 'actor': row.actor, 'action': row.action,
            'object': row.object, 'chart': row.chart_id or '', 'contact': row.contact_id or '', 'ip': row.ip_address,
            'detail': row.detail[:200]}
