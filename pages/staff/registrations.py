"""The clinic's review queue (`/staff/registrations`): pending first; open one; accept, merge or reject."""
from __future__ import annotations

from nicegui import run, ui

from services import db, registration_review
from services.errors import PortalError

from .. import guard, page
from ..frame import frame_legacy as frame

PAGE_SIZE = 25
COLUMNS = [
    {'name': 'reference', 'label': 'Reference', 'field': 'reference', 'align': 'left'},
    {'name': 'name', 'label': 'Name', 'field': 'name', 'align': 'left'},
    {'name': 'submitted', 'label': 'Submitted', 'field': 'submitted', 'align': 'left'},
    {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
]
STATUS_FILTER = {'': 'All', 'pending': 'Pending', 'accepted': 'Accepted', 'merged': 'Merged', 'rejected': 'Rejected'}


def register() -> None:
    page('/staff/registrations')(registrations_page)


async def registrations_page(open: int | None = None) -> None:  # noqa: A002  (query parameter name)
    """The queue with server-side paging; a row click (or ?open=ID) shows the registration below."""
    actor = await guard.require(*guard.STAFF)
    if actor is None:
        return
    with frame('Registrations', actor):
        ui.label('New registrations').classes('text-2xl font-bold').mark('registrations')
        status = ui.select(STATUS_FILTER, value='', label='Status').classes('w-48').mark('status-filter')
        table = ui.table(columns=COLUMNS, rows=[], row_key='id',
                         pagination={'rowsPerPage': PAGE_SIZE, 'page': 1, 'rowsNumber': 0}) \
            .classes('w-full cursor-pointer').mark('registration-table')
        detail = ui.column().classes('w-full')

        async def load(page: int = 1) -> None:
            if await guard.require(*guard.STAFF) is None:
                return
            rows, total = await guard.call(registration_review.list_registrations, actor=actor,
                                           offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, status=status.value or None)
            table.rows = [{'id': r.id, 'reference': r.reference, 'name': r.name, 'status': r.status,
                           'submitted': r.submitted_at.strftime('%Y-%m-%d %H:%M')} for r in rows]
            table.pagination = {**table.pagination, 'page': page, 'rowsNumber': total}

        async def show(registration_id: int) -> None:
            if await guard.require(*guard.STAFF) is None:
                return
            try:
                item = await guard.call(registration_review.get_registration, actor=actor,
                                        registration_id=registration_id)
            except PortalError as error:
                ui.notify(str(error), type='warning')
                return
            detail.clear()
            with detail:
                Review(item, on_done=lambda: done(registration_id)).build()

        async def done(registration_id: int) -> None:
            await load(table.pagination.get('page', 1))
            await show(registration_id)

        table.on('request', lambda e: load(e.args['pagination']['page']))
        table.on('row-click', lambda e: show(e.args[1]['id']))
        status.on_value_change(lambda: load(1))
        await load(1)
        if open:
            await show(open)


class Review:
    """One opened registration: answers, files and the three decisions while it is pending."""

    def __init__(self, item: registration_review.RegistrationDetail, on_done) -> None:
        self.item = item
        self.on_done = on_done

    def build(self) -> None:
        item = self.item
        with ui.card().classes('w-full gap-3').mark('registration-detail'):
            with ui.row().classes('items-baseline gap-3'):
                ui.label(f'Registration {item.reference}').classes('text-xl font-bold')
                ui.badge(item.status).mark('registration-status')
            ui.label(f'Submitted {item.submitted_at:%Y-%m-%d %H:%M} UTC by {item.submitted_by or "an unknown contact"}') \
                .classes('text-sm text-grey-8')
            if item.review_reason:
                ui.label(f'Reason: {item.review_reason}').mark('review-reason')
            if item.merged_into:
                ui.label(f'Merged into {item.merged_into}').mark('merged-into')
            for title, rows in item.sections:
                ui.label(title).classes('font-bold mt-2')
                for label, value in rows:
                    with ui.row().classes('w-full gap-2'):
                        ui.label(f'{label}:').classes('text-grey-8 min-w-48')
                        ui.label(value).classes('whitespace-pre-wrap')
            if item.files:
                ui.label('Files').classes('font-bold mt-2')
                for file_id, name in item.files:
                    ui.link(name, f'/staff/registrations/file/{file_id}', new_tab=True)
            if item.status == 'pending':
                self.decisions()

    def decisions(self) -> None:
        ui.separator()
        with ui.row().classes('w-full gap-6 items-start'):
            with ui.column().classes('gap-2'):
                ui.label('Accept: the new chart becomes active.').classes('text-sm')
                ui.button('Accept', icon='check', on_click=self.accept).props('color=positive').mark('accept')
            with ui.column().classes('gap-2'):
                ui.label('Merge into an existing chart:').classes('text-sm')
                with ui.row().classes('items-center gap-2'):
                    self.query = ui.input('Search charts by name').props('outlined dense').mark('merge-search')
                    self.query.on('keydown.enter', self.search)
                    ui.button('Search', icon='search', on_click=self.search).props('outline').mark('merge-search-go')
                self.hits = ui.column().classes('gap-1').mark('merge-hits')
            with ui.column().classes('gap-2'):
                ui.label('Reject, with a reason the clinic keeps:').classes('text-sm')
                self.reason = ui.textarea('Reason').props('outlined dense').classes('w-72').mark('reject-reason')
                ui.button('Reject', icon='block', on_click=self.reject).props('color=negative').mark('reject')

    async def search(self) -> None:
        actor = await guard.require(*guard.STAFF)
        if actor is None:
            return
        hits = await guard.call(registration_review.search_charts, actor=actor, query=self.query.value or '')
        self.hits.clear()
        with self.hits:
            if not hits:
                ui.label('No active chart matches.').classes('text-sm text-grey-7')
            for hit in hits:
                born = f' · born {hit.date_of_birth:%Y-%m-%d}' if hit.date_of_birth else ''
                with ui.row().classes('items-center gap-2'):
                    ui.label(f'{hit.name}{born} · chart {hit.id}')
                    ui.button('Merge here', on_click=lambda h=hit: self.merge(h.id)).props('outline dense') \
                        .mark(f'merge-into-{hit.id}')

    async def accept(self) -> None:
        await self.decide(registration_review.accept, 'Accepted: the chart is active.')

    async def merge(self, chart_id: int) -> None:
        await self.decide(registration_review.merge, 'Merged into the chosen chart.', chart_id=chart_id)

    async def reject(self) -> None:
        await self.decide(registration_review.reject, 'Rejected.', reason=self.reason.value or '')

    async def decide(self, fn, message: str, **kwargs) -> None:
        actor = await guard.require(*guard.STAFF)
        if actor is None:
            return
        try:
            await guard.call(fn, actor=actor, registration_id=self.item.id, **kwargs)
        except PortalError as error:
            ui.notify(str(error), type='negative')
            return
        ui.notify(message, type='positive')
        await self.on_done()
