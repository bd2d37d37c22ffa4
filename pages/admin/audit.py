"""`/admin/audit`: the audit log with filters, server-side paging, CSV export and access reports."""
from __future__ import annotations

from nicegui import ui

from models.shapes import Actor
from services import audit_query

from .. import access, actions
from ..frame import heading
from ..portal import Page, portal_page
from ..tables import PagedTable, col

PAGE_SIZE = 50
COLUMNS = [col('id', 'ID'), col('at', 'When (UTC)', key=True), col('actor', 'Account', key=True), col('action', 'Action', key=True),
           col('object', 'Object'), col('chart', 'Chart'), col('contact', 'Contact'), col('ip', 'From'),
           col('detail', 'Detail')]
REPORT_COLUMNS = [col('actor', 'Account', key=True), col('action', 'Action', key=True),
                  col('count', 'Times', number=True, key=True),
                  col('first', 'First (UTC)'), col('last', 'Last (UTC)'), col('charts', 'Charts')]


@portal_page('/admin/audit', roles=access.ADMIN, title='Audit log')
async def audit_page(page: Page) -> None:
    """Filter, page, export; below, the per-chart and per-account reports."""
    choices = await access.call(audit_query.actions, actor=page.signed_in)
    heading('Audit log').classes('text-2xl font-bold').mark('admin-audit')
    ui.label('Dates are whole days in the portal time zone, both included. The log cannot be edited; '
             '`python main.py check-audit` verifies its hash chain.').classes('text-sm text-grey-8')
    with ui.row().classes('gap-3 items-end flex-wrap'):
        form = {
            'since': ui.input('From').props('type=date stack-label').mark('filter-since'),
            'until': ui.input('To').props('type=date stack-label').mark('filter-until'),
            'account': ui.input('Account (username or id)').mark('filter-account'),
            'action': ui.select({'': 'Any action', **{a: a for a in choices}}, value='', label='Action')
            .classes('w-56').mark('filter-action'),
            'contact_id': ui.input('Contact id').classes('w-28').mark('filter-contact'),
            'chart': ui.input('Chart (name or id)').mark('filter-chart'),
            'document': ui.input('Document (title or id)').mark('filter-document'),
        }
        apply = ui.button('Filter', icon='filter_alt').mark('apply-filter')
        export = ui.button('Export CSV', icon='download').props('outline').mark('export-csv')
    message = actions.Message('error-filter')
    shown = {'filter': audit_query.AuditFilter()}

    def typed() -> audit_query.AuditFilter:
        """The filter in the form (InvalidInput names the field that is wrong)."""
        return audit_query.AuditFilter.from_form(**{k: e.value for k, e in form.items()})

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        """One page of the filter last applied (paging never applies a half-typed filter)."""
        rows, total = await access.call(audit_query.list_events, actor=actor, filters=shown['filter'],
                                        offset=offset, limit=limit)
        return [_row(r) for r in rows], total

    table = await PagedTable.create(COLUMNS, fetch, actor=page.signed_in, mark='audit-table', page_size=PAGE_SIZE,
                                    flat=False, empty='No events match.')

    async def filter_log(act: actions.Act) -> None:
        shown['filter'] = typed()
        await table.load(1)

    async def download(act: actions.Act) -> None:
        data = await act.call(audit_query.export_csv, filters=typed())  # the export is audited
        ui.download.content(data, 'audit-log.csv', 'text/csv')

    apply.on_click(actions.Action(filter_log, triggers=[apply], message=message))
    export.on_click(actions.Action(download, triggers=[export], message=message))
    reports()


def reports() -> None:
    """Who touched the documents of chart X; what account Y did (each report is audited)."""
    with ui.card().classes('w-full gap-2').mark('reports'):
        heading('Access reports', 2).classes('text-lg font-bold')
        with ui.row().classes('gap-3 items-end flex-wrap'):
            chart = ui.input('Chart id').classes('w-28').mark('report-chart')
            chart_button = ui.button('Who accessed this chart').props('outline').mark('run-chart-report')
            account = ui.input('Account (username or id)').mark('report-account')
            account_button = ui.button('What this account did').props('outline').mark('run-account-report')
        message = actions.Message('report-error')
        title = ui.label().classes('text-sm font-bold').mark('report-title')
        table = ui.table(columns=REPORT_COLUMNS, rows=[], row_key='key').classes('w-full').mark('report-table')
        table.props['no-data-label'] = 'Run a report above.'

        async def chart_report(act: actions.Act) -> None:
            if not (chart.value or '').strip().isdigit():
                act.fail('Chart id must be a number.')
            lines = await act.call(audit_query.chart_access_report, chart_id=int(chart.value))
            show(f'Access to chart {int(chart.value)}', lines)

        async def account_report(act: actions.Act) -> None:
            if not (account.value or '').strip():
                act.fail('Enter a username or account id.')
            lines = await act.call(audit_query.account_activity_report, account=account.value.strip())
            show(f'Activity of {account.value.strip()}', lines)

        def show(heading: str, lines: list[audit_query.ReportLine]) -> None:
            title.text = heading + ('' if lines else ': nothing recorded')
            table.rows = [{'key': i, 'actor': line.actor, 'action': line.action, 'count': line.count,
                           'first': f'{line.first_at:%Y-%m-%d %H:%M}', 'last': f'{line.last_at:%Y-%m-%d %H:%M}',
                           'charts': ', '.join(str(c) for c in line.charts[:20])} for i, line in enumerate(lines)]

        chart_button.on_click(actions.Action(chart_report, triggers=[chart_button], message=message))
        account_button.on_click(actions.Action(account_report, triggers=[account_button], message=message))


def _row(row: audit_query.EventRow) -> dict:
    return {'id': row.id, 'at': row.at.strftime('%Y-%m-%d %H:%M:%S'), 'actor': row.actor, 'action': row.action,
            'object': row.object, 'chart': row.chart_id or '', 'contact': row.contact_id or '', 'ip': row.ip_address,
            'detail': row.detail[:200]}
