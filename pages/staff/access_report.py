"""Access reports: who viewed, downloaded, shared, rescinded, replied to and moved a chart's documents (or one
document), when and from which address; the whole report as CSV.

`/staff/chart/{chart_id}/access-report` and `/staff/document/{document_id}/access-report`, for staff and admins.
The services check the role again, audit the report's viewing and export, and page on the server.
"""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui

from models.shapes import Actor
from services import audit_query
from services.errors import NotAvailable
from services.files import FileContent
from services.settings import PortalSettings

from .. import access, actions, frame
from ..frame import not_available
from ..portal import Page, file_route, portal_page, run_read
from ..tables import col

PAGE_SIZE = 50
COLUMNS = [col('when', 'When', key=True), col('who', 'Who', key=True), col('role', 'Role'), col('what', 'What', key=True),
           col('document', 'Document'), col('contact', 'Contact'), col('address', 'From address'),
           col('detail', 'Detail')]


@file_route('/staff/chart/{chart_id}/access-report.csv', roles=access.STAFF, inline=())
def chart_report_csv(actor: Actor, chart_id: int) -> FileContent:
    """The chart's whole access report as CSV (the service audits the export)."""
    return run_read(audit_query.chart_access_csv, actor=actor, chart_id=chart_id)


@file_route('/staff/document/{document_id}/access-report.csv', roles=access.STAFF, inline=())
def document_report_csv(actor: Actor, document_id: int) -> FileContent:
    """The document's whole access report as CSV (the service audits the export)."""
    return run_read(audit_query.document_access_csv, actor=actor, document_id=document_id)


@portal_page('/staff/chart/{chart_id}/access-report', roles=access.STAFF, title='Access report')
async def chart_report(page: Page, chart_id: int) -> None:
    """Everything recorded about the chart and its documents, contacts' copies included."""
    await AccessReportView.show(page, 'chart', chart_id)


@portal_page('/staff/document/{document_id}/access-report', roles=access.STAFF, title='Access report')
async def document_report(page: Page, document_id: int) -> None:
    """Everything recorded about one chart document: its shares, copies, replies and moves."""
    await AccessReportView.show(page, 'document', document_id)


class AccessReportView:
    """The heading, the CSV download and the server-paged table of one report."""

    def __init__(self, page: Page, kind: str, subject_id: int) -> None:
        self.page, self.kind, self.subject_id = page, kind, subject_id
        self.read = audit_query.chart_access if kind == 'chart' else audit_query.document_access
        self.param = 'chart_id' if kind == 'chart' else 'document_id'
        self.table: ui.table | None = None

    @classmethod
    async def show(cls, page: Page, kind: str, subject_id: int) -> None:
        view = cls(page, kind, subject_id)
        try:
            report = await access.call(view.read, actor=page.signed_in, offset=0, limit=PAGE_SIZE,
                                       **{view.param: subject_id})
        except NotAvailable as error:
            not_available(str(error), ('Back to the charts', '/staff'))
            return
        view.build(report)

    def build(self, report: audit_query.AccessReport) -> None:
        self.page.title(f'Access report · {report.title}')
        back = f'/staff/{self.kind}/{report.subject_id}'
        with ui.row().classes('w-full items-center gap-2'):
            if report.chart_id and self.kind == 'document':
                ui.link(report.chart_name, f'/staff/chart/{report.chart_id}').classes('text-primary')
                ui.label('›')
            ui.link(report.title, back).classes('text-primary').mark('report-subject')
            ui.label('›')
            frame.heading('Access report').classes('text-2xl font-bold').mark('access-report')
            ui.space()
            csv_url = f'/staff/{self.kind}/{report.subject_id}/access-report.csv'
            ui.button('Download CSV', icon='download', on_click=lambda: ui.download.from_url(csv_url)) \
                .props('outline').mark('download-csv')
        what = 'this chart and its documents' if self.kind == 'chart' else 'this document'
        ui.label(f'Everyone who opened, downloaded, shared, rescinded, replied to or moved {what}, newest first, '
                 f'with the address they came from. Times are {self.page.settings.time_zone}.') \
            .classes('text-sm text-grey-8')
        if report.note:
            ui.label(report.note).classes('text-sm').mark('report-note')
        self.table = ui.table(columns=COLUMNS, rows=_rows(report, self.page.settings), row_key='key',
                              pagination={'rowsPerPage': PAGE_SIZE, 'page': 1, 'rowsNumber': report.total}) \
            .classes('w-full').props('flat bordered wrap-cells no-data-label="Nothing recorded."').mark('access-table')
        self.table.props['rows-per-page-options'] = [PAGE_SIZE]
        self.table.on('request', lambda e: self.load(e.args['pagination']['page']))

    async def load(self, number: int) -> None:
        """One page of the report (a read: the service checks the role again)."""
        report = await actions.read(self.read, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE,
                                    **{self.param: self.subject_id})
        if report is None or self.table is None:
            return
        self.table.rows = _rows(report, self.page.settings)
        self.table.pagination = {**self.table.pagination, 'page': number, 'rowsNumber': report.total}


def _rows(report: audit_query.AccessReport, settings: PortalSettings) -> list[dict[str, Any]]:
    zone = ZoneInfo(settings.time_zone)
    return [{'key': row.seq, 'when': f'{row.at.astimezone(zone):%Y-%m-%d %H:%M:%S}', 'who': row.who or '(system)',
             'role': row.role, 'what': row.what, 'document': row.document, 'contact': row.contact,
             'address': row.ip_address, 'detail': row.detail} for row in report.rows]
