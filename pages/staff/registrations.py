"""The clinic's review queue (`/staff/registrations`): pending first; open one; accept, merge or reject."""
from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from models.shapes import Actor
from services import registration_review
from services.errors import NotAvailable

from .. import access, actions, frame
from ..portal import Page, portal_page
from .widgets import PagedTable, col, use_zone, when

COLUMNS = [col('reference', 'Reference'), col('name', 'Name', key=True), col('submitted', 'Submitted'),
           col('status', 'Status', key=True)]
STATUS_FILTER = {'': 'All', 'pending': 'Pending', 'accepted': 'Accepted', 'merged': 'Merged', 'rejected': 'Rejected'}


@portal_page('/staff/registrations', roles=access.STAFF, title='Registrations')
async def registrations_page(page: Page, open: int | None = None,  # noqa: A002  (query parameter name)
                             status: str = '') -> None:
    """The queue with server-side paging; a row click (or ?open=ID) shows the registration below."""
    use_zone(page.settings)
    frame.heading('New registrations').classes('text-2xl font-bold').mark('registrations')
    shown = ui.select(STATUS_FILTER, value=status if status in STATUS_FILTER else '', label='Status') \
        .classes('w-48').mark('status-filter')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(registration_review.list_registrations, actor=actor, offset=offset,
                                        limit=limit, status=shown.value or None)
        return [{'id': r.id, 'reference': r.reference, 'name': r.name, 'status': r.status,
                 'submitted': when(r.submitted_at)} for r in rows], total

    table = await PagedTable.create(COLUMNS, fetch, actor=page.signed_in, mark='registration-table',
                                    on_click=lambda row: show(row['id']), empty='No registrations.')
    missing = actions.Message('registration-missing')
    detail = ui.column().classes('w-full')

    def queue_with(registration_id: int) -> str:
        """This queue, filtered as now, with the registration open (where a decision returns to)."""
        return f'/staff/registrations?open={registration_id}' + (f'&status={shown.value}' if shown.value else '')

    async def show(registration_id: int, actor: Actor | None = None) -> None:
        actor = actor or await actions.reader()
        if actor is None:
            return
        missing.clear()
        try:
            item = await access.call(registration_review.get_registration, actor=actor,
                                     registration_id=registration_id)
        except NotAvailable as error:
            missing.error(str(error))
            return
        detail.clear()
        with detail:
            Review(item, queue_with).build()

    shown.on_value_change(lambda: table.load(1))
    if open:
        await show(open, page.signed_in)


class Review:
    """One opened registration: answers, files and the three decisions while it is pending."""

    def __init__(self, item: registration_review.RegistrationDetail, queue_with: Callable[[int], str]) -> None:
        self.item, self.queue_with = item, queue_with

    def build(self) -> None:
        item = self.item
        with ui.card().classes('w-full gap-3').mark('registration-detail'):
            with ui.row().classes('items-baseline gap-3'):
                frame.heading(f'Registration {item.reference}', 2).classes('text-xl font-bold')
                ui.badge(item.status).mark('registration-status')
            ui.label(f'Submitted {when(item.submitted_at)} by {item.submitted_by or "an unknown contact"}') \
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
                actions.button('Accept', self.accept, icon='check').props('color=positive').mark('accept')
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
                actions.button('Reject', self.reject, icon='block').props('color=negative').mark('reject')

    async def search(self) -> None:
        """Find active charts to merge into (a read: no action)."""
        actor = await actions.reader()
        if actor is None:
            return
        hits = await access.call(registration_review.search_charts, actor=actor, query=self.query.value or '')
        self.hits.clear()
        with self.hits:
            if not hits:
                ui.label('No active chart matches.').classes('text-sm text-grey-7')
            for hit in hits:
                born = f' · born {hit.date_of_birth:%Y-%m-%d}' if hit.date_of_birth else ''
                with ui.row().classes('items-center gap-2'):
                    ui.label(f'{hit.name}{born} · chart {hit.id}')
                    actions.button('Merge here', self.merge_into(hit.id)).props('outline dense') \
                        .mark(f'merge-into-{hit.id}')

    async def accept(self, act: actions.Act) -> None:
        await self.decide(act, registration_review.accept, 'Accepted: the chart is active.')

    def merge_into(self, chart_id: int) -> actions.Handler:
        async def merge(act: actions.Act) -> None:
            await self.decide(act, registration_review.merge, 'Merged into the chosen chart.', chart_id=chart_id)
        return merge

    async def reject(self, act: actions.Act) -> None:
        await self.decide(act, registration_review.reject, 'Rejected.', reason=self.reason.value or '')

    async def decide(self, act: actions.Act, fn: Callable[..., None], notice: str, **kwargs: object) -> None:
        """Make the decision, then show the queue and this registration as they are now, with the notice."""
        await act.call(fn, registration_id=self.item.id, **kwargs)
        act.done(notice, navigate=self.queue_with(self.item.id))
